import type { MikroORM } from '@mikro-orm/core';
import { settleWithin } from '../common/deadline.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import type { ToolSearchIndex } from './ports.js';

export type ComponentStatus = 'ok' | 'down' | 'degraded' | 'not_configured';

export interface ReadinessReport {
  ready: boolean;
  components: {
    database: ComponentStatus;
    redis: ComponentStatus;
    chroma: ComponentStatus;
    rate_limiter: ComponentStatus;
  };
}

/** How long a readiness probe may wait for any one dependency. */
export const READINESS_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, fallback: T): Promise<T> {
  return settleWithin(promise, READINESS_TIMEOUT_MS, fallback);
}

/**
 * `/health/ready`: the database and Chroma must answer; Redis must answer when
 * configured. A degraded limiter still serves (at half limits) and is reported
 * as such without failing readiness — it is fail-secure, not broken.
 */
export class HealthService {
  constructor(private readonly deps: { orm: MikroORM; limiter: RateLimiter; toolIndex: ToolSearchIndex }) {}

  async readiness(): Promise<ReadinessReport> {
    const [database, chroma] = await Promise.all([
      withTimeout(
        this.deps.orm.em
          .getConnection()
          .execute('select 1')
          .then((): ComponentStatus => 'ok'),
        'down',
      ),
      withTimeout(
        this.deps.toolIndex.health().then((s): ComponentStatus => s),
        'down',
      ),
    ]);
    const limiter = this.deps.limiter.health();
    const redis: ComponentStatus = limiter.redis === 'not_configured' ? 'not_configured' : limiter.redis;
    const components = {
      database,
      redis,
      chroma,
      rate_limiter: (limiter.degraded ? 'degraded' : 'ok') as ComponentStatus,
    };
    const ready = database === 'ok' && chroma === 'ok' && redis !== 'down';
    return { ready, components };
  }
}
