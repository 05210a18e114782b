/**
 * SPEC §14 on `/mcp/connections/{id}`: a hostile upstream behind the
 * passthrough is bounded as behind the other doors — a call's whole life by
 * TMWS_MAX_CALL_SECONDS however much progress it sends, the progress relayed
 * to the client coalesced to ≤ 10 a second (on a request's stream and on the
 * upstream's own GET stream), every message by TMWS_MAX_RESULT_BYTES — while
 * `/health` keeps answering.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileUpstream, type HostileUpstream } from '../fixtures/hostile-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { HEALTH_BUDGET_MS, probeHealthWhile } from '../helpers/responsiveness.js';
import { MAX_LIVE_PROGRESS_TOKENS } from '../../src/mcp-server/progress-by-token.js';
import { mcpClient, rawMcpSession } from './support.js';

/** TMWS_MAX_CALL_SECONDS of this gateway: short, so the cap is reached quickly. */
const MAX_CALL_SECONDS = 3;
const MIB = 1024 * 1024;

/** A gateway in front of the hostile upstream, with one connection to it. */
/** The structured content of a gateway tool error. */
interface ErrorBody {
  error_code: string;
  details: { execution_id?: string };
}

interface Door {
  gw: TestGateway;
  agent: TestAgent;
  connectionId: string;
}

let upstream: HostileUpstream;
/** TMWS_MAX_CALL_SECONDS=3: only the call cap is under test here. */
let capped: Door;
/**
 * The default cap: what is under test must not race the clock on a busy
 * machine (reading and refusing 10 MB, relaying 3 000 notifications).
 */
let roomy: Door;
const clients: Client[] = [];

async function openDoor(env: Record<string, string>): Promise<Door> {
  const gw = await startGateway(env);
  const agent = await gw.agent('bounds-agent', 'bounds-ns');
  // An idle timeout far above the cap: only TMWS_MAX_CALL_SECONDS can end these calls.
  const created = await gw.request('/api/v1/mcp/connections', {
    method: 'POST',
    token: agent.token,
    body: { server_name: 'hostile', url: upstream.url, timeout: 120 },
  });
  expect(created.status).toBe(201);
  return { gw, agent, connectionId: ((await created.json()) as { id: string }).id };
}

beforeAll(async () => {
  upstream = await startHostileUpstream();
  [capped, roomy] = await Promise.all([openDoor({ TMWS_MAX_CALL_SECONDS: String(MAX_CALL_SECONDS) }), openDoor({})]);
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await Promise.all([capped?.gw.close(), roomy?.gw.close()]);
  await upstream?.stop();
});

async function client(door: Door, path: string): Promise<Client> {
  const one = await mcpClient(door.gw.url, door.agent.token, { path });
  clients.push(one);
  return one;
}

interface ExecutionRow {
  status: string;
  errorCode?: string | null | undefined;
}

async function latestExecution(door: Door): Promise<ExecutionRow> {
  const { agent, connectionId } = door;
  const { rows } = await door.gw.gateway.services.executions.list(
    { agentId: agent.id, namespace: agent.namespace, role: 'agent' },
    { connectionId, limit: 1, offset: 0 },
  );
  const row = rows[0];
  if (!row) throw new Error('no execution');
  return row;
}

/** What ≤ 10 progress notifications in any one second allows over `seconds`, with the final one delivered at the end. */
function atMostTenASecond(seconds: number): number {
  return 10 * Math.ceil(seconds) + 1;
}

/** Calls `name` with progress requested, counting the notifications the client receives and the seconds it took. */
async function callCountingProgress(mcp: Client, name: string) {
  const progress: Progress[] = [];
  const started = performance.now();
  const result = (await mcp.callTool({ name, arguments: {} }, CallToolResultSchema, {
    onprogress: (one) => progress.push(one),
    // The client's own timeouts well past the gateway's cap: the gateway must end the call.
    timeout: 120_000,
    resetTimeoutOnProgress: true,
  })) as CallToolResult;
  return { result, progress, seconds: (performance.now() - started) / 1000 };
}

describe('passthrough calls under TMWS_MAX_CALL_SECONDS', () => {
  it('a call whose upstream sends progress forever ends TIMED_OUT at the cap, cancelled upstream, with progress ≤ 10 a second', async () => {
    const mcp = await client(capped, `/mcp/connections/${capped.connectionId}`);
    const before = upstream.state();
    const { result, worstHealthMs } = await probeHealthWhile(capped.gw.url, () => callCountingProgress(mcp, 'endless-progress'));
    expect(result.result).toMatchObject({
      isError: true,
      structuredContent: { error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'timeout', connection_id: capped.connectionId } },
    });
    expect(result.seconds).toBeGreaterThanOrEqual(MAX_CALL_SECONDS - 0.5);
    expect(await latestExecution(capped)).toMatchObject({ status: 'TIMED_OUT', errorCode: 'TIMEOUT' });
    await eventually(() => upstream.state().cancellations > before.cancellations, 10_000, 'notifications/cancelled upstream');
    await eventually(() => upstream.state().closedByClient > before.closedByClient, 10_000, 'the upstream request closed');
    // The upstream sent hundreds a second; the client got ≤ 10 in any second (and the last one at the end).
    expect(result.progress.length).toBeGreaterThan(10);
    expect(result.progress.length).toBeLessThanOrEqual(atMostTenASecond(result.seconds));
    const values = result.progress.map((one) => one.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 30_000);

  it('ends as the same tool error the aggregated /mcp gives on that timeout', async () => {
    const [passthrough, aggregated] = await Promise.all([
      client(capped, `/mcp/connections/${capped.connectionId}`).then((mcp) => callCountingProgress(mcp, 'endless-progress')),
      client(capped, '/mcp').then((mcp) => callCountingProgress(mcp, 'hostile__endless-progress')),
    ]);
    expect(aggregated.result.isError).toBe(true);
    // Each names the execution it ended (two calls, two rows); apart from that, the same error.
    const [ownRow, otherRow] = [passthrough, aggregated].map(
      ({ result }) => (result.structuredContent as unknown as ErrorBody).details.execution_id,
    );
    expect(ownRow).toMatch(/^[0-9a-f-]{36}$/);
    expect(otherRow).toMatch(/^[0-9a-f-]{36}$/);
    expect(ownRow).not.toBe(otherRow);
    const withoutRow = (result: CallToolResult) => JSON.parse(JSON.stringify(result).replaceAll(ownRow!, '').replaceAll(otherRow!, ''));
    expect(withoutRow(passthrough.result)).toEqual(withoutRow(aggregated.result));
  }, 30_000);

  it('any other request is capped too: a prompts/get the upstream never answers ends with -32001 at the cap', async () => {
    const mcp = await client(capped, `/mcp/connections/${capped.connectionId}`);
    const cancellations = upstream.state().cancellations;
    const started = performance.now();
    const failure = await mcp.getPrompt({ name: 'anything' }, { timeout: 120_000 }).then(
      () => undefined,
      (error: unknown) => error as { code?: number; message: string; data?: unknown },
    );
    expect(failure?.code).toBe(-32001);
    expect(failure?.message).toContain('Upstream prompts/get timed out');
    expect(failure?.data).toMatchObject({ error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'timeout' } });
    expect((performance.now() - started) / 1000).toBeGreaterThanOrEqual(MAX_CALL_SECONDS - 0.5);
    await eventually(() => upstream.state().cancellations > cancellations, 10_000, 'notifications/cancelled upstream');
  }, 30_000);
});

describe('passthrough messages under TMWS_MAX_RESULT_BYTES, with the default call cap', () => {
  it('a flood of 3 000 progress notifications arrives coalesced, the last one before the answer', async () => {
    const mcp = await client(roomy, `/mcp/connections/${roomy.connectionId}`);
    const progress: Progress[] = [];
    const started = performance.now();
    const result = (await mcp.callTool({ name: 'progress-flood', arguments: { count: 3000 } }, CallToolResultSchema, {
      onprogress: (one) => progress.push(one),
    })) as CallToolResult;
    const seconds = (performance.now() - started) / 1000;
    expect(result.content).toEqual([{ type: 'text', text: 'flooded 3000' }]);
    expect(progress.at(-1)).toEqual({ progress: 3000, total: 3000 });
    expect(progress.length).toBeLessThanOrEqual(atMostTenASecond(seconds));
  }, 30_000);

  it(`relays the progress of at most ${MAX_LIVE_PROGRESS_TOKENS} tokens at once on a request's stream: an upstream inventing a token per notification is not relayed as it sends`, async () => {
    const url = `${roomy.gw.url}/mcp/connections/${roomy.connectionId}`;
    const session = await rawMcpSession(url, roomy.agent.token);
    const call = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'progress-flood', arguments: { count: 2000, invent: true }, _meta: { progressToken: 'p' } },
    };
    const { seen, answer, seconds } = await readEventStream(
      url,
      { method: 'POST', headers: session, body: JSON.stringify(call) },
      () => false,
      20_000,
    );
    expect(answer?.result?.content).toEqual([{ type: 'text', text: 'flooded 2000' }]);
    const tokens = new Set(seen.map((one) => one.progressToken));
    expect(tokens.size).toBeGreaterThan(0);
    expect(tokens.size).toBeLessThanOrEqual(MAX_LIVE_PROGRESS_TOKENS * Math.ceil(seconds));
    expect(seen.length).toBeLessThan(2000 / 4);
  }, 30_000);

  it('a 50 MB result: a RESULT_TOO_LARGE tool error, the row FAILED, the upstream request closed, /health fast', async () => {
    const mcp = await client(roomy, `/mcp/connections/${roomy.connectionId}`);
    const before = upstream.state();
    const { result, worstHealthMs } = await probeHealthWhile(
      roomy.gw.url,
      async () => (await mcp.callTool({ name: 'huge-result', arguments: { bytes: 50 * MIB } })) as CallToolResult,
    );
    expect(result).toMatchObject({
      isError: true,
      structuredContent: { error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'result_too_large', limit_bytes: 10 * MIB } },
    });
    expect(await latestExecution(roomy)).toMatchObject({ status: 'FAILED', errorCode: 'RESULT_TOO_LARGE' });
    await eventually(() => upstream.state().closedByClient > before.closedByClient, 10_000, 'the upstream request closed');
    expect(upstream.state().bytesWritten - before.bytesWritten).toBeLessThan(40 * MIB);
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 30_000);
});

describe("progress on the upstream's own GET stream", () => {
  const floods: HostileUpstream[] = [];
  afterAll(async () => {
    await Promise.all(floods.map((flood) => flood.stop()));
  });

  /** A connection to an upstream whose GET stream carries `count` progress notifications over `tokens` tokens. */
  async function floodedConnection(count: number, tokens: number): Promise<string> {
    const flood = await startHostileUpstream({ getStreamProgress: { count, tokens } });
    floods.push(flood);
    const created = await roomy.gw.request('/api/v1/mcp/connections', {
      method: 'POST',
      token: roomy.agent.token,
      body: { server_name: `flood-${floods.length}`, url: flood.url },
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { id: string }).id;
  }

  /** Opens the passthrough's GET stream and collects its progress notifications until `done` or `forMs`. */
  async function streamProgress(connectionId: string, done: (seen: StreamedProgress[]) => boolean, forMs = 8_000) {
    const url = `${roomy.gw.url}/mcp/connections/${connectionId}`;
    const session = await rawMcpSession(url, roomy.agent.token);
    return readEventStream(url, { headers: { ...session, accept: 'text/event-stream' } }, done, forMs);
  }

  it('arrives coalesced to ≤ 10 a second, the latest kept: a flood of 3 000 on one token', async () => {
    const connectionId = await floodedConnection(3000, 1);
    const { seen, seconds } = await streamProgress(connectionId, (progress) => progress.at(-1)?.progress === 3000);
    expect(seen.at(-1)).toEqual({ progressToken: 'stream-0', progress: 3000 });
    expect(seen.length).toBeLessThanOrEqual(atMostTenASecond(seconds));
  }, 30_000);

  it(`relays at most ${MAX_LIVE_PROGRESS_TOKENS} tokens at once: a new token per notification is not relayed as fast as it comes`, async () => {
    const connectionId = await floodedConnection(2000, 2000);
    const { seen, seconds } = await streamProgress(connectionId, () => false, 2_500);
    const tokens = new Set(seen.map((one) => one.progressToken));
    expect(tokens.size).toBeGreaterThan(0);
    expect(tokens.size).toBeLessThanOrEqual(MAX_LIVE_PROGRESS_TOKENS * Math.ceil(seconds));
    expect(seen.length).toBeLessThan(2000 / 4);
  }, 30_000);
});

/**
 * Sends `init` to `url` and reads the event stream it answers with until
 * `done` (or the answer, or `forMs`): the progress notifications it carried,
 * and the JSON-RPC answer if one came.
 */
async function readEventStream(url: string, init: RequestInit, done: (seen: StreamedProgress[]) => boolean, forMs: number) {
  const stopped = new AbortController();
  const started = performance.now();
  const response = await fetch(url, { ...init, signal: stopped.signal });
  expect(response.status).toBe(200);
  const seen: StreamedProgress[] = [];
  let answer: { id?: unknown; result?: { content?: unknown } } | undefined;
  const deadline = setTimeout(() => stopped.abort(), forMs);
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of response.body!) {
      buffered += decoder.decode(chunk, { stream: true });
      const events = buffered.split('\n\n');
      buffered = events.pop()!;
      for (const event of events) {
        const data = event.split('\n').find((line) => line.startsWith('data: '));
        const message = data ? (JSON.parse(data.slice(6)) as { id?: unknown; method?: string; params?: StreamedProgress }) : undefined;
        if (message?.method === 'notifications/progress') seen.push(message.params!);
        else if (message && 'id' in message) answer = message;
      }
      if (answer || done(seen)) break;
    }
  } catch {
    // the deadline: what was seen is the answer
  } finally {
    clearTimeout(deadline);
    stopped.abort();
  }
  return { seen, answer, seconds: (performance.now() - started) / 1000 };
}

interface StreamedProgress {
  progressToken: string;
  progress: number;
}
