/**
 * Minimal GraphQL clients for the tests: HTTP (POST/GET), GraphQL over SSE,
 * and graphql-ws over WebSocket, all typed by the generated documents.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TestGateway } from '../helpers/gateway.js';

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; retryAfter?: number; details?: Record<string, unknown>; requestId?: string };
}

export interface GraphQLPayload<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

export interface GraphQLHttpResult<T> {
  status: number;
  headers: Headers;
  body: GraphQLPayload<T>;
}

type Document<T, V> = TypedDocumentNode<T, V> | DocumentNode | string;

const source = (document: Document<unknown, unknown>): string => (typeof document === 'string' ? document : print(document));

/** POST /graphql with JSON. */
export async function graphql<T, V = Record<string, unknown>>(
  gw: TestGateway,
  document: Document<T, V>,
  variables?: V,
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLHttpResult<T>> {
  const response = await gw.request('/graphql', {
    method: 'POST',
    token,
    headers: { accept: 'application/graphql-response+json, application/json', ...headers },
    body: { query: source(document), variables: variables ?? {} },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as GraphQLPayload<T>) : {} };
}

/** The data of a successful operation; fails loudly with the errors otherwise. */
export async function data<T, V = Record<string, unknown>>(
  gw: TestGateway,
  document: Document<T, V>,
  variables: V | undefined,
  token: string,
): Promise<T> {
  const result = await graphql(gw, document, variables, token);
  if (result.body.errors?.length || !result.body.data) {
    throw new Error(`GraphQL errors (HTTP ${result.status}): ${JSON.stringify(result.body.errors)}`);
  }
  return result.body.data;
}

/** `extensions.code` of each error of a result. */
export function codes(result: { body: GraphQLPayload<unknown> } | GraphQLPayload<unknown>): (string | undefined)[] {
  const payload = 'body' in result ? result.body : result;
  return (payload.errors ?? []).map((e) => e.extensions?.code);
}

export interface SseSubscription<T> {
  status: number;
  headers: Headers;
  /** `next` payloads until `complete` (or the stream ends). */
  events: AsyncGenerator<GraphQLPayload<T>>;
  close(): void;
}

/**
 * GraphQL over SSE (Yoga's "distinct connections" mode): POST with
 * `accept: text/event-stream`. Resolves once the response headers arrived,
 * i.e. once the server has subscribed.
 */
export async function sse<T, V = Record<string, unknown>>(
  gw: Pick<TestGateway, 'url'>,
  document: Document<T, V>,
  variables: V | undefined,
  token: string,
): Promise<SseSubscription<T>> {
  const controller = new AbortController();
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    signal: controller.signal,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: source(document), variables: variables ?? {} }),
  });
  return { status: response.status, headers: response.headers, events: readSse<T>(response), close: () => controller.abort() };
}

export async function* readSse<T>(response: Response): AsyncGenerator<GraphQLPayload<T>> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const lines = frame.split('\n');
        const event = lines
          .find((l) => l.startsWith('event:'))
          ?.slice(6)
          .trim();
        const dataText = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (event === 'complete') return;
        if (event === 'next' && dataText) yield JSON.parse(dataText) as GraphQLPayload<T>;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Reads a stream with timeouts without losing events: a `next()` that timed
 * out stays pending and delivers its event to the following read.
 */
export class EventReader<T> {
  private readonly iterator: AsyncIterator<T>;
  private pending: Promise<IteratorResult<T>> | undefined;

  constructor(events: AsyncIterable<T>) {
    this.iterator = events[Symbol.asyncIterator]();
  }

  async next(timeoutMs: number): Promise<IteratorResult<T> | 'timeout'> {
    this.pending ??= this.iterator.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    const result = await Promise.race([this.pending, timeout]);
    clearTimeout(timer);
    if (result !== 'timeout') this.pending = undefined;
    return result;
  }

  /** Events until `stop` accepts one (inclusive) or the stream ends; rejects after `timeoutMs`. */
  async until(stop: (event: T) => boolean, timeoutMs = 15_000): Promise<T[]> {
    const seen: T[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = await this.next(deadline - Date.now());
      if (next === 'timeout') throw new Error(`timed out after ${seen.length} events: ${JSON.stringify(seen)}`);
      if (next.done) return seen;
      seen.push(next.value);
      if (stop(next.value)) return seen;
    }
  }

  /** Everything that arrives within `ms`. */
  async during(ms: number): Promise<T[]> {
    const seen: T[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const next = await this.next(deadline - Date.now());
      if (next === 'timeout' || next.done) return seen;
      seen.push(next.value);
    }
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** Collects events until `stop` says so (inclusive), the stream completes, or the timeout passes; then closes the stream. */
export async function collect<T>(
  events: AsyncIterable<GraphQLPayload<T>>,
  stop: (event: GraphQLPayload<T>) => boolean = () => false,
  timeoutMs = 15_000,
): Promise<GraphQLPayload<T>[]> {
  const reader = new EventReader(events);
  try {
    return await reader.until(stop, timeoutMs);
  } finally {
    void reader.close();
  }
}

export interface WsClient {
  client: Client;
  /** Close events seen by the client (code, reason). */
  closes: { code: number; reason: string }[];
  subscribe<T, V>(document: Document<T, V>, variables?: V): AsyncGenerator<GraphQLPayload<T>>;
  dispose(): Promise<void>;
}

/**
 * A graphql-ws client that never retries (so close codes are observable). It
 * keeps one socket open until disposed (not lazy), so every operation runs on it.
 */
export function wsClient(gw: TestGateway, authorization: string | undefined): WsClient {
  const closes: { code: number; reason: string }[] = [];
  const client = createClient({
    url: `${gw.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization === undefined ? {} : { authorization },
    retryAttempts: 0,
    lazy: false,
    // Close events are recorded in `closes`; the default handler would print them.
    onNonLazyError: () => undefined,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closes.push({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  return {
    client,
    closes,
    subscribe: <T, V>(document: Document<T, V>, variables?: V) =>
      client.iterate({ query: source(document), variables: variables ?? {} }) as AsyncGenerator<GraphQLPayload<T>>,
    dispose: async () => {
      await client.dispose();
    },
  };
}

/**
 * A raw graphql-transport-ws socket: sends `connection_init` with `payload`
 * and reports the first server message or the close code, whichever comes first.
 */
export async function rawHandshake(
  gw: TestGateway,
  payload: Record<string, unknown>,
): Promise<{ ack: boolean; closeCode?: number; socket: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload }));
  const first = await Promise.race([
    new Promise<{ ack: boolean }>((resolve) =>
      socket.once('message', (raw) =>
        resolve({ ack: (JSON.parse((raw as Buffer).toString()) as { type: string }).type === 'connection_ack' }),
      ),
    ),
    closed.then((c) => ({ ack: false, closeCode: c.code })),
  ]);
  return { ...first, socket, closed };
}
