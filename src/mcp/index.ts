/** Upstream MCP layer: one shared, self-healing client session per connection. */
export { UpstreamPool, DEFAULT_CLIENT_INFO } from './client-pool.js';
export { UpstreamCancelledError, UpstreamTimeoutError } from './errors.js';
export { assertUpstreamUrlAllowed, type HostResolver, type ResolvedTarget, type PinnedAddress } from './ssrf-guard.js';
export type * from './types.js';
