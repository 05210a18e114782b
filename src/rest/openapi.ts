/** OpenAPI 3.1 description of the v2.3.0 REST bridge, served at /api/v1/openapi.json. */
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const limitedHeaders = {
  'X-RateLimit-Limit': { schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { schema: { type: 'integer' } },
  'X-RateLimit-Reset': { schema: { type: 'integer' }, description: 'seconds until the window resets' },
};
const common = {
  '401': errorResponse('AUTHENTICATION_ERROR: missing, invalid or expired token, or inactive agent'),
  '403': errorResponse('AUTHORIZATION_ERROR: the resource belongs to another agent or namespace'),
};
const limited = {
  '429': errorResponse('RATE_LIMIT_EXCEEDED (Retry-After header)'),
  '503': errorResponse('SERVICE_UNAVAILABLE: the rate limiter could not decide (fail-secure)'),
};
const connectionResponse = (description: string) => ({
  description,
  headers: limitedHeaders,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Connection' } } },
});

/** Approve and reject take the same body and answer alike. */
function toolDecision(summary: string) {
  return {
    post: {
      summary,
      parameters: [idParam, { name: 'tool_name', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              properties: {
                definition_hash: { type: 'string', description: 'decide only if the held definition still has this SHA-256 (hex)' },
              },
            },
          },
        },
      },
      responses: {
        '200': { description: '{connection_id, tool_name, review_state, definition_hash}' },
        '400': errorResponse('VALIDATION_ERROR or TOOL_NOT_FOUND'),
        '403': errorResponse('AUTHORIZATION_ERROR: not an admin, or another namespace'),
        '404': errorResponse('CONNECTION_NOT_FOUND'),
        '409': errorResponse('TOOL_NOT_QUARANTINED: nothing awaits review, or the definition changed since it was shown'),
        '401': common['401'],
      },
    },
  };
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'TMWS Gateway REST bridge', version: '2.3.0' },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (HS256, exp required)' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error_code', 'message', 'details', 'timestamp', 'request_id'],
        properties: {
          error_code: { type: 'string' },
          message: { type: 'string' },
          details: { type: 'object' },
          timestamp: { type: 'string', format: 'date-time' },
          request_id: { type: 'string' },
          retry_after: { type: 'integer', description: 'only on 429' },
        },
      },
      Tool: {
        type: 'object',
        properties: { name: { type: 'string' }, description: { type: ['string', 'null'] }, input_schema: { type: 'object' } },
      },
      Connection: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid' },
          server_name: { type: 'string' },
          status: { enum: ['connecting', 'active', 'disconnected', 'error'] },
          namespace: { type: 'string' },
          agent_id: { type: 'string' },
          url: { type: 'string' },
          config: { type: 'object', properties: { url: { type: 'string' }, timeout: { type: 'integer' } } },
          tools: { type: 'array', items: { $ref: '#/components/schemas/Tool' } },
          error_message: { type: ['string', 'null'] },
          connected_at: { type: ['string', 'null'], format: 'date-time' },
          disconnected_at: { type: ['string', 'null'], format: 'date-time' },
          created_at: { type: 'string', format: 'date-time' },
          updated_at: { type: 'string', format: 'date-time' },
        },
      },
      CreateConnection: {
        type: 'object',
        additionalProperties: false,
        required: ['server_name', 'url'],
        properties: {
          server_name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' },
          url: { type: 'string', format: 'uri', description: 'http or https' },
          timeout: { type: 'integer', minimum: 5, maximum: 300, default: 30 },
          namespace: { type: 'string', description: 'must equal the agent namespace' },
          agent_id: { type: 'string', description: 'must equal the token subject' },
          headers: {
            type: 'object',
            additionalProperties: { type: 'string' },
            description: 'sent upstream; stored encrypted, never returned',
          },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/health': { get: { security: [], responses: { '200': { description: '{"status":"healthy"}' } } } },
    '/health/ready': {
      get: { security: [], responses: { '200': { description: 'ready' }, '503': { description: 'a component is down' } } },
    },
    '/metrics': {
      get: {
        security: [],
        responses: { '200': { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        security: [],
        responses: { '200': { description: 'this document', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/api/v1/mcp/connections': {
      post: {
        summary: 'Connect to an MCP server and list its tools',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateConnection' } } } },
        responses: {
          '201': { ...connectionResponse('created; Location header points to it') },
          '400': errorResponse('VALIDATION_ERROR (details.field; details.reason url_not_allowed for SSRF refusals)'),
          '409': errorResponse('DUPLICATE_CONNECTION, or CONNECTION_LIMIT_REACHED (namespace tool policy: live connections per agent)'),
          '413': errorResponse('PAYLOAD_TOO_LARGE'),
          '502': errorResponse('EXTERNAL_SERVICE_ERROR'),
          ...common,
          ...limited,
        },
      },
      get: {
        summary: "List the caller's connections",
        parameters: [
          { name: 'status', in: 'query', schema: { enum: ['connecting', 'active', 'disconnected', 'error'] } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
        ],
        responses: { '200': { description: '{connections, total}' }, '400': errorResponse('VALIDATION_ERROR'), ...common },
      },
    },
    '/api/v1/mcp/connections/{id}': {
      get: {
        parameters: [idParam],
        responses: { '200': connectionResponse('the connection'), '404': errorResponse('CONNECTION_NOT_FOUND'), ...common },
      },
      delete: {
        parameters: [idParam],
        responses: {
          '204': { description: 'disconnected (idempotent)' },
          '404': errorResponse('CONNECTION_NOT_FOUND'),
          ...common,
          ...limited,
        },
      },
    },
    '/api/v1/mcp/connections/{id}/tools': {
      get: {
        summary: 'Re-list tools from the upstream',
        parameters: [idParam],
        responses: {
          '200': connectionResponse('the connection with fresh tools'),
          '404': errorResponse('CONNECTION_NOT_FOUND'),
          '409': errorResponse('CONNECTION_NOT_ACTIVE'),
          '502': errorResponse('EXTERNAL_SERVICE_ERROR'),
          ...common,
          ...limited,
        },
      },
    },
    '/api/v1/mcp/connections/{id}/tools/{tool_name}/execute': {
      post: {
        parameters: [idParam, { name: 'tool_name', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          content: {
            'application/json': {
              schema: { type: 'object', additionalProperties: false, properties: { arguments: { type: 'object' } } },
            },
          },
        },
        responses: {
          '200': {
            description: '{connection_id, tool_name, execution_id, result: {status, result, content, is_error, execution_time_ms}}',
          },
          '400': errorResponse('VALIDATION_ERROR (arguments violate input_schema) or TOOL_NOT_FOUND'),
          '403': errorResponse(
            'AUTHORIZATION_ERROR (not the owner); TOOL_QUARANTINED (definition changed since approval, flagged or rejected; details.review_state, details.reasons); TOOL_DENIED (namespace tool policy; details.reason)',
          ),
          '404': errorResponse('CONNECTION_NOT_FOUND'),
          '409': errorResponse('CONNECTION_NOT_ACTIVE'),
          '502': errorResponse('EXTERNAL_SERVICE_ERROR'),
          '401': common['401'],
          ...limited,
        },
      },
    },
    '/api/v1/mcp/connections/{id}/tools/{tool_name}/approve': toolDecision(
      'Admins of the namespace: pin the held definition of a quarantined or rejected tool; it is listed and callable again',
    ),
    '/api/v1/mcp/connections/{id}/tools/{tool_name}/reject': toolDecision(
      'Admins of the namespace: refuse the held definition; the tool stays unusable until the upstream lists the pinned one again',
    ),
    '/api/v1/mcp/tools/search': {
      get: {
        parameters: [
          { name: 'q', in: 'query', required: true, schema: { type: 'string', minLength: 1 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50, default: 10 } },
        ],
        responses: {
          '200': { description: '{results: [{connection_id, server_name, tool_name, description, score}]}' },
          '400': errorResponse('VALIDATION_ERROR'),
          '503': errorResponse('SERVICE_UNAVAILABLE: the vector store is down'),
          ...common,
        },
      },
    },
    '/api/v1/admin/rate-limits/statistics': {
      get: { responses: { '200': { description: 'limiter counters of the caller namespace' }, ...common } },
    },
  },
} as const;
