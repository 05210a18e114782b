import { BUCKET_NAMES, type BucketName } from './buckets.js';
import type { KeyScope } from './counter-store.js';

/** The `status` label of `rate_limit_requests_total` (SPEC §8) and the counters of the statistics route. */
export type Decision = 'allowed' | 'blocked' | 'error';

interface BlockedKey {
  scope: KeyScope;
  key: string;
  untilMs: number;
}

interface BucketCounters {
  allowed: number;
  blocked: number;
  errors: number;
  /** Keys seen blocked by this namespace's requests, by `${scope}:${key}`. */
  blockedKeys: Map<string, BlockedKey>;
}

/** Bounds the blocked-key list of one namespace and bucket (a wide IP spread cannot grow it without end). */
const MAX_BLOCKED_KEYS = 1_000;

export interface BucketStatistics {
  allowed: number;
  /** Requests refused with 429. */
  blocked: number;
  errors: number;
  blocked_keys: Array<{ scope: KeyScope; key: string; retry_after_seconds: number }>;
}

/**
 * Decision counters per namespace and bucket, kept by this process since it
 * started (each gateway instance reports its own traffic; the counters that
 * enforce limits live in the store, not here).
 */
export class LimiterStatistics {
  readonly since = new Date();
  private readonly namespaces = new Map<string, Map<BucketName, BucketCounters>>();

  record(namespace: string, bucket: BucketName, decision: Decision): void {
    const counters = this.counters(namespace, bucket);
    if (decision === 'allowed') counters.allowed += 1;
    else if (decision === 'blocked') counters.blocked += 1;
    else counters.errors += 1;
  }

  recordBlocked(namespace: string, bucket: BucketName, scope: KeyScope, key: string, untilMs: number): void {
    const { blockedKeys } = this.counters(namespace, bucket);
    const id = `${scope}:${key}`;
    blockedKeys.delete(id); // re-insert so Map order stays oldest-first
    blockedKeys.set(id, { scope, key, untilMs });
    pruneExpired(blockedKeys, Date.now());
    if (blockedKeys.size > MAX_BLOCKED_KEYS) {
      const oldest = blockedKeys.keys().next();
      if (!oldest.done) blockedKeys.delete(oldest.value);
    }
  }

  snapshot(namespace: string): Record<BucketName, BucketStatistics> {
    const now = Date.now();
    const result = {} as Record<BucketName, BucketStatistics>;
    for (const bucket of BUCKET_NAMES) {
      const counters = this.namespaces.get(namespace)?.get(bucket);
      if (counters) pruneExpired(counters.blockedKeys, now);
      result[bucket] = {
        allowed: counters?.allowed ?? 0,
        blocked: counters?.blocked ?? 0,
        errors: counters?.errors ?? 0,
        blocked_keys: [...(counters?.blockedKeys.values() ?? [])].map((b) => ({
          scope: b.scope,
          key: b.key,
          retry_after_seconds: Math.max(1, Math.ceil((b.untilMs - now) / 1000)),
        })),
      };
    }
    return result;
  }

  private counters(namespace: string, bucket: BucketName): BucketCounters {
    let buckets = this.namespaces.get(namespace);
    if (!buckets) {
      buckets = new Map();
      this.namespaces.set(namespace, buckets);
    }
    let counters = buckets.get(bucket);
    if (!counters) {
      counters = { allowed: 0, blocked: 0, errors: 0, blockedKeys: new Map() };
      buckets.set(bucket, counters);
    }
    return counters;
  }
}

function pruneExpired(blocked: Map<string, BlockedKey>, now: number): void {
  for (const [id, entry] of blocked) if (entry.untilMs <= now) blocked.delete(id);
}
