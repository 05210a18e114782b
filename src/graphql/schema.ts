import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './types/scalars.js';
import './types/agent.js';
import './types/tool.js';
import './types/connection.js';
import './types/execution.js';
import './types/execution-event.js';
import './types/tool-match.js';
import './types/gateway-status.js';
import './types/tool-governance.js';

let built: GraphQLSchema | undefined;

/** The gateway's GraphQL schema (built once; the type files register themselves on import). */
export function gatewaySchema(): GraphQLSchema {
  built ??= builder.toSchema({ sortSchema: false });
  return built;
}

/** The SDL checked in as schema/schema.graphql: sorted, so that diffs show real changes only. */
export function printGatewaySchema(): string {
  return `${printSchema(lexicographicSortSchema(gatewaySchema()))}\n`;
}
