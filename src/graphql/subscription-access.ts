import type { Principal } from '../auth/principal.js';
import { AppError, AuthenticationError, AuthorizationError, ServiceUnavailableError, isAppError } from '../errors/index.js';
import type { AuthenticatedContext } from './context.js';
import type { EventQueue } from './event-stream.js';

/**
 * How often an open subscription (and a WebSocket) checks that its caller may
 * still act, even when no event arrives. A check is a lookup in the
 * authenticator's agent cache, which re-reads the row after one second, so a
 * deactivation, deletion, demotion or namespace move made anywhere ends the
 * stream within about two seconds — SPEC §3 allows five.
 * @default 1000
 */
export const RECHECK_INTERVAL_MS = 1_000;

/**
 * The last event of a stream whose caller lost access: its subscription field
 * resolves to this error, so the client sees why (UNAUTHENTICATED or
 * AUTHORIZATION_ERROR) just before `complete`.
 */
export class AccessRevoked {
  constructor(readonly error: AppError) {}
}

/** The event itself, or the revocation's error thrown into the field (→ an error payload). */
export function unlessRevoked<T>(event: T | AccessRevoked): T {
  if (event instanceof AccessRevoked) throw event.error;
  return event;
}

/**
 * Re-authorises a subscription against the agent's current row: the token has
 * not expired, the agent still exists and is active, it is still in the
 * namespace and (when it was) still an admin. Each successful check makes the
 * context's principal the current one, so every resolver of the next event
 * reads with what the agent may read *now*.
 */
export function subscriptionAccess(context: AuthenticatedContext): () => Promise<Principal> {
  const opened = context.principal;
  const caller = { principal: opened, expiresAt: context.credentialsExpireAt };
  return async () => {
    const current = await context.services.authenticator.revalidate(caller);
    if (current.namespace !== opened.namespace) {
      throw new AuthorizationError('The agent was moved to another namespace; subscription ended');
    }
    if (opened.role === 'admin' && current.role !== 'admin') {
      throw new AuthorizationError('The agent is no longer an admin; subscription ended');
    }
    context.principal = current;
    return current;
  };
}

/**
 * The events of `queue` that the caller may read at the moment each one is
 * delivered. The caller is checked per event and every RECHECK_INTERVAL_MS
 * while the stream is quiet, and at the token's expiry; once it may no longer
 * read, the stream yields one AccessRevoked and ends. Any other AppError that
 * ends the queue (a subscriber too far behind) is delivered the same way, and
 * a failed check (database down) ends it as SERVICE_UNAVAILABLE: fail-secure.
 */
export async function* authorisedEvents<T>(
  queue: EventQueue<T>,
  context: AuthenticatedContext,
  readable: (principal: Principal, event: T) => boolean,
): AsyncGenerator<T | AccessRevoked> {
  const check = subscriptionAccess(context);
  const watch = setInterval(() => void check().catch((error: unknown) => queue.fail(error)), RECHECK_INTERVAL_MS);
  watch.unref();
  const expiresAt = context.credentialsExpireAt;
  const expiry =
    expiresAt === null
      ? undefined
      : setTimeout(
          () => queue.fail(new AuthenticationError('Token has expired')),
          Math.max(0, Math.min(expiresAt - Date.now(), 2 ** 31 - 1)),
        );
  expiry?.unref();
  try {
    for await (const event of queue) {
      const principal = await check();
      if (readable(principal, event)) yield event;
    }
  } catch (error) {
    if (isAppError(error)) {
      yield new AccessRevoked(error);
      return;
    }
    // Access cannot be confirmed (the database is down): end, as a deny, with a reason the client can act on.
    context.services.logger.warn({ err: error, requestId: context.requestId }, 'subscription ended: access could not be re-checked');
    yield new AccessRevoked(new ServiceUnavailableError('Could not re-check access; subscription ended, subscribe again later'));
  } finally {
    clearInterval(watch);
    if (expiry) clearTimeout(expiry);
  }
}
