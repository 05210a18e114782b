import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertEnumType, assertInputObjectType, assertObjectType, buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printGatewaySchema } from '../../src/graphql/schema.js';

const SCHEMA_FILE = join(process.cwd(), 'schema/schema.graphql');
const OPERATIONS_DIR = join(process.cwd(), 'test/operations');

describe('schema artefact', () => {
  it('schema/schema.graphql matches the Pothos schema (run npm run schema:print after changing types)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printGatewaySchema());
  });

  it('names the SPEC §7 types, enums, inputs and root fields', () => {
    const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    for (const type of ['Agent', 'McpConnection', 'Tool', 'Execution', 'ExecutionEvent', 'ToolMatch', 'DateTime', 'JSON']) {
      expect(schema.getType(type), type).toBeDefined();
    }
    const enumValues = (name: string) =>
      assertEnumType(schema.getType(name))
        .getValues()
        .map((v) => v.name)
        .sort();
    expect(enumValues('ConnectionStatus')).toEqual(['ACTIVE', 'CONNECTING', 'DISCONNECTED', 'ERROR']);
    expect(enumValues('ExecutionStatus')).toEqual(['CANCELLED', 'COMPLETED', 'FAILED', 'RUNNING', 'TIMED_OUT']);
    expect(enumValues('ExecutionEventType')).toEqual(['CANCELLED', 'COMPLETED', 'FAILED', 'LOG', 'PROGRESS', 'STATE']);
    const fields = (type: string) => {
      const named = schema.getType(type);
      const object = type.endsWith('Input') ? assertInputObjectType(named) : assertObjectType(named);
      return Object.keys(object.getFields()).sort();
    };
    expect(fields('Query')).toEqual([
      'connection',
      'connections',
      'execution',
      'executions',
      'gatewayStatus',
      'governanceAudit',
      'me',
      'rateLimitStatistics',
      'searchTools',
      'toolPolicy',
      'toolReviews',
    ]);
    expect(fields('Mutation')).toEqual([
      'approveToolChange',
      'cancelExecution',
      'createConnection',
      'disconnect',
      'executeTool',
      'refreshTools',
      'rejectToolChange',
      'setToolPolicy',
      'startExecution',
    ]);
    expect(fields('Subscription')).toEqual(['connectionStatusChanged', 'executionProgress', 'executionUpdates', 'toolQuarantined']);
    expect(fields('CreateConnectionInput')).toEqual(['headers', 'serverName', 'timeout', 'url']);
    expect(fields('ExecuteToolInput')).toEqual(['arguments', 'connectionId', 'toolName']);
    expect(fields('ExecutionEvent')).toEqual(['at', 'execution', 'message', 'progress', 'total', 'type']);
    const args = (type: string, field: string) => {
      const definition = assertObjectType(schema.getType(type)).getFields()[field]!;
      return definition.args.map((a) => a.name).sort();
    };
    expect(args('Query', 'connections')).toEqual(['after', 'first', 'status']);
    expect(args('Query', 'executions')).toEqual(['after', 'connectionId', 'first', 'status']);
    expect(args('Query', 'searchTools')).toEqual(['limit', 'query']);
  });

  it('every test operation is valid against the checked-in SDL', () => {
    const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    const sources = readdirSync(OPERATIONS_DIR)
      .filter((f) => f.endsWith('.graphql'))
      .map((f) => readFileSync(join(OPERATIONS_DIR, f), 'utf8'));
    const errors = validate(schema, parse(sources.join('\n')));
    expect(errors.map((e) => e.message)).toEqual([]);
  });
});
