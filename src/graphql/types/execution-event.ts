import { canManage, type Principal } from '../../auth/principal.js';
import { ExecutionNotFoundError } from '../../errors/index.js';
import type { Execution, ExecutionStatus } from '../../services/domain.js';
import type { ExecutionEventPayload, ExecutionEventType as EventType } from '../../services/event-bus.js';
import type { Services } from '../../services/container.js';
import { builder } from '../builder.js';
import type { AuthenticatedContext } from '../context.js';
import { openEventQueue, withCleanup } from '../event-stream.js';
import { AccessRevoked, authorisedEvents, unlessRevoked } from '../subscription-access.js';
import { ExecutionRef } from './execution.js';

export const ExecutionEventType = builder.enumType('ExecutionEventType', {
  values: {
    STATE: { value: 'STATE', description: 'The execution as it is now (first event of executionProgress; start of a run).' },
    PROGRESS: { value: 'PROGRESS', description: 'An upstream progress notification.' },
    LOG: { value: 'LOG', description: 'An upstream log message.' },
    COMPLETED: { value: 'COMPLETED', description: 'Terminal: the upstream answered (see Execution.isError).' },
    FAILED: { value: 'FAILED', description: 'Terminal: the gateway, the transport or a timeout failed it.' },
    CANCELLED: { value: 'CANCELLED', description: 'Terminal: cancelled by a client or by shutdown.' },
  } as const,
});

/** One step of an execution as a subscriber sees it. */
export interface ExecutionEventModel {
  type: EventType;
  executionId: string;
  progress: number | null;
  total: number | null;
  message: string | null;
  at: Date;
  /** The execution's status when the event was published (null: the event carries the execution itself). */
  status: ExecutionStatus | null;
  /** The execution as read when the event was made; loaded when the client asks for it otherwise. */
  execution?: Execution;
}

/**
 * How long a read caused by an event waits for the row. Another instance
 * publishes an execution's first events before its write queue has written
 * the RUNNING row (INSERT_DELAY_MS plus the batch write), so on this instance
 * the row may briefly not exist yet. Subscribing to an id does not wait: ids
 * are handed out only once their row is written (startExecution, REST).
 * @default 1000
 */
export const CROSS_INSTANCE_READ_WAIT_MS = 1_000;
const READ_RETRY_STEP_MS = 25;

async function readEventExecution(services: Services, principal: Principal, id: string): Promise<Execution> {
  const deadline = Date.now() + CROSS_INSTANCE_READ_WAIT_MS;
  for (;;) {
    try {
      return await services.executions.get(principal, id);
    } catch (error) {
      if (!(error instanceof ExecutionNotFoundError) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_STEP_MS));
    }
  }
}

const TERMINAL_TYPES: ReadonlySet<EventType> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

const TERMINAL_TYPE_OF: Readonly<Record<Exclude<ExecutionStatus, 'RUNNING'>, EventType>> = {
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  TIMED_OUT: 'FAILED',
  CANCELLED: 'CANCELLED',
};

export const ExecutionEventRef = builder.objectRef<ExecutionEventModel>('ExecutionEvent').implement({
  description: 'A state change, progress notification or log message of an execution.',
  authScopes: { authenticated: true },
  fields: (t) => ({
    type: t.expose('type', { type: ExecutionEventType }),
    execution: t.withAuth({ authenticated: true }).field({
      type: ExecutionRef,
      description:
        'The execution as of this event: a PROGRESS, LOG or STATE event of a running call shows it RUNNING (with that progress) even if it has finished since.',
      resolve: async (event, _args, { services, principal }) =>
        event.execution ?? asOfEvent(await readEventExecution(services, principal, event.executionId), event),
    }),
    progress: t.float({ nullable: true, resolve: (e) => e.progress }),
    total: t.float({ nullable: true, resolve: (e) => e.total }),
    message: t.string({ nullable: true, resolve: (e) => e.message }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

function fromPayload(payload: ExecutionEventPayload): ExecutionEventModel {
  return {
    type: payload.type,
    executionId: payload.executionId,
    progress: payload.progress,
    total: payload.total,
    message: payload.message,
    at: new Date(payload.at),
    status: payload.status,
  };
}

/**
 * The row as it was when `event` was published. By the time an event is
 * delivered the call may have finished (the last PROGRESS event is usually
 * read after the row became COMPLETED): an event of a running call shows the
 * execution RUNNING, without the outcome, with the event's own progress.
 */
function asOfEvent(row: Execution, event: ExecutionEventModel): Execution {
  if (event.status !== 'RUNNING') return row;
  const progress =
    event.type === 'PROGRESS' ? { progress: event.progress, progressTotal: event.total, progressMessage: event.message } : {};
  const running = {
    status: 'RUNNING',
    isError: false,
    result: null,
    errorCode: null,
    errorMessage: null,
    finishedAt: null,
    durationMs: null,
  };
  return { ...row, ...running, ...progress } as Execution;
}

function fromExecution(execution: Execution, type: EventType): ExecutionEventModel {
  return {
    type,
    executionId: execution.id,
    progress: execution.progress ?? null,
    total: execution.progressTotal ?? null,
    message: type === 'STATE' ? (execution.progressMessage ?? null) : (execution.errorMessage ?? null),
    at: execution.finishedAt ?? new Date(),
    status: null,
    execution,
  };
}

/**
 * The current state, then each event from the bus until the terminal one.
 * An execution that had already finished yields its state and its terminal
 * event. The bus's own STATE event (published at start) is not repeated.
 * A revocation (the caller may no longer read it) is passed on and ends it.
 */
async function* progressOf(
  execution: Execution,
  events: AsyncIterable<ExecutionEventPayload | AccessRevoked>,
): AsyncGenerator<ExecutionEventModel | AccessRevoked> {
  yield fromExecution(execution, 'STATE');
  if (execution.status !== 'RUNNING') {
    yield fromExecution(execution, TERMINAL_TYPE_OF[execution.status as Exclude<ExecutionStatus, 'RUNNING'>] ?? 'FAILED');
    return;
  }
  for await (const payload of events) {
    if (payload instanceof AccessRevoked) {
      yield payload;
      return;
    }
    if (payload.type === 'STATE') continue;
    yield fromPayload(payload);
    if (TERMINAL_TYPES.has(payload.type)) return;
  }
}

/** One lookup: an unknown id is EXECUTION_NOT_FOUND and a foreign one AUTHORIZATION_ERROR at once. */
async function openExecutionProgress(context: AuthenticatedContext, executionId: string) {
  const { services, principal } = context;
  // Listen before reading the state: an event published during the read is buffered, not lost.
  // Under the id as stored (randomUUID: lower case), which PostgreSQL also finds in capitals.
  const queue = openEventQueue(services.events.pubsub.subscribe('execution', executionId.toLowerCase()));
  let execution: Execution;
  try {
    execution = await services.executions.get(principal, executionId);
  } catch (error) {
    await queue.close();
    throw error;
  }
  const readable = authorisedEvents(queue, context, (current, payload: ExecutionEventPayload) => canManage(current, payload));
  return withCleanup(progressOf(execution, readable), () => queue.close());
}

function namespaceExecutions(context: AuthenticatedContext) {
  const { services, principal } = context;
  const queue = openEventQueue(services.events.pubsub.subscribe('namespace-executions', principal.namespace));
  const readable = authorisedEvents(queue, context, (current, payload: ExecutionEventPayload) => canManage(current, payload));
  return withCleanup(readable, () => queue.close());
}

builder.subscriptionFields((t) => {
  const authed = t.withAuth({ authenticated: true });
  return {
    executionProgress: authed.field({
      type: ExecutionEventRef,
      description:
        'First the current state, then each progress/log event, then the terminal event; then the stream completes. AUTHORIZATION_ERROR / EXECUTION_NOT_FOUND as for execution(id); ends early with UNAUTHENTICATED or AUTHORIZATION_ERROR once the caller may no longer read it.',
      args: { executionId: t.arg.id({ required: true }) },
      subscribe: (_root, args, context) => openExecutionProgress(context, args.executionId),
      resolve: (event: ExecutionEventModel | AccessRevoked) => unlessRevoked(event),
    }),
    executionUpdates: authed.field({
      type: ExecutionEventRef,
      description:
        'Every event of the executions the caller may read in its namespace (its own; all of them for admins). Ends with UNAUTHENTICATED or AUTHORIZATION_ERROR once the caller may no longer read them.',
      subscribe: (_root, _args, context) => namespaceExecutions(context),
      resolve: (payload: ExecutionEventPayload | AccessRevoked) => fromPayload(unlessRevoked(payload)),
    }),
  };
});
