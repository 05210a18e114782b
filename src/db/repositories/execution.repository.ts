import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { canManage, type Principal } from '../../auth/principal.js';
import { AuthorizationError, ExecutionNotFoundError } from '../../errors/index.js';
import { ExecutionSchema, type Execution, type ExecutionSource, type ExecutionStatus } from '../entities/index.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NewExecution {
  id: string;
  connectionId: string;
  toolName: string;
  arguments: Record<string, unknown>;
  source: ExecutionSource;
  requestId: string | null;
  startedAt: Date;
}

export type ExecutionProgressChange = Pick<Execution, 'progress' | 'progressTotal' | 'progressMessage'>;

export type ExecutionOutcome = Pick<
  Execution,
  'status' | 'isError' | 'result' | 'errorCode' | 'errorMessage' | 'finishedAt' | 'durationMs'
>;

export interface ExecutionListQuery {
  connectionId?: string;
  status?: ExecutionStatus;
  limit: number;
  offset: number;
}

/** The audit trail. Same scoping rules as connections: namespace always, owner unless admin. */
export class ExecutionRepository {
  constructor(private readonly em: EntityManager) {}

  private scope(principal: Principal): { namespace: string; agentId?: string } {
    return principal.role === 'admin'
      ? { namespace: principal.namespace }
      : { namespace: principal.namespace, agentId: principal.agentId };
  }

  /** Records a RUNNING execution on behalf of the principal (who must be the connection owner). */
  async insert(principal: Principal, input: NewExecution): Promise<Execution> {
    const em = this.em.fork();
    const row = em.create(ExecutionSchema, {
      ...input,
      namespace: principal.namespace,
      agentId: principal.agentId,
      status: 'RUNNING',
      isError: false,
    });
    await em.flush();
    return row;
  }

  async findReadable(principal: Principal, id: string): Promise<Execution> {
    if (!UUID_PATTERN.test(id)) throw new ExecutionNotFoundError(id);
    const row = await this.em.fork().findOne(ExecutionSchema, { id });
    if (!row) throw new ExecutionNotFoundError(id);
    if (!canManage(principal, row)) throw new AuthorizationError('Execution belongs to another agent or namespace');
    return row;
  }

  async findManyReadable(principal: Principal, ids: readonly string[]): Promise<Execution[]> {
    const valid = ids.filter((id) => UUID_PATTERN.test(id));
    if (valid.length === 0) return [];
    return this.em.fork().find(ExecutionSchema, { ...this.scope(principal), id: { $in: valid } });
  }

  async list(principal: Principal, query: ExecutionListQuery): Promise<{ rows: Execution[]; total: number }> {
    const where = {
      ...this.scope(principal),
      ...(query.connectionId ? { connectionId: query.connectionId } : {}),
      ...(query.status ? { status: query.status } : {}),
    };
    const [rows, total] = await this.em.fork().findAndCount(ExecutionSchema, where, {
      orderBy: { startedAt: 'desc', id: 'asc' },
      limit: query.limit,
      offset: query.offset,
    });
    return { rows, total };
  }

  /** Progress of a running execution; a finished one is never reopened. */
  async recordProgress(principal: Principal, id: string, change: ExecutionProgressChange): Promise<void> {
    await this.em.fork().nativeUpdate(ExecutionSchema, { ...this.scope(principal), id, status: 'RUNNING' }, change);
  }

  /**
   * Moves a RUNNING execution to its terminal state. Returns false when it had
   * already finished (e.g. cancelled meanwhile), so the first outcome wins.
   */
  async finish(principal: Principal, id: string, outcome: ExecutionOutcome): Promise<boolean> {
    const changed = await this.em
      .fork()
      .nativeUpdate(ExecutionSchema, { ...this.scope(principal), id, status: 'RUNNING' }, outcome);
    return changed > 0;
  }
}

/** Housekeeping that runs as the gateway itself, never on behalf of a caller. */
export class ExecutionMaintenance {
  constructor(private readonly em: EntityManager) {}

  /** Crash safety: whatever was RUNNING when the previous process died can no longer finish. */
  async failOrphaned(now: Date, runningHere: ReadonlySet<string>): Promise<number> {
    const where: FilterQuery<Execution> = { status: 'RUNNING' };
    if (runningHere.size > 0) where.id = { $nin: [...runningHere] };
    return this.em.fork().nativeUpdate(ExecutionSchema, where, {
      status: 'FAILED',
      errorCode: 'GATEWAY_RESTARTED',
      errorMessage: 'The gateway stopped before this execution finished',
      finishedAt: now,
    });
  }

  async purgeOlderThan(cutoff: Date): Promise<number> {
    return this.em.fork().nativeDelete(ExecutionSchema, { startedAt: { $lt: cutoff }, status: { $ne: 'RUNNING' } });
  }
}
