import type { BucketName } from '../ratelimit/buckets.js';
import { SEARCH_TOOLS } from './meta-tools.js';

/**
 * The §5 buckets a POST body draws from, with how many requests each: every
 * `tools/call` → execute (search_tools → discover, being a lookup, not an
 * execution), every `tools/list` → discover. A JSON-RPC batch counts each
 * message, as GraphQL counts each aliased mutation. Nothing else is limited.
 */
export function bucketCosts(body: unknown): Map<BucketName, number> {
  const costs = new Map<BucketName, number>();
  for (const message of Array.isArray(body) ? body : [body]) {
    const bucket = bucketOf(message);
    if (bucket) costs.set(bucket, (costs.get(bucket) ?? 0) + 1);
  }
  return costs;
}

function bucketOf(message: unknown): BucketName | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { method, params } = message as { method?: unknown; params?: { name?: unknown; arguments?: { name?: unknown } } };
  if (method === 'tools/list') return 'mcp_discover_tools';
  if (method !== 'tools/call') return undefined;
  const searching = params?.name === SEARCH_TOOLS || (params?.name === 'call_tool' && params.arguments?.name === SEARCH_TOOLS);
  return searching ? 'mcp_discover_tools' : 'mcp_execute_tool';
}

/** The `initialize` request's version and capabilities, when the body is one. */
export function initializeParams(body: unknown): { protocolVersion: string; capabilities: Record<string, unknown> } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { method, params, id } = body as { method?: unknown; params?: { protocolVersion?: unknown; capabilities?: unknown }; id?: unknown };
  if (method !== 'initialize' || id === undefined || typeof params?.protocolVersion !== 'string') return undefined;
  const capabilities =
    typeof params.capabilities === 'object' && params.capabilities !== null ? (params.capabilities as Record<string, unknown>) : {};
  return { protocolVersion: params.protocolVersion, capabilities };
}

/** Whether any request of a POST body asked for progress notifications (`_meta.progressToken`). */
export function wantsProgress(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((message) => {
    const meta = (message as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta;
    return meta?.progressToken !== undefined;
  });
}
