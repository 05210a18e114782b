import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { BucketName } from '../ratelimit/buckets.js';
import type { RateLimitOutcome } from '../ratelimit/limiter.js';
import { RateLimitExceededError, ServiceUnavailableError, isAppError } from '../errors/index.js';
import { callerOf } from '../http/caller.js';
import type { Services } from '../services/container.js';
import { requirePrincipal } from './request-context.js';

/**
 * Verifies the bearer token and attaches the principal (401 otherwise). Both
 * guards run as `onRequest` hooks, before the body is read or parsed: a body
 * that is not JSON, too deep or too large is a validation error, answered
 * only after authentication and the rate limit (SPEC §4 order of checks).
 */
export function authenticate(services: Services): onRequestAsyncHookHandler {
  const { trustedProxies } = services.config.http;
  return async (request) => {
    request.principal = await services.authenticator.authenticate(callerOf(request, trustedProxies).authorization);
  };
}

function setRateLimitHeaders(reply: FastifyReply, outcome: { limit: number; remaining: number; resetSeconds: number }): void {
  if (!Number.isFinite(outcome.limit)) return;
  reply.header('X-RateLimit-Limit', String(outcome.limit));
  reply.header('X-RateLimit-Remaining', String(Math.max(0, outcome.remaining)));
  reply.header('X-RateLimit-Reset', String(Math.max(0, Math.ceil(outcome.resetSeconds))));
}

/**
 * Draws from a rate-limit bucket after authentication and before any
 * validation, so every authenticated request to a limited route counts
 * (SPEC §4 order of checks). Limited → 429; limiter failure → 503.
 */
export function rateLimit(services: Services, bucket: BucketName): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = requirePrincipal(request.principal);
    const { clientIp: ip } = callerOf(request, services.config.http.trustedProxies);
    try {
      const outcome: RateLimitOutcome = await services.limiter.consume(bucket, {
        agentId: principal.agentId,
        namespace: principal.namespace,
        ip,
      });
      setRateLimitHeaders(reply, outcome);
    } catch (error) {
      if (error instanceof RateLimitExceededError) {
        setRateLimitHeaders(reply, { limit: error.limit, remaining: 0, resetSeconds: error.retryAfterSeconds });
      }
      if (isAppError(error)) throw error;
      // Fail secure: a limiter that cannot decide denies, it never lets the request through.
      services.logger.error({ err: error, requestId: request.id }, 'rate limiter failed');
      throw new ServiceUnavailableError('Rate limiter unavailable; retry shortly');
    }
  };
}
