import type { Tool } from '@modelcontextprotocol/sdk/types.js';

export const SEARCH_TOOLS = 'search_tools';
export const CALL_TOOL = 'call_tool';

/** Names no aggregated tool may take (they never contain `__`, but a guard costs nothing). */
export const META_TOOL_NAMES: ReadonlySet<string> = new Set([SEARCH_TOOLS, CALL_TOOL]);

/**
 * The meta-tools (SPEC §11): with hundreds of tools a client lists only these
 * (`/mcp?tools=search`), finds what it needs by meaning, and calls it by name.
 */
export const META_TOOLS: readonly Tool[] = [
  {
    name: SEARCH_TOOLS,
    title: 'Search tools',
    description:
      'Semantic search over the tools of all your live connections. Returns tool names callable on this endpoint ' +
      `(directly, or through ${CALL_TOOL}), best match first.`,
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 1000, description: 'What the tool should do, in words' },
        limit: { type: 'integer', minimum: 1, maximum: 50, default: 10, description: 'How many matches at most' },
      },
      required: ['query'],
    },
    outputSchema: {
      type: 'object',
      properties: {
        results: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              description: { type: ['string', 'null'] },
              score: { type: 'number' },
            },
            required: ['name', 'description', 'score'],
          },
        },
      },
      required: ['results'],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: CALL_TOOL,
    title: 'Call a tool by name',
    description: `Calls one of your tools by the name ${SEARCH_TOOLS} returned, with its arguments; answers exactly what that tool answers.`,
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, description: 'A tool name from search_tools' },
        arguments: { type: 'object', description: "The tool's arguments", additionalProperties: true },
      },
      required: ['name'],
    },
  },
];
