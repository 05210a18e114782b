import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bytes read and thrown away before a 413 is sent. @default 8 MiB */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;
/** How long a 413 waits for the rest of the request body. @default 5 s */
export const DRAIN_MAX_MS = 5_000;

/**
 * Reads and discards what is left of a request body, bounded in bytes and
 * time. A refused request (413) is answered with `Connection: close`; if the
 * socket were closed while the client is still sending, the kernel would
 * answer the arriving bytes with a reset, and the reset discards the 413 the
 * client has not read yet (it sees EPIPE/ECONNRESET instead). Draining first
 * lets a client that writes its whole body always read the answer; a client
 * that sends more than the bounds allow gets the answer and the close at once.
 * Resolves to whether the body was read to its end.
 */
export function drainRequestBody(raw: IncomingMessage, maxBytes = DRAIN_MAX_BYTES, maxMs = DRAIN_MAX_MS): Promise<boolean> {
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve(true);
  if (Number(raw.headers['content-length']) > maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', ended).off('close', ended).off('error', ended);
      resolve(drained);
    };
    const ended = () => finish(true);
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const timer = setTimeout(() => finish(false), maxMs);
    raw.on('data', onData).once('end', ended).once('close', ended).once('error', ended);
    raw.resume();
  });
}

/**
 * Before a 413: drain the body (bounded), answer with `Connection: close`, and
 * when the client did not finish within the bounds, drop the connection as
 * soon as the answer is written rather than keep reading for it.
 */
export async function closeAfterDrain(raw: IncomingMessage, response: ServerResponse): Promise<void> {
  const drained = await drainRequestBody(raw);
  response.setHeader('Connection', 'close');
  if (!drained) response.once('finish', () => raw.socket?.destroy());
}
