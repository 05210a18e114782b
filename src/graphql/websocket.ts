import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DocumentNode, ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import { CloseCode, type Context, type ServerOptions, type SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthenticationError, isAppError } from '../errors/index.js';
import { callerOf } from '../http/caller.js';
import type { Services } from '../services/container.js';
import { verifyCaller, type VerifiedCaller } from './caller.js';
import { mapError } from './errors.js';
import { RECHECK_INTERVAL_MS } from './subscription-access.js';
import { GRAPHQL_PATH, type GatewayYoga } from './yoga.js';
import { nestingRefusal } from './plugins/use-variables-guard.js';

/**
 * Largest graphql-ws message accepted, the same bound as an HTTP body.
 * @default 1 MiB
 */
export const MAX_WS_MESSAGE_BYTES = 1024 * 1024;

/** How long a client has to send `connection_init` (with its token). @default 5000 */
export const CONNECTION_INIT_TIMEOUT_MS = 5_000;

/** Per-socket state kept by the graphql-ws server. */
interface SocketState {
  caller?: VerifiedCaller;
  requestId: string;
  clientIp: string;
  expiryTimer?: NodeJS.Timeout;
  recheckTimer?: NodeJS.Timeout;
}

/** Yoga's enveloped execute/subscribe, carried to graphql-ws in the root value. */
interface RootValue {
  execute: NonNullable<ServerOptions['execute']>;
  subscribe: NonNullable<ServerOptions['subscribe']>;
}

type ConnectionParams = Record<string, unknown>;
type SocketContext = Context<ConnectionParams, Extra>;

const states = new WeakMap<WebSocket, SocketState>();

function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

function stateOf(socket: WebSocket, request: IncomingMessage, services: Services): SocketState {
  let state = states.get(socket);
  if (!state) {
    const { requestId, clientIp } = callerOf(request, services.config.http.trustedProxies);
    state = { requestId, clientIp };
    states.set(socket, state);
  }
  return state;
}

/**
 * A close reason the client can show as is. graphql-ws clients treat 4401
 * Unauthorized as final (no retries) — 4403 Forbidden would be retried with
 * back-off for about 40 s before the error surfaced.
 */
function unauthorizedReason(error: unknown): string {
  const message = isAppError(error) ? error.message : 'Authentication failed';
  // A close reason is at most 123 bytes (ws throws beyond).
  let reason = `Unauthorized: ${message}`;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

/**
 * Ends the socket with 4401 as soon as its caller may no longer act: at the
 * token's expiry, and when the agent was deactivated or deleted (checked every
 * RECHECK_INTERVAL_MS, also while the socket is idle between operations).
 */
function watchCaller(socket: WebSocket, state: SocketState, services: Services): void {
  stopWatching(state);
  const caller = state.caller;
  if (!caller) return;
  const end = (error: unknown) => socket.close(CloseCode.Unauthorized, unauthorizedReason(error));
  if (caller.expiresAt !== null) {
    const delay = Math.max(0, Math.min(caller.expiresAt - Date.now(), 2 ** 31 - 1));
    state.expiryTimer = setTimeout(() => end(new AuthenticationError('Token has expired')), delay);
    state.expiryTimer.unref();
  }
  state.recheckTimer = setInterval(() => {
    services.authenticator.revalidate(caller).catch((error: unknown) => {
      // A database hiccup is no verdict on the caller; its subscriptions end on their own checks.
      if (isAppError(error)) end(error);
    });
  }, RECHECK_INTERVAL_MS);
  state.recheckTimer.unref();
}

function stopWatching(state: SocketState): void {
  if (state.expiryTimer) clearTimeout(state.expiryTimer);
  if (state.recheckTimer) clearInterval(state.recheckTimer);
}

/**
 * `connection_init` check. A refusal closes the socket with 4401 and the
 * reason in words ("Unauthorized: Token has expired") at once; graphql-ws's
 * own 4403 that follows the `false` finds the socket already closing.
 */
async function acceptConnection(ctx: SocketContext, services: Services): Promise<boolean> {
  const state = stateOf(ctx.extra.socket, ctx.extra.request, services);
  try {
    state.caller = await verifyCaller(services, authorizationOf(ctx.connectionParams), true);
  } catch (error) {
    if (isAppError(error)) ctx.extra.socket.close(CloseCode.Unauthorized, unauthorizedReason(error));
    else {
      services.logger.error({ err: error, requestId: state.requestId }, 'WebSocket authentication failed unexpectedly');
      ctx.extra.socket.close(CloseCode.InternalServerError, 'Internal server error');
    }
    return false;
  }
  watchCaller(ctx.extra.socket, state, services);
  return true;
}

/**
 * Per operation: re-checks the token and the agent (closing the socket with
 * 4401 when either is no longer valid), then parses, validates (query limits
 * included) and builds the context through Yoga's envelope, as for HTTP.
 */
async function prepareOperation(
  ctx: SocketContext,
  payload: SubscribePayload,
  yoga: GatewayYoga,
  services: Services,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const state = stateOf(ctx.extra.socket, ctx.extra.request, services);
  try {
    state.caller = await verifyCaller(services, authorizationOf(ctx.connectionParams), true);
  } catch (error) {
    ctx.extra.socket.close(CloseCode.Unauthorized, unauthorizedReason(error));
    return [mapError(error, state.requestId).error];
  }
  const tooDeep = nestingRefusal(payload);
  if (tooDeep) return [mapError(tooDeep, state.requestId).error];
  const enveloped = yoga.getEnveloped({
    caller: state.caller,
    requestId: state.requestId,
    clientIp: state.clientIp,
    params: payload,
    connectionParams: ctx.connectionParams,
    socket: ctx.extra.socket,
  });
  let document: DocumentNode;
  try {
    // Envelop types parse/validate/schema as `any`: they are graphql-js's own, so say so.
    document = enveloped.parse(payload.query) as DocumentNode;
  } catch (error) {
    return [mapError(error, state.requestId).error];
  }
  const errors = enveloped.validate(enveloped.schema, document) as readonly GraphQLError[];
  if (errors.length > 0) return errors.map((error) => mapError(error, state.requestId).error);
  const rootValue = { execute: enveloped.execute, subscribe: enveloped.subscribe };
  return {
    schema: enveloped.schema as GraphQLSchema,
    document,
    operationName: payload.operationName ?? null,
    variableValues: payload.variables ?? null,
    contextValue: await enveloped.contextFactory(),
    rootValue,
  };
}

/**
 * graphql-ws (subprotocol graphql-transport-ws) on `GRAPHQL_PATH` of the
 * Fastify server, running operations through the same Yoga envelope as HTTP
 * (limits, error mapping, context, rate limits).
 * - The token travels in `connectionParams.authorization` (`Bearer x` or bare).
 *   It is checked at `connection_init` and again for every operation; refused
 *   → close 4401 Unauthorized with the reason in words.
 * - When it expires, or the agent is deactivated or deleted, the socket is
 *   closed with 4401 within RECHECK_INTERVAL_MS (+ the agent cache's second).
 *   Each subscription also re-checks per event (subscription-access.ts).
 */
export function attachGraphQLWebSocket(server: Server, yoga: GatewayYoga, services: Services): { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== GRAPHQL_PATH) {
      // Nobody else serves WebSockets here: refuse rather than leave the socket hanging.
      if (server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  const disposable = useServer<ConnectionParams>(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      onConnect: (ctx) => acceptConnection(ctx, services),
      onSubscribe: (ctx, _id, payload) => prepareOperation(ctx, payload, yoga, services),
      execute: (args) => (args.rootValue as RootValue).execute(args),
      subscribe: (args) => (args.rootValue as RootValue).subscribe(args),
      onClose: (ctx) => {
        const state = states.get(ctx.extra.socket);
        if (state) stopWatching(state);
      },
    },
    wss,
  );

  return {
    async close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
