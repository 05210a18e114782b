import type { EntityManager } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { knexRunner, type SqlRunner } from './sql-runner.js';

/** One gateway process, as it registers itself. */
export interface GatewayInstanceInfo {
  id: string;
  host: string;
  pid: number;
}

/** An execution the sweep marked FAILED, with what its subscribers need to hear about it. */
export interface OrphanedExecution {
  id: string;
  namespace: string;
  agentId: string;
  connectionId: string;
  toolName: string;
}

export const ORPHANED_ERROR_CODE = 'GATEWAY_RESTARTED';
const ORPHANED_MESSAGE = 'The gateway instance running this execution stopped before it finished';

/** A point in time relative to now, as SQL: the database's clock on PostgreSQL, this process's on SQLite. */
interface Clock {
  at(offsetMs: number): { sql: string; params: unknown[] };
}

/** PostgreSQL: every instance reads one clock, so leases never depend on the instances' clocks agreeing. */
const POSTGRES_CLOCK: Clock = {
  at: (offsetMs) => ({ sql: `(clock_timestamp() + ?::bigint * interval '1 millisecond')`, params: [offsetMs] }),
};
/** SQLite: one machine; MikroORM keeps its datetimes as epoch milliseconds. */
const SQLITE_CLOCK: Clock = { at: (offsetMs) => ({ sql: '?', params: [Date.now() + offsetMs] }) };

/**
 * Execution leases (SPEC §10). Each gateway instance holds a lease row that
 * it renews; each RUNNING execution names its instance (executions.instance_id).
 * Once an instance's lease has expired, any instance marks that instance's
 * RUNNING executions FAILED with GATEWAY_RESTARTED. Runs as the gateway
 * itself, never on behalf of a caller; one statement per step, so renewing
 * costs the same with 1 or 10,000 executions in flight.
 */
export class ExecutionLeases {
  private readonly sql: SqlRunner;
  private clockCache: Clock | undefined;

  constructor(private readonly em: EntityManager) {
    this.sql = knexRunner(() => this.knex);
  }

  private get knex(): Knex {
    return (this.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
  }

  private get clock(): Clock {
    this.clockCache ??= (this.knex.client as { dialect: string }).dialect === 'sqlite3' ? SQLITE_CLOCK : POSTGRES_CLOCK;
    return this.clockCache;
  }

  /** Registers an instance with a lease of `ttlMs` (again, if a sweep forgot it while it was stalled). */
  async register(instance: GatewayInstanceInfo, ttlMs: number): Promise<void> {
    const now = this.clock.at(0);
    const expires = this.clock.at(ttlMs);
    await this.sql.query(
      `insert into "gateway_instances" ("id", "host", "pid", "started_at", "lease_expires_at") values (?, ?, ?, ${now.sql}, ${expires.sql})`,
      [instance.id, instance.host.slice(0, 255), instance.pid, ...now.params, ...expires.params],
    );
  }

  /** Extends the lease to `ttlMs` from now; false when the row is gone (the caller registers again). */
  async renew(instanceId: string, ttlMs: number): Promise<boolean> {
    const expires = this.clock.at(ttlMs);
    const rows = await this.sql.query(`update "gateway_instances" set "lease_expires_at" = ${expires.sql} where "id" = ? returning "id"`, [
      ...expires.params,
      instanceId,
    ]);
    return rows.length > 0;
  }

  /**
   * Marks FAILED every RUNNING execution whose instance holds no live lease
   * (expired, forgotten, or a row from before leases existed), except this
   * instance's own. Returns the executions it changed.
   */
  async failOrphaned(selfId: string): Promise<OrphanedExecution[]> {
    const now = this.clock.at(0);
    const rows = await this.sql.query(
      `update "executions" set "status" = 'FAILED', "error_code" = ?, "error_message" = ?, ` +
        `"finished_at" = ${now.sql}, "updated_at" = ${now.sql} ` +
        `where "status" = 'RUNNING' and ("instance_id" is null or ("instance_id" <> ? and "instance_id" not in ` +
        `(select "id" from "gateway_instances" where "lease_expires_at" > ${now.sql}))) ` +
        'returning "id", "namespace", "agent_id", "connection_id", "tool_name"',
      [ORPHANED_ERROR_CODE, ORPHANED_MESSAGE, ...now.params, ...now.params, selfId, ...now.params],
    );
    return rows.map((row) => ({
      id: String(row.id),
      namespace: String(row.namespace),
      agentId: String(row.agent_id),
      connectionId: String(row.connection_id),
      toolName: String(row.tool_name),
    }));
  }

  /**
   * Forgets instances whose lease expired more than `graceMs` ago (their
   * executions were failed by then). The grace keeps a sweep from ever
   * deleting the row of an instance that is renewing at that moment.
   */
  async forgetExpired(graceMs: number): Promise<void> {
    const cutoff = this.clock.at(-graceMs);
    await this.sql.query(`delete from "gateway_instances" where "lease_expires_at" < ${cutoff.sql}`, cutoff.params);
  }

  /** Graceful stop: the instance no longer runs anything. */
  async release(instanceId: string): Promise<void> {
    await this.sql.query(`delete from "gateway_instances" where "id" = ?`, [instanceId]);
  }
}
