import { hostname } from 'node:os';
import type { ExecutionLeaseTimings } from '../config/env.js';
import { ORPHANED_ERROR_CODE, type ExecutionLeases, type OrphanedExecution } from '../db/repositories/execution-lease.repository.js';
import type { Logger } from '../observability/logger.js';
import type { EventBus, ExecutionEventPayload } from './event-bus.js';

/** Lease timings (SPEC §10): `TMWS_EXECUTION_LEASE_TTL`, see config/env.ts. */
export type ExecutionLeaseOptions = ExecutionLeaseTimings;

export interface ExecutionLeaseKeeperDeps {
  leases: ExecutionLeases;
  events: EventBus;
  logger: Logger;
  instanceId: string;
  options: ExecutionLeaseOptions;
  /** Called for each execution the sweep failed (metrics). */
  onOrphaned?: (execution: OrphanedExecution) => void;
}

/**
 * Keeps this instance's lease alive and fails the executions of instances
 * whose lease expired (a `kill -9`, a power loss, a partition). Every
 * instance sweeps; the UPDATE is idempotent, so two sweeping at once is harmless.
 */
export class ExecutionLeaseKeeper {
  private timers: NodeJS.Timeout[] = [];
  private renewing = false;
  private sweeping = false;

  constructor(private readonly deps: ExecutionLeaseKeeperDeps) {}

  /**
   * Registers this instance, sweeps once (a restarted gateway cleans up after its predecessor;
   * `sweep: false` when a cluster primary did that already) and starts the timers.
   */
  async start({ sweep = true }: { sweep?: boolean } = {}): Promise<void> {
    const { options } = this.deps;
    await this.register();
    if (sweep) await this.sweep();
    this.timers = [setInterval(() => void this.renew(), options.renewEveryMs), setInterval(() => void this.sweep(), options.sweepEveryMs)];
    for (const timer of this.timers) timer.unref();
  }

  /** Graceful stop, once running executions are finished: this instance's lease ends now. */
  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.deps.leases.release(this.deps.instanceId).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'could not release the execution lease');
    });
  }

  private async register(): Promise<void> {
    await this.deps.leases.register({ id: this.deps.instanceId, host: hostname(), pid: process.pid }, this.deps.options.ttlMs);
  }

  private async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      if (!(await this.deps.leases.renew(this.deps.instanceId, this.deps.options.ttlMs))) {
        // A sweep forgot us: we stalled past the lease, and our RUNNING rows may have been failed meanwhile.
        this.deps.logger.warn({ instanceId: this.deps.instanceId }, 'execution lease had lapsed; registering again');
        await this.register();
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not renew the execution lease');
    } finally {
      this.renewing = false;
    }
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const orphaned = await this.deps.leases.failOrphaned(this.deps.instanceId);
      if (orphaned.length > 0) {
        this.deps.logger.warn({ orphaned: orphaned.length }, 'executions of a gateway instance that stopped marked FAILED');
        for (const execution of orphaned) this.announce(execution);
      }
      await this.deps.leases.forgetExpired(this.deps.options.ttlMs);
    } catch (err) {
      this.deps.logger.warn({ err }, 'execution lease sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** Subscribers following the execution (on any instance) get its terminal event. */
  private announce(execution: OrphanedExecution): void {
    this.deps.onOrphaned?.(execution);
    const payload: ExecutionEventPayload = {
      type: 'FAILED',
      executionId: execution.id,
      namespace: execution.namespace,
      agentId: execution.agentId,
      connectionId: execution.connectionId,
      toolName: execution.toolName,
      status: 'FAILED',
      progress: null,
      total: null,
      message: `${ORPHANED_ERROR_CODE}: the gateway instance running this execution stopped`,
      at: new Date().toISOString(),
    };
    this.deps.events.pubsub.publish('execution', execution.id, payload);
    this.deps.events.pubsub.publish('namespace-executions', execution.namespace, payload);
  }
}
