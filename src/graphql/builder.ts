import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { AuthenticationError, AuthorizationError } from '../errors/index.js';
import type { AuthenticatedContext, GraphQLContext } from './context.js';

/**
 * The schema builder: configuration only. Types and their root fields live in
 * `types/*.ts`; `schema.ts` imports them and builds.
 *
 * - scope-auth comes first so authorization runs before any other wrapper;
 *   `authenticated` narrows the context to a non-null principal.
 * - relay provides the connection types (keyset cursors, see pagination.ts; `totalCount`); its
 *   `node`/`nodes` fields are off because ids are the REST UUIDs, not global ids.
 * - dataloader batches connection → tools and a search match → tool (an
 *   execution's or a match's connection is batched by `connectionOf`, see
 *   types/connection.ts).
 * Inputs are parsed in the resolvers (graphql/inputs.ts), after the rate-limit
 * draw, and the domain rules run in the services — not in plugin-validation,
 * which would validate before the draw — so that the documented order
 * (authentication, rate limit, validation, authorization) holds as in REST.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { authenticated: boolean; admin: boolean };
  AuthContexts: { authenticated: AuthenticatedContext; admin: AuthenticatedContext };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Connection: { totalCount: number };
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    // An object type's `authenticated` scope is checked once per object (its isTypeOf), not once per
    // field: a dashboard row resolves ~35 leaves, each wrapped otherwise. Root fields keep their own scopes.
    runScopesOnType: true,
    authScopes: (context) => ({
      authenticated: context.principal !== null,
      admin: context.principal?.role === 'admin',
    }),
    unauthorizedError: (_parent, context, _info, result) =>
      context.principal === null ? new AuthenticationError('Authentication required') : new AuthorizationError(result.message),
  },
  relay: {
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
  },
});

builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'Number of items matching the filters, across all pages.',
    resolve: (connection) => connection.totalCount,
  }),
);

// Root fields that can fail on their own — single-object lookups, lists (a stale cursor, a bad
// filter), search (rate limit, vector store), admin-only reads — are nullable: the failing one
// yields null plus its error, and does not void (or, for mutations, stop) the others. `me`,
// `gatewayStatus` and `toolPolicy` fail only with the request itself (authentication).
builder.queryType({ description: 'Reads. Every field requires a valid bearer token and sees only the caller’s namespace.' });
builder.mutationType({
  description: 'Writes. Limited fields draw from the same rate-limit buckets as REST; each alias counts.',
});
builder.subscriptionType({ description: 'Live events, over GraphQL-over-SSE or graphql-ws on /graphql.' });
