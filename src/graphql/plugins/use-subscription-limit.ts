import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { RateLimitExceededError } from '../../errors/index.js';
import type { GraphQLContext } from '../context.js';
import { mapError } from '../errors.js';
import { withCleanup } from '../event-stream.js';

/** What the limit is reported as (RATE_LIMIT_EXCEEDED `details.endpoint_type`). */
export const SUBSCRIPTIONS_ENDPOINT = 'graphql_subscriptions';

/**
 * At most `maxPerAgent` open subscriptions per agent in this process, over
 * SSE and WebSocket together (both run through this envelope). One more is
 * refused with RATE_LIMIT_EXCEEDED before it subscribes to anything; a slot
 * is given back when its stream ends for any reason (completed, cancelled by
 * the client, socket closed, access revoked).
 */
export function useSubscriptionLimit(maxPerAgent: number): Plugin<GraphQLContext> {
  const open = new Map<string, number>();
  const release = (agentId: string) => {
    const left = (open.get(agentId) ?? 1) - 1;
    if (left > 0) open.set(agentId, left);
    else open.delete(agentId);
  };
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const agentId = args.contextValue.principal?.agentId;
      if (!agentId) return undefined;
      const count = open.get(agentId) ?? 0;
      if (count >= maxPerAgent) {
        const message = `Too many open subscriptions: at most ${maxPerAgent} per agent; end one before opening another`;
        const error = new RateLimitExceededError(SUBSCRIPTIONS_ENDPOINT, maxPerAgent, 0, 1, message);
        setResultAndStopExecution({ errors: [mapError(error, args.contextValue.requestId).error] });
        return undefined;
      }
      open.set(agentId, count + 1);
      let released = false;
      const releaseOnce = () => {
        if (released) return;
        released = true;
        release(agentId);
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(withCleanup(result[Symbol.asyncIterator](), releaseOnce));
          else releaseOnce();
        },
        onSubscribeError: releaseOnce,
      };
    },
  };
}
