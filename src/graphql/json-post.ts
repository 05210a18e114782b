import type { FastifyRequest } from 'fastify';
import { isAsyncIterable, processRegularResult, type GraphQLParams } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import { headerValue } from '../common/header-value.js';
import { mediaTypeOf } from '../common/media-type.js';
import { callerOf } from '../http/caller.js';
import type { Services } from '../services/container.js';
import { verifyCaller, type GatewayServerContext, type VerifiedCaller } from './caller.js';
import { releaseContext } from './context.js';
import { mapError } from './errors.js';
import type { GatewayYoga } from './yoga.js';

/**
 * What the JSON POST path answers: a ready JSON document (the everyday case),
 * or a `Response` built by Yoga's own result processors (errors, streams, 406).
 */
export type JsonPostAnswer = Response | JsonDocument;

/** A 200 answer whose JSON text is ready to send. */
export class JsonDocument {
  readonly status = 200;
  constructor(
    readonly mediaType: string,
    readonly body: string,
  ) {}
}

/** The request as Yoga's envelope plugins read it (method, headers) without building a whatwg Request. */
interface RequestView {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
}

type ResultProcessor = (result: unknown, fetchAPI: GatewayYoga['fetchAPI'], mediaType: string) => Response | Promise<Response>;

/** The result-processing hooks Yoga runs between executing and answering (graphql-yoga's process-request.js). */
type ResultProcessHook = (payload: {
  request: RequestView;
  acceptableMediaTypes: string[];
  result: unknown;
  setResult(next: unknown): void;
  resultProcessor: ResultProcessor | undefined;
  setResultProcessor(processor: ResultProcessor, mediaType: string): void;
  serverContext: GatewayServerContext;
}) => unknown;

const PARAM_KEYS: ReadonlySet<string> = new Set(['query', 'variables', 'operationName', 'extensions']);

/**
 * The everyday GraphQL request — a POST whose JSON body Fastify has already
 * parsed, from a caller whose token checks out — run through Yoga's envelope
 * (the same parse and validation caches, plugins, context, execution and
 * result processors) without the whatwg-node round trip around it: no
 * `Request` built from the Node request, no `Response` read back into
 * Fastify for a result without errors. That round trip cost about a tenth
 * of a dashboard row's CPU per call (bench/README.md).
 *
 * Anything out of the ordinary answers `undefined`, and mount.ts hands the
 * request to Yoga's full pipeline, which answers it as it always has:
 * another method or media type, unexpected body keys or value types,
 * a token that does not check out (the 401 is built
 * there, once). test/graphql/json-post.test.ts holds both paths to the same
 * bytes.
 */
export function jsonPostAnswerer(yoga: GatewayYoga, services: Services): (request: FastifyRequest) => Promise<JsonPostAnswer | undefined> {
  // Read once: every property read on Yoga's server adapter goes through a Proxy.
  const getResultForParams = yoga.getResultForParams;
  const fetchAPI = yoga.fetchAPI;
  const resultProcessHooks = (yoga as unknown as { onResultProcessHooks: ResultProcessHook[] }).onResultProcessHooks;
  const { trustedProxies } = services.config.http;
  /**
   * The content type Yoga's result processors give a single successful result, by Accept header.
   * Only Yoga's own processors choose (one hook, useResultProcessors), and for a single result
   * their choice depends on the Accept header alone; with any other hook nothing is remembered.
   */
  const successMediaTypes = resultProcessHooks.length === 1 ? new Map<string, string>() : undefined;

  return async (request) => {
    if (request.method !== 'POST' || mediaTypeOf(request.headers['content-type']) !== 'application/json') return undefined;
    const params = graphqlParamsOf(request.body);
    // No depth check of its own: the JSON body parser refuses a body nested deeper than MAX_JSON_DEPTH,
    // so its variables are always shallower, and the envelope's variables guard (onParams) runs anyway.
    if (!params) return undefined;
    const { requestId, clientIp, authorization } = callerOf(request, trustedProxies);
    let caller: VerifiedCaller;
    try {
      caller = await verifyCaller(services, authorization, false);
    } catch {
      return undefined;
    }
    // No `req`/`reply`: the caller is verified already, and the context must not hold the transport (see RequestView).
    const serverContext: GatewayServerContext = { caller, requestId, clientIp };
    const view = new FastifyRequestView(request);
    let result: unknown;
    try {
      result = await getResultForParams({ params, request: view as unknown as Request }, serverContext);
    } catch (error) {
      // Yoga's own pipeline masks what its hooks throw; so does this path, with the same mapping.
      result = { errors: [mapError(error, requestId).error] };
    }

    const accept = request.headers.accept ?? '';
    const known = isPlainSuccess(result) ? successMediaTypes?.get(accept) : undefined;
    if (known !== undefined) {
      const document = successDocument(result as PlainSuccess, known);
      // The everyday answer is complete: nothing reads the context again.
      releaseContext(serverContext);
      return document;
    }

    let processor: ResultProcessor | undefined;
    let mediaType = '*/*';
    const acceptableMediaTypes: string[] = [];
    for (const hook of resultProcessHooks) {
      await hook({
        request: view,
        acceptableMediaTypes,
        result,
        setResult: (next) => (result = next),
        resultProcessor: processor,
        setResultProcessor: (next, type) => {
          processor = next;
          mediaType = type;
        },
        serverContext,
      });
    }
    if (!processor) {
      return new fetchAPI.Response(null, {
        status: 406,
        statusText: 'Not Acceptable',
        headers: { accept: acceptableMediaTypes.join('; charset=utf-8, ') },
      });
    }
    if (processor === processRegularResult && isPlainSuccess(result)) {
      if (successMediaTypes && successMediaTypes.size < MAX_REMEMBERED_ACCEPTS) successMediaTypes.set(accept, mediaType);
      return successDocument(result, mediaType);
    }
    return processor(result, fetchAPI, mediaType);
  };
}

/**
 * The body's GraphQL parameters when they are exactly what Yoga's parameter
 * check accepts without a word; anything else (another key, a value of the
 * wrong type) is left to Yoga, which says what is wrong with it.
 */
function graphqlParamsOf(body: unknown): GraphQLParams | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  for (const key in record) if (!PARAM_KEYS.has(key)) return undefined;
  const { query, variables, operationName, extensions } = record;
  if (typeof query !== 'string' || query.length === 0) return undefined;
  if (variables != null && !isPlainObject(variables)) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (extensions != null && !isPlainObject(extensions)) return undefined;
  return record as GraphQLParams;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Distinct Accept headers whose choice is remembered; clients send a handful. */
const MAX_REMEMBERED_ACCEPTS = 64;

type PlainSuccess = ExecutionResult & { stringify?: (value: unknown) => string };

/** What processRegularResult would build for a plain success, minus the Response object. */
function successDocument(result: PlainSuccess, mediaType: string): JsonDocument {
  const stringify = result.stringify ?? JSON.stringify;
  return new JsonDocument(`${mediaType}; charset=utf-8`, stringify(result));
}

/** A single result with neither errors nor HTTP instructions: 200, and its JSON text as is. */
function isPlainSuccess(result: unknown): result is PlainSuccess {
  if (typeof result !== 'object' || result === null || Array.isArray(result) || isAsyncIterable(result)) return false;
  const { errors, extensions } = result as ExecutionResult;
  return !errors?.length && !(extensions as { http?: unknown } | undefined)?.http;
}

/**
 * The request as Yoga sees it, holding strings and the headers object only —
 * never the Fastify request, its socket or its reply.
 *
 * Why: the GraphQL context (which holds this view) is the key, and inside
 * the value, of long-lived WeakMaps (Pothos's per-request caches). V8's
 * young-generation collector treats WeakMap values as strong, so such a
 * context outlives the scavenges after its request and is promoted to the
 * old generation with everything it references, to wait for a full
 * collection. With the transport out of it, a GraphQL call promoted about
 * half as much (bench/README.md, tenth round).
 *
 * A class rather than an object of closures: one is made per request.
 */
class FastifyRequestView implements RequestView {
  readonly method: string;
  readonly headers: RequestView['headers'];
  private readonly hostname: string;
  private readonly path: string;

  constructor(request: FastifyRequest) {
    this.method = request.method;
    this.headers = new HeaderView(request.headers);
    this.hostname = request.hostname;
    this.path = request.url;
  }

  get url(): string {
    return `http://${this.hostname || 'localhost'}${this.path}`;
  }
}

class HeaderView {
  constructor(private readonly headers: FastifyRequest['headers']) {}

  get(name: string): string | null {
    return headerValue(this.headers, name.toLowerCase());
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }
}
