import { UpstreamLink, type LinkSession } from './upstream-link.js';
import { AppError, ExternalServiceError } from '../errors/index.js';
import { sleep, untilAborted } from '../common/deadline.js';
import type { Logger } from '../observability/logger.js';
import { callRequestOptions } from './call-options.js';
import {
  classifyFailure,
  isTransientOpenError,
  killsSession,
  toAppError,
  upstreamCancelled,
  UpstreamCancelledError,
  type Failure,
} from './errors.js';
import { createEntry, sameEndpoint, type Entry, type Origin } from './pool-entry.js';
import type { HostResolver } from './ssrf-guard.js';
import { redactUrl, UpstreamSession } from './session.js';
import {
  DEFAULT_UPSTREAM_LIMITS,
  type CallToolOptions,
  type SsrfPolicy,
  type UpstreamLimits,
  type UpstreamCallResult,
  type UpstreamStatus,
  type UpstreamTarget,
  type UpstreamTool,
} from './types.js';

export { UpstreamCancelledError, UpstreamTimeoutError } from './errors.js';

export const DEFAULT_CLIENT_INFO = { name: 'tmws-gateway', version: '2.3.0' } as const;
/**
 * Reconnect attempts a request makes before giving up (delays before each).
 * Short on purpose: a caller is waiting, and an upstream that stays down for
 * more than ~1 s should surface as 502 rather than hold the request.
 */
export const REQUEST_RECONNECT_BACKOFF_MS: readonly number[] = [0, 250, 1_000];
/** Background recovery of a lost session (delays before each attempt), then it waits for traffic. */
export const BACKGROUND_RECOVERY_BACKOFF_MS: readonly number[] = [0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000];

type ToolsListener = (connectionId: string, tools: UpstreamTool[]) => void;
type StatusListener = (connectionId: string, status: UpstreamStatus, message?: string) => void;

/**
 * One shared MCP client session per connection id (SPEC §6).
 *
 * Sessions are opened lazily from the target (any gateway instance can serve
 * any connection), shared by all callers, and re-established with backoff when
 * the upstream restarts or forgets the session. Status changes and catalogue
 * changes the caller did not ask for are reported through listeners:
 * `connect()`/`listTools()` report through their result; `onStatusChanged`
 * fires for transitions seen by calls, probes and background recovery;
 * `onToolsChanged` fires after `notifications/tools/list_changed` and after a
 * session was re-established by a call or in the background, when the
 * catalogue differs from the last one the pool saw.
 */
export class UpstreamPool {
  private readonly entries = new Map<string, Entry>();
  private readonly toolsListeners = new Set<ToolsListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private readonly policy: SsrfPolicy;
  private readonly logger: Logger;
  private readonly clientInfo: { name: string; version: string };
  private readonly resolver: HostResolver | undefined;
  private readonly limits: UpstreamLimits;
  private closed = false;

  /**
   * @param opts.resolver DNS seam (default: the OS resolver via `dns.lookup`);
   *   resolved once per session, the session's connections are pinned to the answer.
   * @param opts.limits what one upstream may send (SPEC §14). @default DEFAULT_UPSTREAM_LIMITS
   */
  constructor(opts: {
    policy: SsrfPolicy;
    logger: Logger;
    clientInfo?: { name: string; version: string };
    resolver?: HostResolver;
    limits?: Partial<UpstreamLimits>;
  }) {
    this.policy = opts.policy;
    this.logger = opts.logger;
    this.clientInfo = opts.clientInfo ?? DEFAULT_CLIENT_INFO;
    this.resolver = opts.resolver;
    this.limits = { ...DEFAULT_UPSTREAM_LIMITS, ...opts.limits };
  }

  /**
   * Opens (or reuses) the session for target.connectionId, runs initialize and
   * lists ALL tools, all within target.timeoutMs. Throws ExternalServiceError
   * (502) on unreachable/handshake failure/timeout and ValidationError
   * (`url_not_allowed`) on SSRF refusal, before any packet. A failure leaves
   * no session behind.
   */
  async connect(target: UpstreamTarget): Promise<UpstreamTool[]> {
    const entry = this.entryFor(target);
    const deadline = Date.now() + target.timeoutMs;
    try {
      const session = await this.ensureSession(entry, deadline, 'connect');
      const tools = await this.runOnSession(entry, session, deadline, undefined, true, 'tools/list', (s) => s.listTools(deadline));
      entry.tools = tools;
      entry.status = 'active';
      return tools;
    } catch (error) {
      await this.dispose(entry);
      throw error;
    }
  }

  /**
   * A raw link to the upstream for the `/mcp/connections/{id}` passthrough
   * (upstream-link.ts): the pool's SSRF policy and size bounds, but its own
   * upstream session, which the downstream client drives.
   */
  async openLink(target: UpstreamTarget, session: LinkSession): Promise<UpstreamLink> {
    return UpstreamLink.open({ target, policy: this.policy, limits: this.limits, resolver: this.resolver, session });
  }

  /** Re-lists tools (re-opening the session lazily if there is none). */
  async listTools(target: UpstreamTarget): Promise<UpstreamTool[]> {
    const entry = this.entryFor(target);
    const deadline = Date.now() + target.timeoutMs;
    const session = await this.ensureSession(entry, deadline, 'list');
    const tools = await this.runOnSession(entry, session, deadline, undefined, true, 'tools/list', (s) => s.listTools(deadline));
    entry.tools = tools;
    return tools;
  }

  /**
   * Calls a tool with a progressToken. Recovers a dead/expired session
   * transparently and retries once when that is safe: the request was never
   * delivered, or the upstream rejected the session id. A call that may have
   * reached the tool is never repeated.
   *
   * Abort → `notifications/cancelled` upstream, rejects with UpstreamCancelledError.
   * Timeout (idle, reset by progress) → UpstreamTimeoutError. Other failures →
   * ExternalServiceError with `details.reason` (see errors.ts). The signal may
   * be shared by several calls: an abort after a call settled affects nothing.
   */
  async callTool(
    target: UpstreamTarget,
    name: string,
    args: Record<string, unknown>,
    opts: CallToolOptions = {},
  ): Promise<UpstreamCallResult> {
    const { signal } = opts;
    if (signal?.aborted) {
      throw new UpstreamCancelledError('Upstream call cancelled before it started', { connection_id: target.connectionId });
    }
    const entry = this.entryFor(target);
    const { options, release } = callRequestOptions(target, opts, this.limits.maxCallMs);
    const call = (s: UpstreamSession) => s.callTool(name, args, options, opts.onLog);
    try {
      const live = entry.session;
      // Hot path: a live session, no awaits before the SDK request.
      if (live?.isOpen) return await this.runOnSession(entry, live, 0, signal, false, 'tools/call', call);
      const deadline = Date.now() + target.timeoutMs;
      const session = await untilAborted(this.ensureSession(entry, deadline, 'call'), signal, upstreamCancelled);
      return await this.runOnSession(entry, session, deadline, signal, false, 'tools/call', call);
    } finally {
      release();
    }
  }

  /** Closes the session (sends DELETE for Streamable HTTP sessions). Idempotent. */
  async disconnect(connectionId: string): Promise<void> {
    const entry = this.entries.get(connectionId);
    if (entry) await this.dispose(entry);
  }

  onToolsChanged(listener: ToolsListener): () => void {
    this.toolsListeners.add(listener);
    return () => this.toolsListeners.delete(listener);
  }

  onStatusChanged(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  isOpen(connectionId: string): boolean {
    return this.entries.get(connectionId)?.session?.isOpen ?? false;
  }

  /** Closes every session (bounded by each session's DELETE timeout); the pool is unusable afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.values()].map((entry) => this.dispose(entry)));
    this.toolsListeners.clear();
    this.statusListeners.clear();
  }

  // ---------------------------------------------------------------- internals

  private entryFor(target: UpstreamTarget): Entry {
    if (this.closed) {
      throw new ExternalServiceError('disconnected', 'Upstream pool is shut down', { connection_id: target.connectionId });
    }
    const existing = this.entries.get(target.connectionId);
    if (!existing) {
      const entry = createEntry(target);
      this.entries.set(target.connectionId, entry);
      return entry;
    }
    if (existing.target !== target) {
      if (!sameEndpoint(existing.target, target)) {
        // URL or credentials changed: the old session speaks for the old config.
        const old = existing.session;
        existing.session = undefined;
        existing.tools = undefined;
        void old?.close('disconnected');
      }
      existing.target = target;
    }
    return existing;
  }

  /** Returns the live session, joining (or starting) the one in-flight setup for this id. */
  private async ensureSession(entry: Entry, deadline: number, origin: Origin): Promise<UpstreamSession> {
    for (;;) {
      const live = entry.session;
      if (live?.isOpen) return live;
      entry.opening ??= this.openSession(entry, deadline, origin);
      const opened = await entry.opening;
      // Retired while opening (target changed): loop opens one for the current target.
      if (opened === entry.session) return opened;
    }
  }

  private async openSession(entry: Entry, deadline: number, origin: Origin): Promise<UpstreamSession> {
    const target = entry.target;
    try {
      const session = await UpstreamSession.open({
        target,
        policy: this.policy,
        clientInfo: this.clientInfo,
        logger: this.logger,
        resolver: this.resolver,
        deadline,
        limits: this.limits,
        events: {
          onDead: (s, failure) => this.handleDeath(entry, s, failure),
          onToolListChanged: (s) => {
            if (entry.session === s) void this.refreshTools(entry);
          },
        },
      });
      if (entry.disposed) {
        await session.close('disconnected');
        throw new ExternalServiceError('disconnected', 'Upstream connection was disconnected', { connection_id: entry.id });
      }
      if (sameEndpoint(target, entry.target)) {
        entry.session = session;
        if (origin !== 'connect') {
          this.setStatus(entry, 'active');
          // SPEC §6: the catalogue is refreshed on reconnect. listTools() lists anyway.
          if (origin !== 'list') void this.refreshTools(entry);
        }
      } else {
        void session.close('disconnected');
      }
      return session;
    } catch (error) {
      this.logOpenFailure(entry, origin, error);
      if (origin !== 'connect' && !entry.disposed) {
        this.setStatus(entry, 'error', error instanceof Error ? error.message : String(error));
      }
      throw error;
    } finally {
      entry.opening = undefined;
    }
  }

  /** Every failed attempt to reach an upstream, with its reason: what an operator reads first when a create answers 502. */
  private logOpenFailure(entry: Entry, origin: Origin, error: unknown): void {
    const details = error instanceof AppError ? error.details : {};
    this.logger.warn(
      {
        connectionId: entry.id,
        url: safeUrlForLog(entry.target.url),
        attempt: origin,
        errorCode: error instanceof AppError ? error.code : undefined,
        reason: error instanceof AppError ? error.reason : undefined,
        upstreamStatus: details.status,
        err: error instanceof Error ? error.message : String(error),
      },
      'upstream connection attempt failed',
    );
  }

  /**
   * Runs one request on a session. On a failure that kills the session it
   * starts recovery; when a retry is safe (`idempotent`, or the request was
   * provably not processed) it waits for a new session and tries once more.
   */
  private async runOnSession<T>(
    entry: Entry,
    session: UpstreamSession,
    deadline: number,
    signal: AbortSignal | undefined,
    idempotent: boolean,
    what: string,
    op: (s: UpstreamSession) => Promise<T>,
  ): Promise<T> {
    try {
      return await op(session);
    } catch (error) {
      const failure = classifyFailure(error, true);
      if (killsSession(failure)) session.markDead(failure);
      const safe =
        failure.kind === 'not_delivered' ||
        failure.kind === 'session_expired' ||
        (idempotent && (failure.kind === 'connection_lost' || failure.kind === 'closed'));
      if (!safe || signal?.aborted || entry.disposed || session.closeReason === 'disconnected') {
        throw this.requestError(entry, session, failure, signal, what);
      }
    }
    const budget = deadline > 0 ? deadline : Date.now() + entry.target.timeoutMs;
    const fresh = await this.reopen(entry, budget, signal);
    try {
      return await op(fresh);
    } catch (error) {
      const failure = classifyFailure(error, true);
      if (killsSession(failure)) fresh.markDead(failure);
      throw this.requestError(entry, fresh, failure, signal, what);
    }
  }

  private requestError(entry: Entry, session: UpstreamSession, failure: Failure, signal: AbortSignal | undefined, what: string): AppError {
    if (signal?.aborted) return new UpstreamCancelledError(`Upstream ${what} cancelled`, { connection_id: entry.id });
    // The session died of something the request should hear about (its answer was refused as too large).
    const death = session.deathError;
    if (death && (failure.kind === 'closed' || failure.kind === 'connection_lost')) return death;
    // Closing a session ends its streams too: a stream cut short by our own disconnect is "disconnected".
    const endedByUs = failure.kind === 'closed' || failure.kind === 'no_answer' || failure.kind === 'cut_off';
    if (endedByUs && (entry.disposed || session.closeReason === 'disconnected')) {
      return new ExternalServiceError('disconnected', `Upstream session was closed during ${what}`, { connection_id: entry.id });
    }
    return toAppError(failure, entry.id, what, 'request');
  }

  /** A request's reconnect: a few quick attempts, sharing any setup already in flight. */
  private async reopen(entry: Entry, deadline: number, signal: AbortSignal | undefined): Promise<UpstreamSession> {
    let lastError: unknown;
    for (const delay of REQUEST_RECONNECT_BACKOFF_MS) {
      await sleep(delay, signal, upstreamCancelled);
      if (Date.now() >= deadline) break;
      try {
        return await untilAborted(this.ensureSession(entry, deadline, 'call'), signal, upstreamCancelled);
      } catch (error) {
        if (error instanceof UpstreamCancelledError || !isTransientOpenError(error)) throw error;
        lastError = error;
      }
    }
    // `unknown`: the last open failure is passed on exactly as the upstream raised it.
    const failure: unknown = lastError ?? toAppError({ kind: 'timeout', error: undefined }, entry.id, 'reconnect', 'open');
    throw failure;
  }

  private handleDeath(entry: Entry, session: UpstreamSession, failure: Failure): void {
    void session.close('dead');
    if (entry.session !== session || entry.disposed) return;
    entry.session = undefined;
    this.logger.warn({ connectionId: entry.id, reason: failure.kind, status: failure.status }, 'upstream session lost');
    this.startRecovery(entry);
  }

  /** Background re-open with backoff, so status and list_changed come back without traffic. */
  private startRecovery(entry: Entry): void {
    if (entry.recovery || entry.disposed || this.closed) return;
    const recovery: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
    entry.recovery = recovery;
    let attempt = 0;
    const run = async (): Promise<void> => {
      recovery.timer = undefined;
      if (entry.recovery !== recovery || entry.disposed) return;
      if (entry.session?.isOpen) {
        entry.recovery = undefined;
        return;
      }
      try {
        await this.ensureSession(entry, Date.now() + entry.target.timeoutMs, 'recovery');
        entry.recovery = undefined;
        this.logger.info({ connectionId: entry.id }, 'upstream session re-established');
      } catch (error) {
        const delay = BACKGROUND_RECOVERY_BACKOFF_MS[++attempt];
        if (delay === undefined || !isTransientOpenError(error) || entry.recovery !== recovery) {
          if (entry.recovery === recovery) entry.recovery = undefined;
          return;
        }
        recovery.timer = setTimeout(() => void run(), delay);
        recovery.timer.unref();
      }
    };
    void run();
  }

  /** Coalesced re-list: notifications arriving during a refresh cause exactly one more. */
  private refreshTools(entry: Entry): Promise<void> {
    if (entry.refreshing) {
      entry.refreshAgain = true;
      return entry.refreshing;
    }
    entry.refreshing = (async () => {
      do {
        entry.refreshAgain = false;
        const session = entry.session;
        if (!session?.isOpen || entry.disposed) return;
        let tools: UpstreamTool[];
        try {
          tools = await session.listTools(Date.now() + entry.target.timeoutMs);
        } catch (error) {
          const failure = classifyFailure(error, true);
          if (killsSession(failure)) session.markDead(failure);
          this.logger.warn({ connectionId: entry.id, reason: failure.kind }, 'upstream tool refresh failed');
          // A catalogue past the bounds (SPEC §14) is the upstream's fault, not a hiccup: say so in the status.
          const appError = toAppError(failure, entry.id, 'tools/list', 'request');
          if (isBoundsError(appError)) this.setStatus(entry, 'error', appError.message);
          return;
        }
        if (session !== entry.session) {
          // Replaced while listing (reconnect): list again on the new session.
          entry.refreshAgain = true;
          continue;
        }
        const changed = entry.tools === undefined || JSON.stringify(entry.tools) !== JSON.stringify(tools);
        entry.tools = tools;
        if (changed) this.emitTools(entry.id, tools);
      } while (entry.refreshAgain);
    })().finally(() => {
      entry.refreshing = undefined;
    });
    return entry.refreshing;
  }

  private async dispose(entry: Entry): Promise<void> {
    entry.disposed = true;
    if (this.entries.get(entry.id) === entry) this.entries.delete(entry.id);
    if (entry.recovery?.timer) clearTimeout(entry.recovery.timer);
    entry.recovery = undefined;
    const session = entry.session;
    entry.session = undefined;
    // A setup still in flight sees `disposed` and closes what it opened.
    await session?.close('disconnected');
  }

  private setStatus(entry: Entry, status: UpstreamStatus, message?: string): void {
    if (entry.status === status) return;
    entry.status = status;
    for (const listener of this.statusListeners) {
      try {
        listener(entry.id, status, message);
      } catch (error) {
        this.logger.error({ err: error, connectionId: entry.id }, 'upstream status listener failed');
      }
    }
  }

  private emitTools(connectionId: string, tools: UpstreamTool[]): void {
    for (const listener of this.toolsListeners) {
      try {
        listener(connectionId, tools);
      } catch (error) {
        this.logger.error({ err: error, connectionId }, 'upstream tools listener failed');
      }
    }
  }
}

/** An upstream that crossed a bound of SPEC §14 (too many tools, a message too large). */
function isBoundsError(error: AppError): boolean {
  const reason = error.reason;
  return reason === 'too_many_tools' || reason === 'result_too_large';
}

/** The URL without credentials, query or fragment; a URL that does not even parse is logged as such. */
function safeUrlForLog(url: string | URL): string {
  try {
    return redactUrl(typeof url === 'string' ? new URL(url) : url);
  } catch {
    return '(invalid URL)';
  }
}
