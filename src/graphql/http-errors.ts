import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { knownErrorOf, setErrorHeaders } from '../http/server.js';
import type { Services } from '../services/container.js';
import { mapError } from './errors.js';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

/**
 * The error handler of the `/graphql` route: what Fastify refuses before
 * Yoga runs (a body that is not JSON, nested too deep, larger than the limit)
 * is answered in the GraphQL format a client library parses —
 * `{"errors":[{"message","extensions":{"code","details"}}]}` — with the same
 * status, code and details the REST body would carry, as
 * `application/graphql-response+json` when the client accepts it (GraphQL
 * over HTTP), else `application/json`.
 */
export function graphqlRouteErrorHandler(logger: Services['logger']) {
  return async (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const known = await knownErrorOf(error, request, reply, logger);
    const shaped = mapError(known, request.id).error;
    setErrorHeaders(reply, known);
    const type = (request.headers.accept ?? '').includes(GRAPHQL_RESPONSE) ? GRAPHQL_RESPONSE : 'application/json';
    return reply
      .code(known.httpStatus)
      .type(`${type}; charset=utf-8`)
      .send(JSON.stringify({ errors: [shaped.toJSON()] }));
  };
}
