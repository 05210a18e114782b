import type { FastifyInstance } from 'fastify';
import { mediaTypeOf } from '../common/media-type.js';
import type { Services } from '../services/container.js';
import { graphqlRouteErrorHandler } from './http-errors.js';
import { JsonDocument, jsonPostAnswerer, type JsonPostAnswer } from './json-post.js';
import { attachGraphQLWebSocket } from './websocket.js';
import { createGatewayYoga, GRAPHQL_PATH } from './yoga.js';

/**
 * Serves the GraphQL API on the shared Fastify server: `/graphql` over HTTP
 * (GET, POST; GraphQL over SSE with `accept: text/event-stream`) and over
 * WebSocket (graphql-ws). Fastify's hooks still apply — request id, security
 * headers, CORS, body limit, metrics — because Yoga runs inside a route.
 */
export async function mountGraphQL(
  http: FastifyInstance,
  services: Services,
  options: { jsonPostPath?: boolean } = {},
): Promise<{ close(): Promise<void> }> {
  const yoga = createGatewayYoga(services);
  const answerJsonPost = options.jsonPostPath === false ? async () => undefined : jsonPostAnswerer(yoga, services);

  http.route({
    url: GRAPHQL_PATH,
    method: ['GET', 'POST', 'OPTIONS'],
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Fastify awaits the promise a route's errorHandler returns (as setErrorHandler's); the option's type says void.
    errorHandler: graphqlRouteErrorHandler(services.logger),
    handler: async (request, reply) => {
      const answer: JsonPostAnswer | undefined =
        (await answerJsonPost(request)) ??
        // Fastify has parsed the body and the query already: Yoga gets the raw request with that body and
        // without `query`, which whatwg-node would otherwise merge back into a freshly parsed URL per request.
        (await yoga.handleNodeRequestAndResponse(
          {
            raw: request.raw,
            method: request.method,
            headers: request.headers,
            body: bodyForYoga(request.body, request.headers['content-type']),
          },
          reply,
          { req: request, reply },
        ));
      if (answer instanceof JsonDocument) {
        reply.header('content-type', answer.mediaType);
        return reply.status(answer.status).send(answer.body);
      }
      const response = notAcceptableWithBody(answer);
      response.headers.forEach((value, key) => {
        reply.header(key, value);
      });
      reply.status(response.status);
      // Subscriptions and incremental delivery stream; everything else is one small JSON document,
      // sent as a string rather than piped through a web stream per request.
      if (isStreamed(response)) return reply.send(response.body);
      return reply.send(await response.text());
    },
  });

  const websocket = attachGraphQLWebSocket(http.server, yoga, services);
  return {
    async close() {
      await websocket.close();
      await yoga.dispose();
    },
  };
}

/**
 * whatwg-node takes a parsed body as such only when it is an object with at
 * least one key; for anything else it reads the request stream, which Fastify
 * has consumed, and Yoga would call `{}`, `[]` or `null` "invalid JSON". Those
 * go back to Yoga as their JSON text, so the answer says what is wrong with
 * them. Text and bytes of other media types pass unchanged.
 */
function bodyForYoga(body: unknown, contentType: string | undefined): unknown {
  if (body === undefined || body instanceof Uint8Array) return body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length > 0) return body;
  if (typeof body === 'string' && !mediaTypeOf(contentType)?.endsWith('json')) return body;
  return JSON.stringify(body);
}

/**
 * Yoga answers an `Accept` it cannot serve with an empty 406; give it a body
 * in the GraphQL error format with a documented code, like every other refusal.
 */
function notAcceptableWithBody(response: Response): Response {
  if (response.status !== 406 || response.body !== null) return response;
  const body = {
    errors: [
      {
        message:
          'Not acceptable: the response is available as application/graphql-response+json, application/json, text/event-stream or multipart/mixed (UTF-8)',
        extensions: { code: 'VALIDATION_ERROR', details: { reason: 'not_acceptable' } },
      },
    ],
  };
  const headers = new Headers(response.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.delete('content-length');
  return new Response(JSON.stringify(body), { status: 406, headers });
}

function isStreamed(response: Response): boolean {
  const type = mediaTypeOf(response.headers.get('content-type'));
  return type === 'text/event-stream' || type === 'multipart/mixed';
}
