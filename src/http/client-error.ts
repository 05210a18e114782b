import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, PayloadTooLargeError, ValidationError } from '../errors/index.js';
import { renderErrorBody } from './error-body.js';

/** Node's limit on the request line and headers together (`--max-http-header-size`). */
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Requests Node cannot even parse (malformed request line or headers,
 * headers above 16 KiB, too slow to arrive) never reach a route. They are
 * answered here on the raw socket, in the same error body as every other
 * refusal — 400 / 431 / 408 — and the connection is closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, appError] = refusalOf(error.code);
  if (socket.writable) {
    const requestId = randomUUID();
    const body = JSON.stringify(renderErrorBody(appError, requestId));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function refusalOf(code: string | undefined): [number, AppError] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, new PayloadTooLargeError(MAX_HEADER_BYTES, 'Request line and headers', 431)];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, new ValidationError('The request did not arrive in time')];
  return [400, new ValidationError('Malformed HTTP request')];
}
