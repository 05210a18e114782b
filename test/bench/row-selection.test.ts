/**
 * SPEC §9's GraphQL target is stated for a dashboard's row: `executeTool`
 * selecting every leaf of the execution and of its connection. The bench's
 * document must keep up with the schema, or a new field would go unmeasured.
 */
import { getNamedType, isLeafType, isObjectType, parse, type GraphQLObjectType, type SelectionSetNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { EXECUTE_TOOL_ROW_MUTATION } from '../../bench/targets.js';
import { gatewaySchema } from '../../src/graphql/schema.js';

function leavesOf(type: GraphQLObjectType): string[] {
  return Object.values(type.getFields())
    .filter((field) => isLeafType(getNamedType(field.type)))
    .map((field) => field.name)
    .sort();
}

function selected(set: SelectionSetNode | undefined): Map<string, SelectionSetNode | undefined> {
  const fields = new Map<string, SelectionSetNode | undefined>();
  for (const selection of set?.selections ?? []) if (selection.kind === 'Field') fields.set(selection.name.value, selection.selectionSet);
  return fields;
}

describe('the bench row document', () => {
  it('selects every leaf of the execution and of its connection', () => {
    const schema = gatewaySchema();
    const execution = schema.getType('Execution');
    const connection = schema.getType('McpConnection');
    if (!isObjectType(execution) || !isObjectType(connection)) throw new Error('schema without Execution or McpConnection');

    const operation = parse(EXECUTE_TOOL_ROW_MUTATION).definitions[0];
    if (operation?.kind !== 'OperationDefinition') throw new Error('not an operation');
    const row = selected(selected(operation.selectionSet).get('executeTool'));
    const rowConnection = selected(row.get('connection'));

    expect([...row.keys()].filter((name) => name !== 'connection').sort()).toEqual(leavesOf(execution));
    expect([...rowConnection.keys()].sort()).toEqual(leavesOf(connection));
  });
});
