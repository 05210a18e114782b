import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { DEFAULT_LIST_LIMIT } from '../../services/validation.js';

/** The weights of the static cost: graphql-armor's model, so the numbers stay comparable. */
export interface CostWeights {
  /** A field with a selection set. */
  objectCost: number;
  /** A leaf field. */
  scalarCost: number;
  /** Each level below multiplies its children's cost by this. */
  depthCostFactor: number;
}

/** Arguments that say how many items a list field returns; its cost is multiplied by their value. */
const LIST_SIZE_ARGUMENTS: readonly string[] = ['first', 'last', 'limit'];

type Variables = Readonly<Record<string, unknown>> | null | undefined;

/**
 * The static cost of the operation that will run, with `first`/`last`/`limit`
 * counted at the value the field will really see: a literal, a variable's
 * value (or its declared default), or — when omitted — the list default (20).
 * graphql-armor counts only literals, so `first: $n` with n = 100 cost as
 * little as one item. Fragments count as if written inline. Computed from the
 * schema, so a list-size argument counts only where the field declares one.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Variables,
  weights: CostWeights,
): number {
  return measureOperationCost(schema, document, operationName, variables, weights).cost;
}

/**
 * `operationCost`, and whether a variable's value entered it: when none did,
 * the cost belongs to the document (and operation name) alone, and a caller
 * may keep it for the next request that sends the same document.
 */
export function measureOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Variables,
  weights: CostWeights,
): { cost: number; usesVariables: boolean } {
  const operation = selectOperation(document, operationName);
  const root = operation && rootTypeOf(schema, operation);
  if (!operation || !root) return { cost: 0, usesVariables: false };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const defaults = new Map<string, ValueNode>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) defaults.set(definition.variable.name.value, definition.defaultValue);
  }
  const counter = new CostCounter(schema, fragments, { values: variables ?? {}, defaults }, weights);
  const cost = counter.selectionCost(operation.selectionSet, root);
  return { cost, usesVariables: counter.usesVariables };
}

function selectOperation(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (name) return operations.find((o) => o.name?.value === name);
  return operations.length === 1 ? operations[0] : undefined;
}

function rootTypeOf(schema: GraphQLSchema, operation: OperationDefinitionNode): GraphQLNamedType | null | undefined {
  if (operation.operation === 'mutation') return schema.getMutationType();
  if (operation.operation === 'subscription') return schema.getSubscriptionType();
  return schema.getQueryType();
}

class CostCounter {
  /** A fragment's cost does not depend on where it is spread: computed once, however often it is used. */
  private readonly fragmentCosts = new Map<string, number>();
  /** A list size came from a variable: the cost holds for these variables only. */
  usesVariables = false;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: { values: Readonly<Record<string, unknown>>; defaults: ReadonlyMap<string, ValueNode> },
    private readonly weights: CostWeights,
  ) {}

  selectionCost(selectionSet: SelectionSetNode, parent: GraphQLNamedType): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) cost += this.fieldCost(selection, parent);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        cost += this.selectionCost(selection.selectionSet, type ?? parent);
      } else cost += this.fragmentCost(selection.name.value, parent);
    }
    return cost;
  }

  private fragmentCost(name: string, parent: GraphQLNamedType): number {
    const known = this.fragmentCosts.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    if (!fragment) return 0;
    // A cycle is refused by validation before anything runs; should one get here, it counts once.
    this.fragmentCosts.set(name, 0);
    const cost = this.selectionCost(fragment.selectionSet, this.schema.getType(fragment.typeCondition.name.value) ?? parent);
    this.fragmentCosts.set(name, cost);
    return cost;
  }

  private fieldCost(node: FieldNode, parent: GraphQLNamedType): number {
    // Introspection is limited by depth and disabled in production; it is not what this bounds.
    if (node.name.value.startsWith('__')) return node.name.value === '__typename' ? this.weights.scalarCost : 0;
    if (!node.selectionSet) return this.weights.scalarCost;
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    const type = definition ? getNamedType(definition.type) : parent;
    const children = this.selectionCost(node.selectionSet, type);
    return (this.weights.objectCost + this.weights.depthCostFactor * children) * this.listSize(node, definition);
  }

  private listSize(node: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number {
    const declared = definition?.args.find((arg) => LIST_SIZE_ARGUMENTS.includes(arg.name));
    if (!declared) return 1;
    const given = node.arguments?.find((arg) => arg.name.value === declared.name)?.value;
    const value = given ? this.valueOf(given) : undefined;
    if (value === undefined || value === null) return DEFAULT_LIST_LIMIT;
    // Not a positive integer: the resolver refuses it, and it returns nothing meanwhile.
    return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : 1;
  }

  private valueOf(node: ValueNode): unknown {
    if (node.kind === Kind.INT || node.kind === Kind.FLOAT) return Number(node.value);
    if (node.kind === Kind.NULL) return null;
    if (node.kind !== Kind.VARIABLE) return NaN;
    this.usesVariables = true;
    const name = node.name.value;
    if (Object.hasOwn(this.variables.values, name)) return this.variables.values[name];
    const fallback = this.variables.defaults.get(name);
    return fallback ? this.valueOf(fallback) : undefined;
  }
}
