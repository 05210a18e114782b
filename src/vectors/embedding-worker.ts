/**
 * Entry point of the embedding worker thread (see embedding-thread.ts). Loads the
 * model once and answers one request at a time; the main thread sends the next
 * request only after this one answered, so a query can jump ahead of indexing work.
 */
import { parentPort } from 'node:worker_threads';
import { embedPacked, loadUseLite } from './use-lite-model.js';

export interface EmbedRequest {
  id: number;
  texts: string[];
}

export type EmbedReply = { id: number; vectors: Float32Array } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error('embedding-worker must run in a worker thread');

let model: ReturnType<typeof loadUseLite> | undefined;
const modelOnce = () => {
  model ??= loadUseLite().catch((error: unknown) => {
    model = undefined; // a failed load may be retried by the next request
    throw error;
  });
  return model;
};
void modelOnce().catch(() => undefined); // start loading at once; a failure is reported per request

port.on('message', (request: EmbedRequest) => {
  void (async () => {
    let reply: EmbedReply;
    try {
      reply = { id: request.id, vectors: await embedPacked(await modelOnce(), request.texts) };
    } catch (error) {
      reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply, 'vectors' in reply ? [reply.vectors.buffer as ArrayBuffer] : []);
  })();
});
