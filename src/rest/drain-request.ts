import type { IncomingMessage } from 'node:http';

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
 */
export function drainRequestBody(raw: IncomingMessage, maxBytes = DRAIN_MAX_BYTES, maxMs = DRAIN_MAX_MS): Promise<void> {
  if (raw.complete || raw.readableEnded || raw.destroyed || Number(raw.headers['content-length']) > maxBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const finish = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', finish).off('close', finish).off('error', finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish();
    };
    const timer = setTimeout(finish, maxMs);
    raw.on('data', onData).once('end', finish).once('close', finish).once('error', finish);
    raw.resume();
  });
}
