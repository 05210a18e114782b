import { randomBytes } from 'node:crypto';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * The SDK waits for the answer to a request on that request's event stream,
 * and when the stream is refused (too large), breaks off or ends without an
 * answer it keeps waiting until the timeout. Where the gateway knows the
 * request id of such a stream, it ends the stream with a JSON-RPC error
 * response of its own: the SDK then settles the request at once, through its
 * normal path (timers and progress handlers cleaned up), and classifyFailure
 * turns the error back into what happened.
 *
 * An upstream cannot forge one: the error's data carries a random nonce of
 * this process.
 */
export type Verdict =
  /** One upstream message grew past TMWS_MAX_RESULT_BYTES; the request was closed. */
  | { kind: 'too_large'; limitBytes: number }
  /** The stream broke off before it carried the answer. */
  | { kind: 'cut_off' }
  /** The stream ended without an answer (and cannot be resumed): nothing valid was said. */
  | { kind: 'no_answer' };

/** Inside the JSON-RPC "server error" range the spec reserves for implementations. */
const VERDICT_CODE = -32098;
const NONCE = randomBytes(16).toString('hex');

/** The JSON text of the error response standing in for the answer to `requestId`. */
export function verdictMessage(requestId: number | string, verdict: Verdict): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: requestId,
    error: { code: VERDICT_CODE, message: `gateway: ${verdict.kind}`, data: { tmws_verdict: verdict, nonce: NONCE } },
  });
}

/**
 * The verdict as the tail of an event stream. The leading line end and the
 * discarded event type end whatever partial event came before, so the SDK's
 * parser drops it instead of mistaking it for a message.
 */
export function verdictEvent(requestId: number | string, verdict: Verdict): Uint8Array {
  return new TextEncoder().encode(`\nevent: tmws-discarded\n\ndata: ${verdictMessage(requestId, verdict)}\n\n`);
}

/** The verdict an SDK error carries, if it is one of ours. */
export function verdictOf(error: McpError): Verdict | undefined {
  if (error.code !== VERDICT_CODE) return undefined;
  const data = error.data as { tmws_verdict?: Verdict; nonce?: unknown } | undefined;
  return data?.nonce === NONCE ? data.tmws_verdict : undefined;
}

/**
 * The id of the JSON-RPC request a POST body carries, or undefined (a
 * notification, a response, a batch). Parsed only on the rare paths that need it.
 */
export function requestIdOf(body: string): number | string | undefined {
  try {
    const message = JSON.parse(body) as { id?: unknown; method?: unknown };
    const { id } = message;
    return typeof message.method === 'string' && (typeof id === 'number' || typeof id === 'string') ? id : undefined;
  } catch {
    return undefined;
  }
}
