import { graphql, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitExceededError, ServiceUnavailableError } from '../../src/errors/index.js';
import { createGraphQLFieldLimiter } from '../../src/graphql/plugins/field-rate-limit.js';
import { createRateLimiter, type RateLimiter, type RateLimitSubject } from '../../src/ratelimit/limiter.js';
import { startRedis, type RedisTestServer } from '../helpers/redis-server.js';
import { consumeTimes, freshSubject, testDeps } from '../ratelimit/support.js';

interface Ctx {
  subject: RateLimitSubject;
}

/** A tiny schema whose mutation is limited on the create bucket, like the real createConnection. */
function schemaFor(limiter: RateLimiter): GraphQLSchema {
  const limit = createGraphQLFieldLimiter(limiter);
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString, resolve: () => 'ok' } } }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        createConnection: {
          // Nullable, so one limited alias does not null out (and stop) the rest of the mutation.
          type: GraphQLString,
          args: { name: { type: GraphQLString } },
          resolve: async (parent, args: Record<string, unknown>, context: Ctx, info) => {
            const outcome = await limit({ parent, args, context, info }, 'mcp_create_connection', context.subject);
            return String(outcome.remaining);
          },
        },
      },
    }),
  });
}

function aliased(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => `c${i}: createConnection(name: "n${i}")`);
  return `mutation { ${fields.join(' ')} }`;
}

async function run(limiter: RateLimiter, subject: RateLimitSubject, count: number) {
  const result = await graphql({ schema: schemaFor(limiter), source: aliased(count), contextValue: { subject } });
  const errors = result.errors ?? [];
  return { result, errors, originals: errors.map((e) => e.originalError) };
}

const open: RateLimiter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function memoryLimiter(): Promise<RateLimiter> {
  const limiter = await createRateLimiter({ environment: 'production', rateLimit: { scale: 1 }, redis: { url: undefined } }, testDeps());
  open.push(limiter);
  return limiter;
}

describe('GraphQL field limiter', () => {
  it('counts N aliased mutations in one request as N', async () => {
    const limiter = await memoryLimiter();
    const { errors, originals } = await run(limiter, freshSubject(), 15);
    // Mutation fields run serially: the first 12 pass, the last 3 are limited.
    expect(errors).toHaveLength(3);
    expect(errors.map((e) => e.path?.[0])).toEqual(['c12', 'c13', 'c14']);
    for (const original of originals) {
      expect(original).toBeInstanceOf(RateLimitExceededError);
      expect((original as RateLimitExceededError).retryAfterSeconds).toBeGreaterThanOrEqual(299);
    }
  });

  it('draws from the same counters as consume()', async () => {
    const limiter = await memoryLimiter();
    const subject = freshSubject();
    expect((await consumeTimes(limiter, 'mcp_create_connection', subject, 10)).allowed).toBe(10);
    const { errors } = await run(limiter, subject, 5);
    expect(errors).toHaveLength(3);
    // and the other way round: GraphQL's calls count for REST.
    const other = freshSubject();
    await run(limiter, other, 12);
    await expect(limiter.consume('mcp_create_connection', other)).rejects.toBeInstanceOf(RateLimitExceededError);
  });

  it('passes a limiter failure through as 503, never as success', async () => {
    const limiter = await createRateLimiter(
      { environment: 'production', rateLimit: { scale: 1 }, redis: { url: undefined } },
      {
        ...testDeps(),
        memoryStore: {
          kind: 'memory',
          count: async () => {
            throw new Error('boom');
          },
        },
      },
    );
    open.push(limiter);
    const { result, originals } = await run(limiter, freshSubject(), 2);
    expect(result.data).toEqual({ c0: null, c1: null });
    expect(originals).toHaveLength(2);
    for (const original of originals) expect(original).toBeInstanceOf(ServiceUnavailableError);
  });

  it('does not limit in the test environment', async () => {
    const limiter = await createRateLimiter({ environment: 'test', rateLimit: { scale: 1 }, redis: { url: undefined } }, testDeps());
    open.push(limiter);
    const { errors } = await run(limiter, freshSubject(), 30);
    expect(errors).toEqual([]);
  });

  describe('on Redis', () => {
    let server: RedisTestServer;
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(async () => {
      await server.stop();
    });

    it('shares one budget between GraphQL on one instance and REST on another', async () => {
      const deps = testDeps();
      const graphqlInstance = await createRateLimiter(
        { environment: 'production', rateLimit: { scale: 1 }, redis: { url: server.url } },
        deps,
      );
      const restInstance = await createRateLimiter(
        { environment: 'production', rateLimit: { scale: 1 }, redis: { url: server.url } },
        testDeps(),
      );
      open.push(graphqlInstance, restInstance);
      const subject = freshSubject();
      expect((await consumeTimes(restInstance, 'mcp_create_connection', subject, 4)).allowed).toBe(4);
      const { errors } = await run(graphqlInstance, subject, 10);
      expect(errors).toHaveLength(2);
      expect(errors.every((e) => e.originalError instanceof RateLimitExceededError)).toBe(true);
    });
  });
});
