/**
 * The served OpenAPI document is written by hand (src/rest/openapi.ts); this file keeps it honest
 * against the running gateway: the same routes, the same required body fields and query bounds,
 * the same authentication, and a document a real OpenAPI 3 validator accepts.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { registeredRoutes, type Route } from '../helpers/registered-routes.js';

/** Routes outside the REST description, each with the document that describes it instead. */
const NOT_REST = new Set([
  'GET /graphql', // GraphQL door: schema/schema.graphql
  'POST /graphql',
  'POST /mcp', // MCP door (Streamable HTTP): README "The MCP endpoint"
  'GET /mcp',
  'DELETE /mcp',
  'POST /mcp/connections/:id', // MCP passthrough door: README "One connection passed through"
  'GET /mcp/connections/:id',
  'DELETE /mcp/connections/:id',
  'GET /.well-known/oauth-protected-resource', // RFC 9728 metadata of the MCP door
  'GET /.well-known/oauth-protected-resource/mcp',
  'GET /', // the dashboard (SPEC §12): README "Dashboard"
  'GET /assets/:name',
]);

/** A valid value for each documented body property, to send it without tripping its own validation. */
const EXAMPLES: Record<string, (agent: TestAgent) => unknown> = {
  server_name: () => 'drift-check',
  url: () => `http://127.0.0.1:${closedPort}/mcp`,
  timeout: () => 5,
  namespace: (agent) => agent.namespace,
  agent_id: (agent) => agent.id,
  headers: () => ({ 'X-Api-Key': 'drift' }),
  arguments: () => ({}),
  definition_hash: () => '0'.repeat(64),
};

interface Operation {
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Record<string, unknown> }>;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
}
type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

let gw: TestGateway;
let http: FastifyInstance;
let agent: TestAgent;
let doc: OpenApiDocument;
let closedPort: number;

beforeAll(async () => {
  gw = await startGateway();
  http = gw.gateway.http;
  agent = await gw.agent('openapi-drift-agent', 'openapi-drift');
  // Nothing listens there: a body that passes validation fails fast with 502, creating nothing.
  closedPort = await freePort();
  const served = await http.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  expect(served.statusCode).toBe(200);
  doc = served.json<OpenApiDocument>();
});
afterAll(async () => gw?.close());

/** Every documented operation as `METHOD /fastify/:style/path`, with its document entry. */
function documentedOperations(): Array<{ route: Route; path: string; operation: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      route: { method: method.toUpperCase(), url: path.replace(/\{([^}]+)\}/g, ':$1') },
      path,
      operation,
    })),
  );
}

const key = (route: Route) => `${route.method} ${route.url}`;

/** A concrete URL for a documented path (unknown id: validation runs before any lookup). */
function concrete(path: string): string {
  return path.replace('{id}', '00000000-0000-4000-8000-000000000000').replace('{tool_name}', 'echo');
}

function bodySchemaOf(operation: Operation): { required: string[]; properties: string[]; additionalProperties?: unknown } | undefined {
  let schema = operation.requestBody?.content['application/json']?.schema;
  if (!schema) return undefined;
  if (typeof schema.$ref === 'string') schema = doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]!;
  return {
    required: (schema.required as string[] | undefined) ?? [],
    properties: Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {}),
    additionalProperties: schema.additionalProperties,
  };
}

function exampleBody(properties: string[]): Record<string, unknown> {
  return Object.fromEntries(
    properties.map((name) => {
      const example = EXAMPLES[name];
      if (!example) throw new Error(`No example value for the documented body property '${name}': add one to EXAMPLES`);
      return [name, example(agent)];
    }),
  );
}

/** `token: null` sends no Authorization header. */
async function send(method: string, url: string, body?: unknown, token: string | null = agent.token) {
  const response = await http.inject({
    method: method as 'GET',
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  const json = String(response.headers['content-type']).startsWith('application/json');
  const parsed = json ? response.json<{ error_code?: string; details?: { field?: string } }>() : {};
  return { status: response.statusCode, body: parsed };
}

describe('the OpenAPI document matches the registered routes', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every registered route, and documents no route that does not exist', () => {
    const registered = registeredRoutes(http)
      .map(key)
      .filter((route) => !NOT_REST.has(route));
    const documented = documentedOperations().map(({ route }) => key(route));
    expect([...registered].sort()).toEqual([...documented].sort());
  });

  it('marks a route public exactly when it answers without a token', async () => {
    for (const { route, path, operation } of documentedOperations()) {
      const { status } = await send(route.method, concrete(path), route.method === 'POST' ? {} : undefined, null);
      const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
      if (isPublic) expect(status, key(route)).not.toBe(401);
      else {
        expect(status, key(route)).toBe(401);
        expect(Object.keys(operation.responses), key(route)).toContain('401');
      }
    }
  });
});

describe('documented request bodies match the validation', () => {
  const withBodies = () => documentedOperations().filter(({ operation }) => bodySchemaOf(operation));

  it('refuses a body without each documented required field, naming it, with a documented 400', async () => {
    for (const { route, path, operation } of withBodies()) {
      const schema = bodySchemaOf(operation)!;
      for (const missing of schema.required) {
        const body = exampleBody(schema.required.filter((name) => name !== missing));
        const answer = await send(route.method, concrete(path), body);
        expect(
          { status: answer.status, code: answer.body.error_code, field: answer.body.details?.field },
          `${key(route)} without ${missing}`,
        ).toEqual({
          status: 400,
          code: 'VALIDATION_ERROR',
          field: missing,
        });
        expect(Object.keys(operation.responses)).toContain('400');
      }
    }
  });

  it('requires nothing beyond the documented required fields, and knows every documented property', async () => {
    for (const { route, path, operation } of withBodies()) {
      const schema = bodySchemaOf(operation)!;
      const optional = schema.properties.filter((name) => !schema.required.includes(name));
      for (const extra of [undefined, ...optional]) {
        const body = exampleBody([...schema.required, ...(extra ? [extra] : [])]);
        const answer = await send(route.method, concrete(path), body);
        // Past validation the call fails for other reasons (unknown id, closed upstream port): what matters is that
        // validation did not refuse a field the document allows, nor miss one it does not ask for.
        const refusal = answer.body.error_code === 'VALIDATION_ERROR' ? answer.body.details : undefined;
        expect(refusal, `${key(route)} with ${extra ?? 'only the required fields'}`).toBeUndefined();
      }
    }
  });

  it('refuses an undocumented body property when the document says additionalProperties: false', async () => {
    for (const { route, path, operation } of withBodies()) {
      const schema = bodySchemaOf(operation)!;
      if (schema.additionalProperties !== false) continue;
      const answer = await send(route.method, concrete(path), { ...exampleBody(schema.required), undocumented_field: 1 });
      expect({ status: answer.status, field: answer.body.details?.field }, key(route)).toEqual({
        status: 400,
        field: 'undocumented_field',
      });
    }
  });
});

describe('documented query parameters match the validation', () => {
  const queried = () =>
    documentedOperations().flatMap(({ route, path, operation }) =>
      (operation.parameters ?? []).filter((p) => p.in === 'query').map((parameter) => ({ route, path, operation, parameter })),
    );

  it('has query parameters to check', () => {
    expect(queried().length).toBeGreaterThan(0);
  });

  it('accepts each documented bound and enum value, refuses one step outside, naming the parameter', async () => {
    for (const { route, path, parameter } of queried()) {
      const { maximum, minimum, enum: allowed } = parameter.schema as { maximum?: number; minimum?: number; enum?: string[] };
      const required = queried()
        .filter((q) => q.path === path && q.route.method === route.method && q.parameter.required && q.parameter.name !== parameter.name)
        .map((q) => `${q.parameter.name}=x`);
      const invalid = [
        ...(maximum !== undefined ? [String(maximum + 1)] : []),
        ...(minimum !== undefined ? [String(minimum - 1)] : []),
        ...(allowed ? ['not-a-documented-value'] : []),
      ];
      const valid = [maximum, minimum, ...(allowed ?? [])].filter((v) => v !== undefined).map(String);
      const ask = (value: string) =>
        send(route.method, `${concrete(path)}?${[...required, `${parameter.name}=${encodeURIComponent(value)}`].join('&')}`);
      for (const value of invalid) {
        const answer = await ask(value);
        expect({ status: answer.status, field: answer.body.details?.field }, `${key(route)} ${parameter.name}=${value}`).toEqual({
          status: 400,
          field: parameter.name,
        });
      }
      for (const value of valid) {
        const answer = await ask(value);
        expect(answer.body.details?.field, `${key(route)} ${parameter.name}=${value}`).not.toBe(parameter.name);
      }
    }
  });

  it('refuses a request without each documented required query parameter, naming it', async () => {
    for (const { route, path, parameter } of queried().filter((q) => q.parameter.required)) {
      const answer = await send(route.method, concrete(path));
      expect({ status: answer.status, field: answer.body.details?.field }, key(route)).toEqual({ status: 400, field: parameter.name });
    }
  });
});
