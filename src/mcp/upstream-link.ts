import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { mediaTypeOf } from '../common/media-type.js';
import { ExternalServiceError } from '../errors/index.js';
import { classifyFailure, toAppError } from './errors.js';
import { connectionFetch, type PinnedFetch } from './pinned-fetch.js';
import { readSseMessages } from './sse-messages.js';
import { assertUpstreamUrlAllowed, type HostResolver } from './ssrf-guard.js';
import type { SsrfPolicy, UpstreamLimits, UpstreamTarget } from './types.js';

/** The upstream session a passthrough link speaks in (both travel sealed in the downstream session id). */
export interface LinkSession {
  /** The upstream's `Mcp-Session-Id`; absent for a stateless upstream or before `initialize`. */
  sessionId?: string | undefined;
  protocolVersion?: string | undefined;
}

export interface LinkOptions {
  target: UpstreamTarget;
  policy: SsrfPolicy;
  /** Every message bounded by `maxMessageBytes`; every request's whole life by `maxCallMs` (the relay enforces that). */
  limits: Pick<UpstreamLimits, 'maxMessageBytes' | 'maxCallMs'>;
  resolver?: HostResolver | undefined;
  session: LinkSession;
}

/** How many times a request's answer stream is resumed (GET with Last-Event-ID) after the upstream closed it early. */
const MAX_RESUMPTIONS = 5;

/**
 * A raw JSON-RPC channel to one upstream session over Streamable HTTP, for the
 * `/mcp/connections/{id}` passthrough. Unlike the pooled UpstreamSession it
 * interprets nothing: messages go up and come down as they are, so requests,
 * notifications and answers of any method pass through. It holds no state a
 * later request needs — the upstream session id does — so each downstream HTTP
 * request opens its own link (on whichever instance it lands) and closes it
 * when done. Same SSRF guard, pinned addresses and size bound (TMWS_MAX_RESULT_BYTES
 * on every message it reads, whatever its method) as the pool.
 */
export class UpstreamLink {
  private constructor(
    private readonly url: URL,
    private readonly pinned: PinnedFetch,
    private readonly target: UpstreamTarget,
    /** TMWS_MAX_CALL_SECONDS: the bound on one request's whole life, progress or not. */
    readonly maxCallMs: number,
    readonly session: LinkSession,
  ) {}

  /** The connection's timeout: the idle bound of one request on this link. */
  get timeoutMs(): number {
    return this.target.timeoutMs;
  }

  static async open(options: LinkOptions): Promise<UpstreamLink> {
    const resolved = await assertUpstreamUrlAllowed(options.target.url, options.policy, options.resolver);
    return new UpstreamLink(resolved.url, connectionFetch(resolved, options), options.target, options.limits.maxCallMs, {
      ...options.session,
    });
  }

  /**
   * POSTs one message (or a batch) and feeds every message of the answer to
   * `onMessage` as it arrives (JSON or an event stream). When the upstream
   * closes an event stream before answering `awaitedId`, the stream is resumed
   * with `Last-Event-ID` (SEP-1699), as the SDK client would.
   * The answer's `Mcp-Session-Id` (on `initialize`) is kept in `session`.
   */
  async post(
    message: JSONRPCMessage | JSONRPCMessage[],
    onMessage: (message: JSONRPCMessage) => void,
    awaitedId?: string | number,
  ): Promise<void> {
    const response = await this.request('POST', {
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      // A byte body, not a string: the pinned fetch's lean path is built for the SDK's own requests.
      body: new TextEncoder().encode(JSON.stringify(message)),
    });
    const sessionId = response.headers.get('mcp-session-id');
    if (sessionId) this.session.sessionId = sessionId;
    if (response.status === 202 || response.status === 204) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    if (!response.ok) throw await this.refusal(response);
    if (mediaTypeOf(response.headers.get('content-type')) !== 'text/event-stream') {
      const parsed = JSON.parse(await response.text()) as JSONRPCMessage | JSONRPCMessage[];
      for (const one of Array.isArray(parsed) ? parsed : [parsed]) onMessage(one);
      return;
    }
    let answered = awaitedId === undefined;
    const watch = (one: JSONRPCMessage) => {
      if ('id' in one && !('method' in one) && one.id === awaitedId) answered = true;
      onMessage(one);
    };
    let stream = await readSseMessages(response, watch, () => answered);
    for (let resumed = 0; !answered && stream.lastEventId !== undefined && resumed < MAX_RESUMPTIONS; resumed += 1) {
      if (stream.retryMs) await new Promise((resolve) => setTimeout(resolve, Math.min(stream.retryMs ?? 0, 5_000)));
      const again = await this.request('GET', { headers: { accept: 'text/event-stream', 'last-event-id': stream.lastEventId } });
      if (!again.ok) throw await this.refusal(again);
      const next = await readSseMessages(again, watch, () => answered);
      stream = { lastEventId: next.lastEventId ?? stream.lastEventId, retryMs: next.retryMs ?? stream.retryMs };
    }
  }

  /**
   * The upstream's own server-to-client stream (GET), fed to `onMessage` until
   * it ends. Returns false, without waiting, when the upstream offers none (405).
   */
  async listen(onMessage: (message: JSONRPCMessage) => void, opened: () => void): Promise<boolean> {
    const response = await this.request('GET', { headers: { accept: 'text/event-stream' } });
    if (response.status === 405) {
      await response.body?.cancel().catch(() => undefined);
      return false;
    }
    if (!response.ok) throw await this.refusal(response);
    opened();
    await readSseMessages(response, onMessage);
    return true;
  }

  /** Ends the upstream session (DELETE), best effort. */
  async terminate(): Promise<void> {
    if (!this.session.sessionId) return;
    const response = await this.request('DELETE', { headers: {} });
    await response.body?.cancel().catch(() => undefined);
  }

  /** Ends every request of this link still running (their streams included). */
  async close(): Promise<void> {
    await this.pinned.close();
  }

  private async request(method: string, init: { headers: Record<string, string>; body?: Uint8Array<ArrayBuffer> }): Promise<Response> {
    const headers: Record<string, string> = { ...this.target.headers, ...init.headers };
    if (this.session.sessionId) headers['mcp-session-id'] = this.session.sessionId;
    if (this.session.protocolVersion) headers['mcp-protocol-version'] = this.session.protocolVersion;
    try {
      return await this.pinned.fetch(this.url, { method, headers, ...(init.body ? { body: init.body } : {}) });
    } catch (error) {
      throw toAppError(classifyFailure(error, true), this.target.connectionId, method, 'request');
    }
  }

  /**
   * A non-2xx answer. A 404 on a session means the upstream forgot it: the
   * client must initialize again. That is this client's session, not the
   * connection's health, so it is no `session_expired` (which marks the connection down).
   */
  private async refusal(response: Response): Promise<ExternalServiceError> {
    const text = await response.text().catch(() => '');
    const expired = response.status === 404 && this.session.sessionId !== undefined;
    const message = expired ? 'The upstream no longer knows this session: initialize again' : `Upstream answered HTTP ${response.status}`;
    return new ExternalServiceError('upstream_error', message, {
      connection_id: this.target.connectionId,
      status: response.status,
      body: text.slice(0, 500),
    });
  }
}
