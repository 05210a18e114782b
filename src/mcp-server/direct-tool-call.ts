import type { FastifyReply, FastifyRequest } from 'fastify';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { callTool, type AggregatedServerContext } from './aggregated-server.js';
import { copyReplyHeaders } from './http-answers.js';

/** A `tools/call` request the gateway answers without an SDK `Server`. */
export interface PlainToolCall {
  id: string | number;
  name: string;
  arguments: Record<string, unknown>;
}

const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const PARAMS_KEYS: ReadonlySet<string> = new Set(['name', 'arguments']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

/** The headers the SDK's Streamable HTTP transport requires of a POST: Accept, Content-Type, protocol version. */
function transportAccepts(request: FastifyRequest): boolean {
  const { headers } = request;
  const accept = headers.accept;
  if (typeof accept !== 'string' || !accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
  if (!isJsonContentType(headers['content-type'])) return false;
  const version = headers['mcp-protocol-version'];
  return version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version));
}

/**
 * The POST that almost every `/mcp` request is — one `tools/call`, asking for
 * no progress and no task — when the SDK's Streamable HTTP transport would
 * accept it as it stands (Accept, Content-Type, protocol version, JSON-RPC
 * shape and `CallToolRequestSchema`). Anything else (a batch, `_meta`, an
 * unusual id, a header the transport would refuse) is `undefined` and goes the
 * SDK's way, which then answers exactly as it always has.
 */
export function plainToolCall(request: FastifyRequest): PlainToolCall | undefined {
  if (!transportAccepts(request)) return undefined;
  const body = request.body;
  if (!isPlainObject(body) || !onlyKeys(body, REQUEST_KEYS)) return undefined;
  const { jsonrpc, id, method, params } = body;
  if (jsonrpc !== '2.0' || method !== 'tools/call') return undefined;
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  if (!isPlainObject(params) || !onlyKeys(params, PARAMS_KEYS) || typeof params.name !== 'string') return undefined;
  const args = params.arguments;
  if (args !== undefined && !isPlainObject(args)) return undefined;
  return { id: id as string | number, name: params.name, arguments: args ?? {} };
}

/**
 * Why one `tools/call` request's params are not what MCP allows (`name` a
 * string, `arguments` an object when given), or undefined. The SDK would
 * answer it as an internal error (-32603) whose message is its validator's
 * dump; the gateway answers it as the invalid-params error it is (-32602).
 */
export function toolCallParamsProblem(request: FastifyRequest): { id: string | number; problem: string } | undefined {
  const { body } = request;
  if (!isPlainObject(body) || body.jsonrpc !== '2.0' || body.method !== 'tools/call') return undefined;
  // What the transport refuses first (Accept, Content-Type, protocol version) stays the SDK's answer.
  if (!transportAccepts(request)) return undefined;
  const { id, params } = body;
  // Without an id it is a notification, which nobody is answered for.
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  const problem = !isPlainObject(params)
    ? 'params must be an object naming the tool'
    : typeof params.name !== 'string'
      ? 'params.name must be a string: the tool to call'
      : params.arguments !== undefined && !isPlainObject(params.arguments)
        ? 'params.arguments must be an object'
        : undefined;
  return problem === undefined ? undefined : { id: id as string | number, problem };
}

/** The JSON-RPC invalid-params answer to a `tools/call` (see toolCallParamsProblem), as the SDK writes an error answer. */
export function answerInvalidToolCall(reply: FastifyReply, invalid: { id: string | number; problem: string }): FastifyReply {
  const error = { code: ErrorCode.InvalidParams, message: `Invalid params: ${invalid.problem}` };
  return reply.code(200).type('application/json').send({ jsonrpc: '2.0', id: invalid.id, error });
}

/**
 * Answers a plain `tools/call` with what the SDK's `Server` and stateless
 * transport would send — the same handler (aggregated-server.ts), the same
 * JSON-RPC response or error object, the same `200 application/json` answer —
 * without building a `Server`, a transport, a web `Request` and `Response`
 * and zod-parsing the message three times per request: that was most of the
 * gateway's CPU per call on `/mcp` beyond what REST spends.
 */
export async function answerPlainToolCall(reply: FastifyReply, ctx: AggregatedServerContext, call: PlainToolCall): Promise<void> {
  reply.hijack();
  copyReplyHeaders(reply, reply.raw);
  let message: Record<string, unknown>;
  try {
    const extra = { requestId: call.id, _meta: undefined, sendNotification: async () => undefined };
    const result = await callTool(ctx, call.name, call.arguments, extra);
    message = { result, jsonrpc: '2.0', id: call.id };
  } catch (error) {
    message = { jsonrpc: '2.0', id: call.id, error: jsonRpcError(error) };
  }
  const raw = reply.raw;
  // A client that went away gets nothing, as from the SDK (its request handler is aborted on close).
  if (raw.destroyed) return;
  const body = JSON.stringify(message);
  // The header names, their case and order as the SDK's HTTP adapter (@hono/node-server) writes a JSON answer.
  raw.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  raw.end(body);
}

/** The SDK's rendering of a request handler's failure (Protocol#_onrequest). */
function jsonRpcError(error: unknown): Record<string, unknown> {
  const { code, message, data } = (error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
  return {
    code: Number.isSafeInteger(code) ? code : ErrorCode.InternalError,
    message: message ?? 'Internal error',
    ...(data !== undefined && { data }),
  };
}
