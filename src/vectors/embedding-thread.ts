import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EmbedReply, EmbedRequest } from './embedding-worker.js';
import { USE_LITE_DIMENSIONS } from './use-lite-model.js';

interface Job {
  texts: string[];
  resolve: (vectors: number[][]) => void;
  reject: (error: unknown) => void;
}

/**
 * Starts the worker. Compiled (`dist/`), the entry is a `.js` file beside this one.
 * From source (tsx, vitest) it is the `.ts` file, and a worker does not inherit the
 * parent's TypeScript loader (Node 20 ignores `--import tsx` in a worker's execArgv):
 * a tiny bootstrap registers tsx inside the worker, then imports the entry.
 */
function spawnEmbeddingWorker(): Worker {
  const compiled = new URL('./embedding-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled);
  const source = new URL('./embedding-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * One worker thread that owns the embedding model, so computing vectors never
 * blocks the event loop (an 805-tool catalogue used to stall `/health` for 10 s).
 * Requests run one at a time; queries (`urgent`) go before queued indexing work,
 * so a search waits for at most one indexing batch. The worker starts on first
 * use, does not keep the process alive, and is started again after a crash.
 */
export class EmbeddingThread {
  private worker: Worker | undefined;
  private readonly urgent: Job[] = [];
  private readonly background: Job[] = [];
  private current: { id: number; job: Job } | undefined;
  private nextId = 1;
  private closed = false;

  /** Embeds `texts` in one worker request, in order. */
  embed(texts: string[], urgent = false): Promise<number[][]> {
    if (this.closed) return Promise.reject(new Error('the embedding thread is closed'));
    return new Promise((resolve, reject) => {
      (urgent ? this.urgent : this.background).push({ texts, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops the worker; queued and running requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the embedding thread is closed');
    for (const job of [...this.urgent.splice(0), ...this.background.splice(0)]) job.reject(error);
    this.failCurrent(error);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private dispatch(): void {
    if (this.current || this.closed) return;
    const job = this.urgent.shift() ?? this.background.shift();
    if (!job) return;
    const id = this.nextId++;
    this.current = { id, job };
    const request: EmbedRequest = { id, texts: job.texts };
    const worker = this.workerOnce();
    worker.ref(); // a caller is waiting (e.g. the reindex CLI): the process must not exit meanwhile
    worker.postMessage(request);
  }

  private workerOnce(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnEmbeddingWorker();
    worker.unref();
    worker.on('message', (reply: EmbedReply) => this.onReply(reply));
    const lost = (error: unknown) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failCurrent(error);
      this.dispatch(); // the next request starts a fresh worker
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the embedding worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private onReply(reply: EmbedReply): void {
    const current = this.current;
    if (!current || current.id !== reply.id) return;
    this.current = undefined;
    this.worker?.unref();
    if ('error' in reply) current.job.reject(new Error(`embedding failed: ${reply.error}`));
    else current.job.resolve(unpack(reply.vectors, current.job.texts.length));
    this.dispatch();
  }

  private failCurrent(error: unknown): void {
    const current = this.current;
    this.current = undefined;
    current?.job.reject(error);
  }
}

function unpack(packed: Float32Array, rows: number): number[][] {
  const vectors: number[][] = [];
  for (let row = 0; row < rows; row++) {
    vectors.push(Array.from(packed.subarray(row * USE_LITE_DIMENSIONS, (row + 1) * USE_LITE_DIMENSIONS)));
  }
  return vectors;
}
