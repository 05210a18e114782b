import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/** An SDK client on the gateway's `/mcp` (or `/mcp?tools=search`, or a passthrough `path`) with the agent's bearer token. */
export async function mcpClient(baseUrl: string, token: string, options: { query?: string; path?: string } = {}): Promise<TestMcpClient> {
  const client = new Client({ name: 'tmws-test-client', version: '1.0.0' }) as TestMcpClient;
  client.serverStreams = 0;
  // Counts the GET streams the gateway accepted: once one is open, the gateway listens for catalogue changes.
  const countingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if ((init?.method ?? 'GET') === 'GET' && response.ok) client.serverStreams += 1;
    return response;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}${options.path ?? '/mcp'}${options.query ?? ''}`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: countingFetch,
  });
  await client.connect(transport);
  return client;
}

export interface TestMcpClient extends Client {
  /** GET (server-to-client) streams the gateway answered with 200. */
  serverStreams: number;
}

/** Every tool of the catalogue, following nextCursor; also how many pages it took. */
export async function listAllTools(client: Client): Promise<{ tools: Tool[]; pages: number }> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor);
  return { tools, pages };
}

/**
 * `initialize` by hand, for tests that drive the wire themselves (drop a
 * request, read a GET stream): returns the headers that continue the session.
 */
export async function rawMcpSession(url: string, token: string): Promise<Record<string, string>> {
  const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await init.text();
  return { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
}
