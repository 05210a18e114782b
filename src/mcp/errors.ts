import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { STATUS_CODES } from 'node:http';
import { AppError, ExternalServiceError, type ErrorDetails } from '../errors/index.js';
import { verdictOf } from './verdict.js';

/**
 * Errors of the upstream layer and the one place that reads SDK/undici
 * failures. Everything thrown out of `src/mcp` is an AppError; an
 * ExternalServiceError carries a typed `reason` (rendered as `details.reason`)
 * the service layer can branch on:
 *
 * | reason            | meaning                                                             |
 * |-------------------|---------------------------------------------------------------------|
 * | `unreachable`     | DNS/TCP failure, nothing was delivered                              |
 * | `timeout`         | no answer (or progress) within the timeout — UpstreamTimeoutError   |
 * | `cancelled`       | the caller aborted — UpstreamCancelledError                         |
 * | `connection_lost` | the connection broke while a call was in flight (not retried)       |
 * | `session_expired` | upstream forgot the session and recovery failed                     |
 * | `handshake_failed`| the server does not speak MCP (Streamable HTTP nor legacy SSE)      |
 * | `unauthorized`    | upstream answered 401 (check the connection's headers)              |
 * | `redirect_refused`| upstream answered with a redirect (never followed)                  |
 * | `upstream_error`  | upstream answered a request with a JSON-RPC error or an HTTP error   |
 * | `protocol_error`  | upstream answered something that is not a valid MCP message         |
 * | `result_too_large`| one upstream message exceeded TMWS_MAX_RESULT_BYTES — UpstreamResultTooLargeError |
 * | `too_many_tools`  | `tools/list` offered more than TMWS_MAX_TOOLS_PER_CONNECTION tools  |
 * | `disconnected`    | the session was closed by the gateway while the call was running   |
 *
 * Upstream response bodies are never copied into messages: for a gateway
 * that must not become an SSRF read primitive, the status code is enough.
 */

export class UpstreamTimeoutError extends ExternalServiceError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('timeout', message, details);
  }
}

/** The caller's AbortSignal fired; `notifications/cancelled` was sent upstream. */
export class UpstreamCancelledError extends ExternalServiceError {
  constructor(message = 'Upstream call cancelled', details: ErrorDetails = {}) {
    super('cancelled', message, details);
  }
}

/** The error a call abandoned for its caller's signal rejects with (for `untilAborted`, `sleep`). */
export const upstreamCancelled = (): Error => new UpstreamCancelledError();

/** An upstream step that outlived its deadline: an SDK-style RequestTimeout, classified as `timeout`. */
export const upstreamRequestTimedOut = (): Error => new McpError(ErrorCode.RequestTimeout, 'Request timed out');

/**
 * One upstream message grew past TMWS_MAX_RESULT_BYTES while it streamed: the
 * gateway stopped reading and closed the upstream request (SPEC §14).
 */
export class UpstreamResultTooLargeError extends ExternalServiceError {
  constructor(limitBytes: number, details: ErrorDetails = {}) {
    super(
      'result_too_large',
      `Upstream message exceeds the gateway's limit of ${limitBytes} bytes (TMWS_MAX_RESULT_BYTES); it was not read further and the upstream request was closed`,
      { ...details, limit_bytes: limitBytes },
    );
  }
}

export type FailureKind =
  /** The request never reached the server (connection refused, DNS, connect timeout, not connected). */
  | 'not_delivered'
  /** The server explicitly rejected our session id (restart, expiry): it did not process the request. */
  | 'session_expired'
  /** The transport broke after the request may have been delivered. */
  | 'connection_lost'
  | 'timeout'
  /** The SDK reported the connection closed (our own close, or a death we detected). */
  | 'closed'
  | 'unauthorized'
  | 'http_status'
  | 'rpc_error'
  | 'protocol_error'
  /** One upstream message exceeded the size limit (the request was closed). */
  | 'too_large'
  /** A response stream broke off before it carried the answer; the session itself may be fine. */
  | 'cut_off'
  /** A response stream ended without a valid answer. */
  | 'no_answer'
  /** Already an AppError (SSRF refusal, redirect refusal, …): rethrow as is. */
  | 'app_error'
  | 'unknown';

export interface Failure {
  kind: FailureKind;
  status?: number;
  rpcCode?: number;
  limitBytes?: number;
  error: unknown;
}

const NOT_DELIVERED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

/** Collects `code`s along the cause chain (undici wraps socket errors in `TypeError: fetch failed`). */
function errorCodes(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== 'object' || error === null) return [];
  const codes: string[] = [];
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') codes.push(code);
  if (error instanceof AggregateError) {
    for (const inner of error.errors) codes.push(...errorCodes(inner, depth + 1));
  }
  codes.push(...errorCodes((error as { cause?: unknown }).cause, depth + 1));
  return codes;
}

function classifyNetwork(error: unknown): FailureKind | undefined {
  const codes = errorCodes(error);
  if (codes.some((c) => NOT_DELIVERED_CODES.has(c))) return 'not_delivered';
  if (codes.some((c) => LOST_CODES.has(c))) return 'connection_lost';
  const message = error instanceof Error ? error.message : '';
  if (/terminated|other side closed|socket hang up/i.test(message)) return 'connection_lost';
  if (error instanceof Error && error.name === 'AbortError') return 'closed';
  return undefined;
}

function classifyHttpStatus(status: number, message: string, hadSession: boolean): FailureKind {
  // Only 401 asks for credentials. A 403 is as often a web server that is not an
  // MCP endpoint (a forbidden path, cloud metadata): report the status, blame nothing.
  if (status === 401) return 'unauthorized';
  // Spec: an unknown session id is answered with 404. Some servers (the reference
  // everything-server among them) answer 400 "No valid session ID" instead.
  if (hadSession && (status === 404 || (status === 400 && /session/i.test(message)))) return 'session_expired';
  return 'http_status';
}

/** Reads an SDK/undici failure. `hadSession`: the request was sent on an established session. */
export function classifyFailure(error: unknown, hadSession: boolean): Failure {
  if (error instanceof AppError) return { kind: 'app_error', error };
  if (error instanceof McpError) {
    const verdict = verdictOf(error);
    if (verdict?.kind === 'too_large') return { kind: 'too_large', limitBytes: verdict.limitBytes, error };
    if (verdict) return { kind: verdict.kind, error };
    if (error.code === ErrorCode.RequestTimeout) return { kind: 'timeout', error };
    if (error.code === ErrorCode.ConnectionClosed && /Connection closed/.test(error.message)) {
      return { kind: 'closed', error };
    }
    return { kind: 'rpc_error', rpcCode: error.code, error };
  }
  if (error instanceof StreamableHTTPError) {
    const status = error.code ?? -1;
    if (status === -1) return { kind: 'protocol_error', error };
    return { kind: classifyHttpStatus(status, error.message, hadSession), status, error };
  }
  if (error instanceof SseError) {
    if (typeof error.code === 'number') {
      return { kind: classifyHttpStatus(error.code, error.message, hadSession), status: error.code, error };
    }
    return { kind: classifyNetwork(error.event) ?? 'not_delivered', error };
  }
  if (error instanceof UnauthorizedError) return { kind: 'unauthorized', status: 401, error };
  const network = classifyNetwork(error);
  if (network) return { kind: network, error };
  const message = error instanceof Error ? error.message : String(error);
  // SSE transport POST failures carry the status only in the message.
  const sseStatus = /Error POSTing to endpoint \(HTTP (\d{3})\)/.exec(message);
  if (sseStatus?.[1]) {
    const status = Number(sseStatus[1]);
    return { kind: classifyHttpStatus(status, message, hadSession), status, error };
  }
  if (message === 'Not connected') return { kind: 'not_delivered', error };
  // A JSON answer that is not JSON, or not JSON-RPC.
  if (error instanceof Error && (error.name === 'ZodError' || error instanceof SyntaxError)) {
    return { kind: 'protocol_error', error };
  }
  return { kind: 'unknown', error };
}

/**
 * Turns a classified failure into the AppError the rest of the gateway sees.
 * `phase`: an HTTP error while opening means the server does not speak MCP
 * (`handshake_failed`); on an established session it is an upstream error.
 */
export function toAppError(failure: Failure, connectionId: string, what: string, phase: 'open' | 'request'): AppError {
  const base = { connection_id: connectionId };
  switch (failure.kind) {
    case 'app_error':
      return failure.error as AppError;
    case 'timeout':
      return new UpstreamTimeoutError(`Upstream ${what} timed out`, base);
    case 'not_delivered':
      return new ExternalServiceError('unreachable', `Upstream MCP server is unreachable`, base);
    case 'session_expired':
      return new ExternalServiceError('session_expired', `Upstream session expired and could not be re-established`, base);
    case 'connection_lost':
      return new ExternalServiceError('connection_lost', `Connection to the upstream MCP server was lost during ${what}`, base);
    case 'closed':
      return new ExternalServiceError('connection_lost', `Upstream session closed during ${what}`, base);
    case 'cut_off':
      return new ExternalServiceError('connection_lost', `Upstream broke off its answer to ${what} before it was complete`, base);
    case 'no_answer':
      return new ExternalServiceError('protocol_error', `Upstream ended its answer to ${what} without a valid JSON-RPC response`, base);
    case 'too_large':
      return new UpstreamResultTooLargeError(failure.limitBytes ?? 0, base);
    case 'unauthorized':
      return new ExternalServiceError('unauthorized', `Upstream MCP server refused the credentials (HTTP ${failure.status})`, {
        ...base,
        status: failure.status,
      });
    case 'http_status':
      return new ExternalServiceError(
        phase === 'open' ? 'handshake_failed' : 'upstream_error',
        httpStatusMessage(failure.status, what, phase),
        { ...base, status: failure.status },
      );
    case 'rpc_error':
      return new ExternalServiceError('upstream_error', `Upstream MCP server returned an error for ${what}`, {
        ...base,
        upstream_code: failure.rpcCode,
        upstream_message: upstreamRpcMessage(failure.error),
      });
    case 'protocol_error':
      return new ExternalServiceError('protocol_error', `Upstream MCP server sent an invalid response to ${what}`, base);
    default:
      // Something we cannot name (e.g. an unsupported protocol version): while
      // opening it is a failed handshake, on a live session an upstream fault.
      return new ExternalServiceError(phase === 'open' ? 'handshake_failed' : 'upstream_error', `Upstream ${what} failed`, base);
  }
}

/** The status as the upstream sent it; while opening, the URL may simply not be an MCP endpoint. */
function httpStatusMessage(status: number | undefined, what: string, phase: 'open' | 'request'): string {
  const answered = `HTTP ${status ?? '?'}${status && STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  return phase === 'open'
    ? `Upstream answered ${answered} to ${what}: no MCP server (Streamable HTTP or SSE) answered at this URL`
    : `Upstream MCP server answered ${answered} to ${what}`;
}

/**
 * A JSON-RPC error message is MCP protocol content the upstream chose to
 * report (e.g. "Tool x not found"); relay it, bounded, without the SDK prefix.
 */
function upstreamRpcMessage(error: unknown): string | undefined {
  if (!(error instanceof McpError)) return undefined;
  // Both the upstream SDK and ours prefix "MCP error <code>: ", so strip it repeatedly.
  return error.message.replace(/^(MCP error -?\d+: )+/, '').slice(0, 500);
}

/** Errors worth another attempt at opening a session (the upstream may be restarting). */
export function isTransientOpenError(error: unknown): boolean {
  if (!(error instanceof ExternalServiceError)) return false;
  const reason = error.reason;
  return reason === 'unreachable' || reason === 'connection_lost' || reason === 'session_expired' || reason === 'timeout';
}

/** Failures after which the session must not be used again. */
export function killsSession(failure: Failure): boolean {
  return (
    failure.kind === 'not_delivered' ||
    failure.kind === 'session_expired' ||
    failure.kind === 'connection_lost' ||
    failure.kind === 'closed'
  );
}
