import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';

/**
 * A small, fully controllable MCP server (Streamable HTTP, stateful sessions)
 * for tests of everything that talks to upstreams: the MCP pool, REST execute,
 * GraphQL executeTool, the benchmark.
 *
 * ```ts
 * const upstream = await startTestUpstream({ bulkTools: 250, pageSize: 100 });
 * // connect a gateway/pool to upstream.url  (http://127.0.0.1:<port>/mcp)
 * upstream.state().cancellations;          // what the server saw
 * upstream.addTool('fresh');               // + notifications/tools/list_changed to every session
 * await upstream.expireSessions();         // server forgets sessions → 404 on the old id
 * await upstream.stop();
 * ```
 * It is built on the low-level SDK `Server` (not McpServer) because tests need
 * what McpServer hides: paginated `tools/list`, tools added and removed at run
 * time across all sessions, and raw JSON Schemas.
 *
 * Tools (always present):
 * | tool            | arguments                         | behaviour                                                  |
 * |-----------------|-----------------------------------|------------------------------------------------------------|
 * | `echo`          | `{ message: string }`             | text content = message                                     |
 * | `add`           | `{ a: number, b: number }`        | `structuredContent {sum}` (+ outputSchema) and text        |
 * | `fail`          | `{ message?: string }`            | `isError: true` with the message                            |
 * | `slow`          | `{ ms?: 1000, steps?: 0, total?: true }` | waits `ms`, sending `steps` progress notifications (with `total: false`, counts without a total); honours cancellation (counted in `state().cancellations`) |
 * | `cancellations` | `{}`                              | `structuredContent {count}`: cancellations seen so far     |
 * | `crash`         | `{}`                              | the server dies mid-call (child process: `process.exit(1)`) |
 * | `meta`          | `{}`                              | a result with `_meta`, annotations, a resource link and extension fields |
 * plus `bulk-000…` (`bulkTools`) and whatever `addTool()` added.
 *
 * Side endpoints (for child processes): `GET /_test/state`,
 * `POST /_test/tools?add=NAME` / `?remove=NAME`, `POST /_test/expire-sessions`.
 */
export interface TestUpstreamOptions {
  /** @default a free port chosen by the OS */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** MCP endpoint path. @default '/mcp' */
  path?: string;
  /** Number of extra generated tools (`bulk-000`, …), e.g. 250 for pagination tests. @default 0 */
  bulkTools?: number;
  /** tools/list page size; undefined = one page with everything. */
  pageSize?: number;
  /** Every MCP request must carry these headers, else 401 (counted in `state().unauthorized`). */
  requiredHeaders?: Record<string, string>;
  /** Answer every MCP request with this redirect instead. */
  redirect?: { status?: number; location: string };
  /** Answer POSTs with plain JSON instead of SSE streams. @default false */
  jsonResponse?: boolean;
  /** What `crash` does. @default drop every socket and stop listening */
  onCrash?: () => void;
}

export interface TestUpstreamState {
  /** MCP HTTP requests (POST/GET/DELETE on the MCP path). */
  requests: number;
  /** Requests refused for missing `requiredHeaders`. */
  unauthorized: number;
  /** TCP connections accepted (includes side-endpoint traffic). */
  connections: number;
  sessionsOpened: number;
  /** Sessions ended by the client's DELETE. */
  sessionsDeleted: number;
  activeSessions: number;
  cancellations: number;
  cancelReasons: string[];
  /** tools/call count per tool name. */
  calls: Record<string, number>;
}

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  state(): TestUpstreamState;
  /** Adds a tool answering `result` (default: its own name as text) and notifies every live session. */
  addTool(name: string, description?: string, result?: CallToolResult): void;
  removeTool(name: string): void;
  /** Closes every session server-side: further requests with an old session id get 404. */
  expireSessions(): Promise<void>;
  stop(): Promise<void>;
}

type Handler = (args: Record<string, unknown>, extra: ToolExtra) => Promise<CallToolResult>;
interface ToolExtra {
  signal: AbortSignal;
  progressToken: string | number | undefined;
  notifyProgress(progress: number, total?: number, message?: string): Promise<void>;
}
interface ToolDef {
  tool: Tool;
  run: Handler;
}

const objectSchema = (properties: Record<string, object> = {}, required: string[] = []): Tool['inputSchema'] => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
});

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolveDelay) => {
    if (signal.aborted) return resolveDelay(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolveDelay(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolveDelay(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function builtinTools(state: TestUpstreamState, crash: () => void): ToolDef[] {
  return [
    {
      tool: {
        name: 'echo',
        description: 'Echoes the message back',
        inputSchema: objectSchema({ message: { type: 'string' } }, ['message']),
      },
      run: async (args) => text(String(args.message)),
    },
    {
      tool: {
        name: 'add',
        title: 'Add two numbers',
        description: 'Adds a and b, with structured output',
        inputSchema: objectSchema({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
        outputSchema: objectSchema({ sum: { type: 'number' } }, ['sum']),
        annotations: { readOnlyHint: true },
      },
      run: async (args) => {
        const sum = Number(args.a) + Number(args.b);
        return { content: [{ type: 'text', text: JSON.stringify({ sum }) }], structuredContent: { sum } };
      },
    },
    {
      tool: { name: 'fail', description: 'Always reports a tool error', inputSchema: objectSchema({ message: { type: 'string' } }) },
      run: async (args) => ({ ...text(String((args.message as string | undefined) ?? 'tool failed')), isError: true }),
    },
    {
      tool: {
        name: 'slow',
        description: 'Waits, reporting progress; stops when cancelled',
        inputSchema: objectSchema({ ms: { type: 'number' }, steps: { type: 'number' }, total: { type: 'boolean' } }),
      },
      run: async (args, extra) => {
        const ms = Number(args.ms ?? 1_000);
        const steps = Number(args.steps ?? 0);
        const total = args.total === false ? undefined : steps;
        const rounds = Math.max(steps, 1);
        for (let i = 1; i <= rounds; i++) {
          if (!(await delay(ms / rounds, extra.signal))) {
            state.cancellations += 1;
            state.cancelReasons.push(String(extra.signal.reason));
            return text('cancelled');
          }
          if (steps > 0) await extra.notifyProgress(i, total, `step ${i} of ${steps}`);
        }
        return text(`slept ${ms} ms`);
      },
    },
    {
      tool: { name: 'cancellations', description: 'How many calls were cancelled so far', inputSchema: objectSchema() },
      run: async () => ({ ...text(String(state.cancellations)), structuredContent: { count: state.cancellations } }),
    },
    {
      tool: { name: 'crash', description: 'The server dies while answering', inputSchema: objectSchema() },
      run: async (_args, extra) => {
        await extra.notifyProgress(1, 2, 'about to crash');
        setTimeout(crash, 20);
        await new Promise(() => undefined); // never answers
        return text('unreachable');
      },
    },
    {
      tool: {
        name: 'meta',
        description: 'Result with _meta, annotations, a resource link and an extension field',
        inputSchema: objectSchema(),
      },
      run: async () => ({
        content: [
          { type: 'text', text: 'hello', annotations: { audience: ['user'] } },
          { type: 'resource_link', uri: 'file:///report.txt', name: 'report' },
        ],
        _meta: { 'example.com/trace': 'abc' },
        'x-result-extension': true,
      }),
    },
  ];
}

function bulkTool(index: number): ToolDef {
  const name = `bulk-${String(index).padStart(3, '0')}`;
  return {
    tool: { name, description: `Generated tool number ${index}`, inputSchema: objectSchema() },
    run: async () => text(name),
  };
}

function dynamicTool(name: string, description: string, result: CallToolResult = text(name)): ToolDef {
  return { tool: { name, description, inputSchema: objectSchema() }, run: async () => result };
}

export async function startTestUpstream(options: TestUpstreamOptions = {}): Promise<TestUpstream> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const state: TestUpstreamState = {
    requests: 0,
    unauthorized: 0,
    connections: 0,
    sessionsOpened: 0,
    sessionsDeleted: 0,
    activeSessions: 0,
    cancellations: 0,
    cancelReasons: [],
    calls: {},
  };
  const sockets = new Set<Socket>();
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();

  const crashInProcess = () => {
    for (const socket of sockets) socket.destroy();
    http.close();
  };
  const catalogue = new Map<string, ToolDef>();
  for (const def of builtinTools(state, options.onCrash ?? crashInProcess)) catalogue.set(def.tool.name, def);
  for (let i = 0; i < (options.bulkTools ?? 0); i++) {
    const def = bulkTool(i);
    catalogue.set(def.tool.name, def);
  }

  const notifyToolsChanged = () => {
    for (const { server } of sessions.values()) void server.sendToolListChanged().catch(() => undefined);
  };

  const buildServer = (): Server => {
    const server = new Server({ name: 'tmws-test-upstream', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.setRequestHandler(ListToolsRequestSchema, async (request) => {
      const all = [...catalogue.values()].map((d) => d.tool);
      const size = options.pageSize ?? all.length;
      const offset = request.params?.cursor === undefined ? 0 : Number(request.params.cursor);
      if (!Number.isInteger(offset) || offset < 0 || offset > all.length) {
        throw new McpError(ErrorCode.InvalidParams, 'invalid cursor');
      }
      const next = offset + size;
      return { tools: all.slice(offset, next), ...(next < all.length ? { nextCursor: String(next) } : {}) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const { name } = request.params;
      const def = catalogue.get(name);
      if (!def) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      state.calls[name] = (state.calls[name] ?? 0) + 1;
      const progressToken = request.params._meta?.progressToken;
      return def.run(request.params.arguments ?? {}, {
        signal: extra.signal,
        progressToken,
        notifyProgress: async (progress, total, message) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) },
          });
        },
      });
    });
    return server;
  };

  const hasRequiredHeaders = (req: IncomingMessage): boolean =>
    Object.entries(options.requiredHeaders ?? {}).every(([k, v]) => req.headers[k.toLowerCase()] === v);

  const expireSessions = async () => {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map(({ transport }) => transport.close().catch(() => undefined)));
  };

  const handleSide = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname === '/_test/state') return reply(200, { ...state, activeSessions: sessions.size });
    if (url.pathname === '/_test/tools' && req.method === 'POST') {
      const add = url.searchParams.get('add');
      const remove = url.searchParams.get('remove');
      if (add) handle.addTool(add);
      if (remove) handle.removeTool(remove);
      return reply(200, { tools: [...catalogue.keys()] });
    }
    if (url.pathname === '/_test/expire-sessions' && req.method === 'POST') {
      void expireSessions().then(() => reply(200, { expired: true }));
      return;
    }
    reply(404, { error: 'unknown test endpoint' });
  };

  const handleMcp = async (req: IncomingMessage, res: ServerResponse) => {
    state.requests += 1;
    if (options.redirect) {
      res.writeHead(options.redirect.status ?? 307, { location: options.redirect.location }).end();
      return;
    }
    if (!hasRequiredHeaders(req)) {
      state.unauthorized += 1;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) {
        // What the MCP spec prescribes for an unknown/expired session.
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      await session.transport.handleRequest(req, res);
      return;
    }
    const server = buildServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: options.jsonResponse ?? false,
      onsessioninitialized: (id) => {
        state.sessionsOpened += 1;
        sessions.set(id, { transport, server });
      },
      onsessionclosed: (id) => {
        state.sessionsDeleted += 1;
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };

  const http: HttpServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream.test');
    if (url.pathname.startsWith('/_test/')) return handleSide(req, res, url);
    if (url.pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    handleMcp(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  http.on('connection', (socket: Socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolveListen());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const handle: TestUpstream = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    port,
    state: () => ({ ...state, activeSessions: sessions.size, calls: { ...state.calls } }),
    addTool(name, description = `Dynamically added tool ${name}`, result) {
      catalogue.set(name, dynamicTool(name, description, result));
      notifyToolsChanged();
    },
    removeTool(name) {
      if (catalogue.delete(name)) notifyToolsChanged();
    },
    expireSessions,
    async stop() {
      await expireSessions();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolveClose) => http.close(() => resolveClose()));
    },
  };
  return handle;
}
