import { canExecute, type Principal } from '../auth/principal.js';
import { CallAbort } from '../common/call-abort.js';
import { timeOrderedUuid } from '../common/time-ordered-uuid.js';
import { settleWithin } from '../common/deadline.js';
import { unsendableIn } from '../common/storable-text.js';
import type { Execution, ExecutionSource, ExecutionStatus, McpConnection } from '../db/entities/index.js';
import type { ConnectionRepository } from '../db/repositories/connection.repository.js';
import type { ExecutionListQuery, ExecutionOutcome, ExecutionRepository } from '../db/repositories/execution.repository.js';
import type { Page } from '../db/repositories/find-page.js';
import {
  AppError,
  AuthorizationError,
  ConnectionNotActiveError,
  ExternalServiceError,
  ValidationError,
  isAppError,
  type UpstreamFailureReason,
} from '../errors/index.js';
import type { Logger } from '../observability/logger.js';
import type { ConnectionService } from './connections.js';
import type { EventBus, ExecutionEventPayload, ExecutionEventType } from './event-bus.js';
import type { CallToolOptions } from '../mcp/types.js';
import type { ProgressUpdate, UpstreamCallResult, UpstreamClient, UpstreamTarget } from './ports.js';
import { LogRelay } from './log-relay.js';
import { ProgressCoalescer } from './progress-coalescer.js';
import type { ToolCatalogue } from './tool-catalogue.js';
import type { ToolGovernance } from './tool-governance/tool-governance.js';
import { storableResult } from './tool-result.js';

export interface ExecuteToolRequest {
  connectionId: string;
  toolName: string;
  arguments: Record<string, unknown>;
  source: ExecutionSource;
  requestId: string | null;
  /**
   * Runs the call instead of the shared upstream session: the MCP passthrough
   * relays it on the downstream client's own upstream session (its sampling,
   * elicitation and roots requests need that client), recorded like any other.
   */
  via?: ToolCallRunner;
}

/** Performs one upstream tool call; `options.signal` aborts it (cancellation), progress and logs feed the row. */
export type ToolCallRunner = (target: UpstreamTarget, options: CallToolOptions) => Promise<UpstreamCallResult>;

/** A finished call: the stored record plus the upstream result exactly as relayed. */
export interface CompletedExecution {
  execution: Execution;
  result: UpstreamCallResult | null;
}

export interface ExecutionMetricsSink {
  executionFinished(status: ExecutionStatus, seconds: number): void;
}

export interface ExecutionServiceDeps {
  connections: ConnectionRepository;
  connectionService: ConnectionService;
  executions: ExecutionRepository;
  catalogue: ToolCatalogue;
  governance: ToolGovernance;
  upstream: UpstreamClient;
  events: EventBus;
  metrics: ExecutionMetricsSink;
  logger: Logger;
}

interface RunningExecution {
  controller: CallAbort;
  owner: Principal;
  done: Promise<CompletedExecution>;
}

/**
 * Failure reasons (src/mcp/errors.ts) that mean the upstream cannot be used, as opposed to a slow or failing tool.
 * `protocol_error` is among them: an upstream that shuts down ends its open answers cleanly but empty, which
 * cannot be told apart from one that answers garbage — and neither is usable until a call succeeds again.
 */
const UPSTREAM_DOWN: ReadonlySet<UpstreamFailureReason> = new Set<UpstreamFailureReason>([
  'unreachable',
  'handshake_failed',
  'connection_lost',
  'session_expired',
  'unauthorized',
  'protocol_error',
]);

const TERMINAL_EVENT: Record<Exclude<ExecutionStatus, 'RUNNING'>, ExecutionEventType> = {
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
  TIMED_OUT: 'FAILED',
};

/**
 * Runs tool calls through the shared upstream sessions and records each one:
 * RUNNING on start, progress as it arrives, then exactly one terminal state.
 */
export class ExecutionService {
  private readonly running = new Map<string, RunningExecution>();
  /** Progress of the executions running here, coalesced to ≤ 10 deliveries a second (SPEC §14). */
  private readonly progress = new Map<string, ProgressCoalescer<ProgressUpdate>>();
  /** Upstream log messages of the executions running here, relayed as LOG events, ≤ 10 a second. */
  private readonly logs = new Map<string, LogRelay>();
  /**
   * Upstream target per connection row. Rows come from a short-lived cache, so
   * this mostly hits, sparing a header decryption per call and letting the
   * pool recognise its current target by identity.
   */
  private readonly targets = new WeakMap<McpConnection, UpstreamTarget>();
  private readonly stopCancelListener: () => void;

  constructor(private readonly deps: ExecutionServiceDeps) {
    this.stopCancelListener = this.listenForRemoteCancellations();
  }

  /** Executes and waits for the outcome (REST execute, GraphQL executeTool). */
  async execute(principal: Principal, request: ExecuteToolRequest): Promise<CompletedExecution> {
    const started = await this.begin(principal, request);
    return started.done;
  }

  /**
   * Records the execution and returns at once; the call continues in the
   * background. Returns only once the RUNNING row is written, so the caller
   * may look it up (or subscribe to it) on any gateway instance right away.
   */
  async start(principal: Principal, request: ExecuteToolRequest): Promise<{ execution: Execution; done: Promise<CompletedExecution> }> {
    return this.begin(principal, request, { durable: true });
  }

  /**
   * Starts and returns at once, like `start`, but without waiting for the
   * RUNNING row: it is written like execute's (with the outcome when the call
   * is quick), and the outcome is durable before `done` resolves. For a door
   * that hands out only the outcome yet needs the execution while the call
   * runs (the MCP endpoint, to cancel it: a cancel reads the row after the
   * queued writes, so it finds it).
   */
  async launch(principal: Principal, request: ExecuteToolRequest): Promise<{ execution: Execution; done: Promise<CompletedExecution> }> {
    return this.begin(principal, request);
  }

  /**
   * SPEC §10: a caller that saw a result can always find its row. `durable`
   * dispatches upstream only once the RUNNING row is written; otherwise the
   * call starts at once and its answer waits for the final row (a RUNNING row
   * that failed to be written is reconciled by it, see ExecutionWriteQueue).
   */
  private async begin(
    principal: Principal,
    request: ExecuteToolRequest,
    options: { durable?: boolean } = {},
  ): Promise<{ execution: Execution; done: Promise<CompletedExecution> }> {
    if (typeof request.arguments !== 'object' || request.arguments === null || Array.isArray(request.arguments)) {
      throw ValidationError.invalid('arguments', 'must be a JSON object');
    }
    const unsendable = unsendableIn(request.arguments);
    if (unsendable === 'text') {
      throw ValidationError.invalid('arguments', 'must not contain the NUL character (U+0000) or unpaired UTF-16 surrogates');
    }
    if (unsendable === 'number') {
      throw ValidationError.invalid('arguments', 'must contain only finite numbers (a number such as 1e400 is out of range)');
    }
    const connection = await this.deps.connections.findReadableCached(principal, request.connectionId);
    if (!canExecute(principal, connection)) {
      throw new AuthorizationError('Only the agent that owns a connection may execute its tools');
    }
    if (connection.status !== 'active' && connection.status !== 'error') {
      throw new ConnectionNotActiveError(connection.id, connection.status);
    }
    // Tool governance before the arguments: a held or denied tool is a 403 whatever is sent to it.
    const verdictOf = await this.deps.governance.verdicts(principal);
    await this.deps.catalogue.resolve(principal, connection.id, request.toolName, request.arguments, (tool) => {
      const verdict = verdictOf(connection, tool);
      if (!verdict.usable) throw verdict.error;
    });
    const execution = await this.deps.executions.insert(
      principal,
      {
        id: timeOrderedUuid(),
        connectionId: connection.id,
        toolName: request.toolName,
        arguments: request.arguments,
        source: request.source,
        requestId: request.requestId,
        startedAt: new Date(),
      },
      options,
    );
    const controller = new CallAbort();
    const done = this.run(principal, connection, execution, controller.signal, request.via);
    this.running.set(execution.id, { controller, owner: principal, done });
    // Started executions may never be awaited (startExecution); their failure is already recorded.
    const forget = () => void this.running.delete(execution.id);
    done.then(forget, forget);
    // Namespace watchers only: nobody can follow this execution's own channel before learning its id
    // from this call (and executionProgress opens with the state it reads, not the bus's STATE event).
    this.publish(execution, 'STATE', {}, false);
    return { execution, done };
  }

  async get(principal: Principal, id: string): Promise<Execution> {
    return this.deps.executions.findReadable(principal, id);
  }

  /** Newest first. A connection filter the caller may not read is refused (403/404), as everywhere, not an empty page. */
  async list(principal: Principal, query: ExecutionListQuery): Promise<Page<Execution>> {
    if (query.connectionId !== undefined) await this.deps.connections.findReadable(principal, query.connectionId);
    return this.deps.executions.list(principal, query);
  }

  /**
   * Cancels a running execution (owner, or an admin of its namespace). The
   * upstream receives notifications/cancelled; the execution ends CANCELLED.
   * Cancelling a finished execution returns it unchanged.
   */
  async cancel(principal: Principal, id: string, reason = 'cancelled by client'): Promise<Execution> {
    const execution = await this.deps.executions.findReadable(principal, id);
    if (execution.status !== 'RUNNING') return execution;
    const owner: Principal = { agentId: execution.agentId, namespace: execution.namespace, role: 'agent' };
    const startedAt = execution.startedAt.getTime();
    const finished = await this.finish(owner, execution, {
      status: 'CANCELLED',
      isError: false,
      result: null,
      errorCode: 'CANCELLED',
      errorMessage: reason,
      finishedAt: new Date(),
      durationMs: Date.now() - startedAt,
    });
    // The id as stored, not as the caller spelled it (PostgreSQL finds a uuid in any letter case):
    // the instance running the call knows it by that one.
    const local = this.running.get(execution.id);
    if (local) local.controller.abort(reason);
    else this.deps.events.pubsub.publish('execution-cancel', { executionId: execution.id, reason });
    return finished ?? (await this.deps.executions.findReadable(principal, id));
  }

  /** Waits up to `timeoutMs` for running executions, then cancels what is left. */
  async drain(timeoutMs: number): Promise<void> {
    const pending = [...this.running.values()].map((r) => r.done.catch(() => undefined));
    if (pending.length === 0) return;
    const drained = await settleWithin(
      Promise.all(pending).then(() => true),
      timeoutMs,
      false,
    );
    if (!drained) {
      await Promise.all(
        [...this.running.entries()].map(([id, r]) => this.cancel(r.owner, id, 'gateway shutting down').catch(() => undefined)),
      );
    }
  }

  close(): void {
    this.stopCancelListener();
  }

  private async run(
    principal: Principal,
    connection: McpConnection,
    execution: Execution,
    signal: AbortSignal,
    via?: ToolCallRunner,
  ): Promise<CompletedExecution> {
    const startedAt = execution.startedAt.getTime();
    const progress = new ProgressCoalescer<ProgressUpdate>((update) => this.onProgress(principal, execution, update));
    this.progress.set(execution.id, progress);
    const logs = new LogRelay((message) => this.publish(execution, 'LOG', { message }));
    this.logs.set(execution.id, logs);
    let result: UpstreamCallResult;
    try {
      const options: CallToolOptions = { signal, onProgress: (update) => progress.push(update), onLog: (entry) => logs.push(entry) };
      const target = this.targetOf(connection);
      result = await (via ? via(target, options) : this.deps.upstream.callTool(target, execution.toolName, execution.arguments, options));
    } catch (error) {
      return this.recordFailure(principal, connection, execution, error, signal);
    }
    if (connection.status === 'error') await this.deps.connectionService.recordCallOutcome(connection.id, 'active');
    let finished: Execution | null;
    try {
      finished = await this.finish(principal, execution, {
        status: 'COMPLETED',
        isError: result.isError === true,
        result: storableResult(result),
        errorCode: null,
        errorMessage: null,
        finishedAt: new Date(),
        durationMs: Date.now() - startedAt,
      });
    } catch (error) {
      // The outcome could not be recorded: the caller gets the error, never a result without a row,
      // and the row is closed as FAILED when the database takes that, rather than left RUNNING.
      await this.finish(principal, execution, failureOutcome(error, signal, startedAt)).catch(() => null);
      throw error;
    }
    return { execution: finished ?? (await this.reload(principal, execution.id)), result };
  }

  private async recordFailure(
    principal: Principal,
    connection: McpConnection,
    execution: Execution,
    error: unknown,
    signal: AbortSignal,
  ): Promise<CompletedExecution> {
    const outcome = failureOutcome(error, signal, execution.startedAt.getTime());
    // SPEC §6: a 502 for an upstream that is down is answered only once the connection says `error`.
    if (error instanceof ExternalServiceError && UPSTREAM_DOWN.has(error.reason)) {
      await this.deps.connectionService.recordCallOutcome(connection.id, 'error', error.message);
    }
    const finished = await this.finish(principal, execution, outcome);
    if (signal.aborted || !finished) {
      // Cancelled (here or elsewhere): the caller gets the recorded execution, not an error.
      return { execution: finished ?? (await this.reload(principal, execution.id)), result: null };
    }
    throw error instanceof AppError ? error.endedExecution(execution.id) : error;
  }

  private targetOf(connection: McpConnection): UpstreamTarget {
    let target = this.targets.get(connection);
    if (!target) {
      target = this.deps.connectionService.targetOf(connection);
      this.targets.set(connection, target);
    }
    return target;
  }

  private async reload(principal: Principal, id: string): Promise<Execution> {
    return this.deps.executions.findReadable(principal, id);
  }

  /** Writes the terminal state once; returns null when another outcome won the race. */
  private async finish(principal: Principal, execution: Execution, outcome: ExecutionOutcome): Promise<Execution | null> {
    // The last progress is recorded and published before the terminal state; later notifications are dropped.
    const progress = this.progress.get(execution.id);
    if (progress) {
      this.progress.delete(execution.id);
      await progress.drain();
    }
    this.closeLogs(execution.id);
    const changed = await this.deps.executions.finish(principal, execution.id, outcome);
    if (!changed) return null;
    const finished = Object.assign(execution, outcome);
    this.deps.metrics.executionFinished(outcome.status, (outcome.durationMs ?? 0) / 1000);
    const type = TERMINAL_EVENT[outcome.status as Exclude<ExecutionStatus, 'RUNNING'>] ?? 'FAILED';
    this.publish(finished, type, { message: outcome.errorMessage ?? null });
    return finished;
  }

  /** No LOG event after the terminal one; drops are logged once, with their count. */
  private closeLogs(executionId: string): void {
    const logs = this.logs.get(executionId);
    if (!logs) return;
    this.logs.delete(executionId);
    logs.close();
    if (logs.dropped > 0) {
      this.deps.logger.info({ executionId, dropped: logs.dropped }, 'upstream log messages over the rate bound were dropped');
    }
  }

  private async onProgress(principal: Principal, execution: Execution, update: ProgressUpdate): Promise<void> {
    const change = {
      progress: update.progress,
      progressTotal: update.total ?? null,
      progressMessage: update.message ?? null,
    };
    Object.assign(execution, change);
    this.publish(execution, 'PROGRESS', { progress: update.progress, total: update.total ?? null, message: update.message ?? null });
    try {
      await this.deps.executions.recordProgress(principal, execution.id, change);
    } catch (error) {
      this.deps.logger.warn({ executionId: execution.id, err: error }, 'could not record progress');
    }
  }

  private publish(
    execution: Execution,
    type: ExecutionEventType,
    extra: { progress?: number | null; total?: number | null; message?: string | null },
    toExecutionChannel = true,
  ): void {
    const payload: ExecutionEventPayload = {
      type,
      executionId: execution.id,
      namespace: execution.namespace,
      agentId: execution.agentId,
      connectionId: execution.connectionId,
      toolName: execution.toolName,
      status: execution.status,
      progress: extra.progress ?? execution.progress ?? null,
      total: extra.total ?? execution.progressTotal ?? null,
      message: extra.message ?? execution.progressMessage ?? null,
      at: new Date().toISOString(),
    };
    if (toExecutionChannel) this.deps.events.pubsub.publish('execution', execution.id, payload);
    this.deps.events.pubsub.publish('namespace-executions', execution.namespace, payload);
  }

  /** Another instance recorded a cancellation of an execution that runs here: abort it upstream. */
  private listenForRemoteCancellations(): () => void {
    const iterator = this.deps.events.pubsub.subscribe('execution-cancel')[Symbol.asyncIterator]();
    let stopped = false;
    void (async () => {
      while (!stopped) {
        const next = await iterator.next();
        if (next.done) return;
        this.running.get(next.value.executionId)?.controller.abort(next.value.reason);
      }
    })();
    return () => {
      stopped = true;
      void iterator.return?.();
    };
  }
}

function failureOutcome(error: unknown, signal: AbortSignal, startedAt: number): ExecutionOutcome {
  const base = { isError: false, result: null, finishedAt: new Date(), durationMs: Date.now() - startedAt };
  if (signal.aborted) {
    return { ...base, status: 'CANCELLED', errorCode: 'CANCELLED', errorMessage: String(signal.reason ?? 'cancelled') };
  }
  const reason = error instanceof ExternalServiceError ? error.reason : undefined;
  if (reason === 'timeout') {
    return { ...base, status: 'TIMED_OUT', errorCode: 'TIMEOUT', errorMessage: (error as AppError).message };
  }
  // SPEC §14: the row names the bound; the caller's 502 carries it as details.reason.
  const code = reason === 'result_too_large' ? 'RESULT_TOO_LARGE' : isAppError(error) ? error.code : 'INTERNAL_ERROR';
  const message = isAppError(error) ? error.message : 'Internal error while executing the tool';
  return { ...base, status: 'FAILED', errorCode: code, errorMessage: message };
}
