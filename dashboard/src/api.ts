import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../gql/graphql.js';

/**
 * The dashboard's only way to the gateway: the public GraphQL API on the same
 * origin — queries and mutations over fetch, subscriptions over one graphql-ws
 * WebSocket (one socket multiplexes every live view, where one SSE stream per
 * subscription would soon hit the browser's six connections per host).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; retryAfter?: number };
}

/** An error of the API in words for a person (the gateway's own messages are already sentences). */
export function inWords(error: GraphQLErrorBody | undefined): ApiError {
  const code = error?.extensions?.code ?? 'UNKNOWN';
  const message = error?.message ?? 'Something went wrong.';
  switch (code) {
    case 'UNAUTHENTICATED':
      return new ApiError(code, 'Your session has ended (the token expired or is no longer valid). Sign in again with a new token.');
    case 'AUTHORIZATION_ERROR':
      return new ApiError(code, `Not allowed: ${message}`);
    case 'RATE_LIMIT_EXCEEDED': {
      const wait = error?.extensions?.retryAfter;
      return new ApiError(code, `Too many requests — try again${wait ? ` in ${Math.ceil(wait)} s` : ' shortly'}.`);
    }
    case 'EXTERNAL_SERVICE_ERROR':
      return new ApiError(code, `The upstream server failed: ${message}`);
    default:
      return new ApiError(code, message);
  }
}

export interface Api {
  request<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<R>;
  subscribe<R, V>(
    document: TypedDocumentString<R, V>,
    variables: V,
    onData: (data: R) => void,
    onError?: (error: ApiError) => void,
  ): () => void;
  /**
   * Runs `listener` each time live updates start: once the connection is up,
   * and again after it was lost and came back. Events of the moments before
   * (while a view was reading its list, or while the gateway was away) never
   * reach the page, so a live list reads itself again here; `afterOutage`
   * tells a reconnection from the first connection. Returns what unregisters it.
   */
  onLive(listener: (afterOutage: boolean) => void): () => void;
  /**
   * Runs `listener` when the connection carrying live updates breaks: with
   * `final` false while it is being retried (`onLive` follows if it
   * comes back), true once the retries are spent.
   */
  onConnectionLost(listener: (final: boolean) => void): () => void;
  close(): void;
}

/**
 * How long live updates keep trying to reach a gateway that went away: waits
 * of 1, 2, 4, 8 s, then 10 s (with some jitter), about four minutes in all —
 * a restart or a deployment, not an outage. Then the views say so.
 */
const RETRY_ATTEMPTS = 28;
const RETRY_CAP_MS = 10_000;

function retryWait(retries: number): Promise<void> {
  const ms = Math.min(RETRY_CAP_MS, 1000 * 2 ** retries) + Math.random() * 500;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `onSessionEnded` runs once when the gateway refuses the token (expired, revoked agent). */
export function createApi(token: string, onSessionEnded: (message: string) => void): Api {
  let ended = false;
  const endSession = (error: ApiError) => {
    if (ended) return;
    ended = true;
    onSessionEnded(error.message);
  };
  let live: Client | undefined;
  const liveListeners = new Set<(afterOutage: boolean) => void>();
  const lost = new Set<(final: boolean) => void>();
  const connectionLost = (final: boolean) => {
    if (!ended) for (const listener of [...lost]) listener(final);
  };
  const socket = () =>
    (live ??= createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      connectionParams: { authorization: `Bearer ${token}` },
      // A refused token is refused again on every retry: end the session instead.
      shouldRetry: (event) => !isRefusal(event),
      retryAttempts: RETRY_ATTEMPTS,
      retryWait,
      lazy: true,
      on: {
        connected: (_socket, _payload, wasRetry) => {
          for (const listener of [...liveListeners]) listener(wasRetry);
        },
        // 1000 is the client's own close once no view listens any more; anything else broke the connection.
        closed: (event) => {
          if ((event as { code?: number } | null)?.code !== 1000) connectionLost(false);
        },
      },
    }));

  return {
    async request(document, variables) {
      let response: Response;
      try {
        response = await fetch('/graphql', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
        });
      } catch {
        throw new ApiError('NETWORK', 'The gateway cannot be reached. Is it running?');
      }
      const body = (await response.json().catch(() => null)) as { data?: unknown; errors?: GraphQLErrorBody[] } | null;
      const first = body?.errors?.[0];
      if (first || !body?.data) {
        const error = first ? inWords(first) : new ApiError('HTTP', `The gateway answered HTTP ${response.status}.`);
        if (error.code === 'UNAUTHENTICATED') endSession(error);
        throw error;
      }
      return body.data as never;
    },
    subscribe(document, variables, onData, onError) {
      return socket().subscribe(
        { query: document.toString(), variables: variables as Record<string, unknown> },
        {
          next: (result) => {
            const first = (result.errors as GraphQLErrorBody[] | undefined)?.[0];
            if (first) {
              const error = inWords(first);
              if (error.code === 'UNAUTHENTICATED') endSession(error);
              else onError?.(error);
              return;
            }
            if (result.data) onData(result.data as never);
          },
          error: (failure) => {
            if (isRefusal(failure)) endSession(inWords({ message: '', extensions: { code: 'UNAUTHENTICATED' } }));
            else {
              connectionLost(true);
              onError?.(new ApiError('LIVE', 'Live updates stopped: the connection to the gateway was lost. Reload the page.'));
            }
          },
          complete: () => {},
        },
      );
    },
    onLive(listener) {
      liveListeners.add(listener);
      return () => liveListeners.delete(listener);
    },
    onConnectionLost(listener) {
      lost.add(listener);
      return () => lost.delete(listener);
    },
    close() {
      ended = true;
      void live?.dispose();
    },
  };
}

/** graphql-ws close codes for a refused token. */
function isRefusal(event: unknown): boolean {
  const code = (event as { code?: unknown } | null)?.code;
  return code === 4401 || code === 4403;
}
