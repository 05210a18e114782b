/**
 * SPEC §14, as the caller and everyone else see it: a hostile upstream gets a
 * clear, documented answer for its caller (status, body, execution row), and
 * meanwhile another party's `/health` stays fast and memory stays bounded.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileUpstream, type HostileUpstream } from '../fixtures/hostile-upstream.js';
import { collect, sse, type GraphQLPayload } from '../graphql/client.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { HEALTH_BUDGET_MS, probeHealthWhile } from '../helpers/responsiveness.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';
import { eventually } from '../helpers/eventually.js';

const BASE = '/api/v1/mcp';
const MIB = 1024 * 1024;
/** TMWS_MAX_CALL_SECONDS of this gateway: short, so the cap test is quick. */
const MAX_CALL_SECONDS = 4;

let gw: TestGateway;
let agent: TestAgent;
let streamable: HostileUpstream;
let legacy: HostileUpstream;
let jsonUpstream: HostileUpstream;
let patient: TestUpstream;

beforeAll(async () => {
  [gw, streamable, legacy, jsonUpstream, patient] = await Promise.all([
    startGateway({ TMWS_MAX_CALL_SECONDS: String(MAX_CALL_SECONDS) }),
    startHostileUpstream(),
    startHostileUpstream({ legacySse: true }),
    startHostileUpstream({ json: true }),
    startTestUpstream(),
  ]);
  agent = await gw.agent('hostile-agent', 'hostile-ns');
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([streamable?.stop(), legacy?.stop(), jsonUpstream?.stop(), patient?.stop()]);
});

let names = 0;
async function connect(url: string, timeout = 10): Promise<string> {
  const response = await gw.request(`${BASE}/connections`, {
    method: 'POST',
    token: agent.token,
    body: { server_name: `hostile-${++names}`, url, timeout },
  });
  const body = (await response.json()) as { id: string };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body.id;
}

interface ErrorBody {
  error_code: string;
  message: string;
  details: Record<string, unknown>;
}

async function execute(id: string, tool: string, args: Record<string, unknown> = {}) {
  const response = await gw.request(`${BASE}/connections/${id}/tools/${tool}/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: args },
  });
  return { status: response.status, body: (await response.json()) as ErrorBody & { result?: Record<string, unknown> } };
}

interface ExecutionRow {
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  progress: number | null;
}

/** The newest execution row of a connection, read back through GraphQL as a client would. */
async function latestExecution(connectionId: string): Promise<ExecutionRow> {
  const response = await gw.request('/graphql', {
    method: 'POST',
    token: agent.token,
    body: {
      query: 'query($c: ID!) { executions(connectionId: $c, first: 1) { edges { node { status errorCode errorMessage progress } } } }',
      variables: { c: connectionId },
    },
  });
  const body = (await response.json()) as { data: { executions: { edges: { node: ExecutionRow }[] } } };
  const row = body.data.executions.edges[0]?.node;
  if (!row) throw new Error(`no execution on ${connectionId}`);
  return row;
}

/** Runs `work` while sampling the process's RSS; returns the peak growth in MiB. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMiB: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growthMiB: (peak - before) / MIB };
  } finally {
    clearInterval(sampler);
  }
}

describe('an upstream answer larger than TMWS_MAX_RESULT_BYTES', () => {
  for (const [variant, upstream] of [
    ['an event stream (Streamable HTTP)', () => streamable],
    ['a JSON body (Streamable HTTP)', () => jsonUpstream],
    ['the legacy SSE fallback', () => legacy],
  ] as const) {
    it(`a 50 MB result on ${variant}: 502 result_too_large, row FAILED RESULT_TOO_LARGE, /health fast, memory bounded`, async () => {
      const id = await connect(upstream().url);
      const written = upstream().state().bytesWritten;
      const { result, growthMiB } = await peakRssGrowth(() =>
        probeHealthWhile(gw.url, () => execute(id, 'huge-result', { bytes: 50 * MIB })),
      );
      expect(result.result.status).toBe(502);
      expect(result.result.body).toMatchObject({
        error_code: 'EXTERNAL_SERVICE_ERROR',
        details: { reason: 'result_too_large', limit_bytes: 10 * MIB },
      });
      expect(result.result.body.message).toContain('TMWS_MAX_RESULT_BYTES');
      expect(await latestExecution(id)).toMatchObject({ status: 'FAILED', errorCode: 'RESULT_TOO_LARGE' });
      expect(result.worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
      // The gateway stopped reading and closed the request: the upstream could not push all 50 MB.
      await eventually(() => upstream().state().closedByClient > 0, 10_000, 'the upstream request closed');
      expect(upstream().state().bytesWritten - written).toBeLessThan(40 * MIB);
      expect(growthMiB).toBeLessThan(150);
    }, 60_000);
  }

  it('an endless event (no blank line, ever) is cut at the limit and its request closed', async () => {
    const id = await connect(streamable.url);
    const closed = streamable.state().closedByClient;
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'endless-event'));
    expect(result.status).toBe(502);
    expect(result.body.details).toMatchObject({ reason: 'result_too_large' });
    expect(await latestExecution(id)).toMatchObject({ status: 'FAILED', errorCode: 'RESULT_TOO_LARGE' });
    await eventually(() => streamable.state().closedByClient > closed, 10_000, 'the endless request closed');
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 60_000);
});

describe('an upstream with 5,000 tools (TMWS_MAX_TOOLS_PER_CONNECTION 1000)', () => {
  let many: HostileUpstream;
  beforeAll(async () => {
    many = await startHostileUpstream({ bulkTools: 5_000, pageSize: 100 });
  });
  afterAll(async () => many?.stop());

  it('create answers 502 naming the limit, leaves nothing live and stops paginating at the limit', async () => {
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, async () => {
      const response = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agent.token,
        body: { server_name: 'five-thousand', url: many.url, timeout: 30 },
      });
      return { status: response.status, body: (await response.json()) as ErrorBody };
    });
    expect(result.status).toBe(502);
    expect(result.body).toMatchObject({ error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'too_many_tools', limit: 1000 } });
    expect(result.body.message).toContain('TMWS_MAX_TOOLS_PER_CONNECTION');
    // 1,000 tools fit in 10 pages of 100; the 11th proves there are more. Nothing further is fetched.
    expect(many.state().listPages).toBeLessThanOrEqual(11);
    const list = (await (await gw.request(`${BASE}/connections`, { token: agent.token })).json()) as {
      connections: { server_name: string }[];
    };
    expect(list.connections.map((c) => c.server_name)).not.toContain('five-thousand');
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 60_000);
});

describe('a progress flood', () => {
  it('5,000 notifications: at most 10 PROGRESS events a second, the final one delivered before the terminal event and recorded', async () => {
    const id = await connect(streamable.url);
    const subscription = await sse<{ executionUpdates: { type: string; progress: number | null } }>(
      gw,
      'subscription { executionUpdates { type progress } }',
      {},
      agent.token,
    );
    expect(subscription.status).toBe(200);
    const terminal = (e: GraphQLPayload<{ executionUpdates: { type: string } }>) =>
      ['COMPLETED', 'FAILED', 'CANCELLED'].includes(e.data?.executionUpdates.type ?? '');
    const events = collect(subscription.events, terminal, 60_000);
    const started = performance.now();
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'progress-flood', { count: 5_000 }));
    const seconds = (performance.now() - started) / 1000;
    expect(result.status).toBe(200);
    const types = (await events).map((e) => e.data?.executionUpdates);
    const progress = types.filter((e) => e?.type === 'PROGRESS');
    expect(types.at(-1)?.type).toBe('COMPLETED');
    expect(progress.at(-1)?.progress).toBe(5_000);
    // ≤ 10 per second, plus the final one (and one of slack for the window edges).
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
    expect(await latestExecution(id)).toMatchObject({ status: 'COMPLETED', progress: 5_000 });
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 90_000);
});

describe('a call that keeps reporting progress past TMWS_MAX_CALL_SECONDS', () => {
  it('ends TIMED_OUT at the cap and the upstream is cancelled', async () => {
    const id = await connect(patient.url, 5);
    const cancelled = patient.state().cancellations;
    const started = performance.now();
    // Progress every 200 ms for a minute: each one resets the 5 s idle timeout, only the cap stops it.
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'slow', { ms: 60_000, steps: 300 }));
    expect(result.status).toBe(502);
    expect(result.body.details).toMatchObject({ reason: 'timeout' });
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(await latestExecution(id)).toMatchObject({ status: 'TIMED_OUT', errorCode: 'TIMEOUT' });
    await eventually(() => patient.state().cancellations > cancelled, 10_000, 'notifications/cancelled upstream');
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 60_000);
});

describe('upstreams that misbehave on the wire', () => {
  it('one that never answers: TIMED_OUT, the upstream request closed and cancelled', async () => {
    const id = await connect(streamable.url, 5);
    const before = streamable.state();
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'never-answers'));
    expect(result.status).toBe(502);
    expect(result.body.details).toMatchObject({ reason: 'timeout' });
    expect(await latestExecution(id)).toMatchObject({ status: 'TIMED_OUT' });
    await eventually(() => streamable.state().closedByClient > before.closedByClient, 10_000, 'the hanging request closed');
    // The gateway closes the hanging POST, then sends notifications/cancelled on a POST of its own: it may land a moment later.
    await eventually(() => streamable.state().cancellations > before.cancellations, 10_000, 'notifications/cancelled received');
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  }, 30_000);

  it('one that answers malformed JSON-RPC: 502 protocol_error at once, not at the timeout', async () => {
    const id = await connect(streamable.url, 30);
    const started = performance.now();
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'malformed'));
    expect(result.status).toBe(502);
    expect(result.body.details).toMatchObject({ reason: 'protocol_error' });
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(await latestExecution(id)).toMatchObject({ status: 'FAILED', errorCode: 'EXTERNAL_SERVICE_ERROR' });
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  });

  it('one that answers a call with HTTP 500: 502 upstream_error naming the status, a FAILED row, and the connection still works', async () => {
    const id = await connect(streamable.url, 30);
    const result = await execute(id, 'http-500');
    expect(result.status).toBe(502);
    expect(result.body).toMatchObject({ error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'upstream_error', status: 500 } });
    expect(result.body.message).toContain('HTTP 500');
    expect(await latestExecution(id)).toMatchObject({ status: 'FAILED', errorCode: 'EXTERNAL_SERVICE_ERROR' });
    expect((await execute(id, 'echo', { message: 'still here' })).status).toBe(200);
  });

  it('one that closes mid-result: 502 connection_lost at once, and the connection still works', async () => {
    const id = await connect(streamable.url, 30);
    const started = performance.now();
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'cut-mid-result'));
    expect(result.status).toBe(502);
    expect(result.body.details).toMatchObject({ reason: 'connection_lost' });
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(await latestExecution(id)).toMatchObject({ status: 'FAILED' });
    expect((await execute(id, 'echo', { message: 'still here' })).status).toBe(200);
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  });

  it('one whose result holds NUL bytes: a clear answer and an execution row', async () => {
    const id = await connect(streamable.url);
    const { result, worstHealthMs } = await probeHealthWhile(gw.url, () => execute(id, 'nul-result'));
    expect(result.status).toBe(200);
    const content = result.body.result?.content as { type: string; text: string }[];
    expect(content[0]?.text.startsWith('before')).toBe(true);
    expect(await latestExecution(id)).toMatchObject({ status: 'COMPLETED' });
    expect(worstHealthMs).toBeLessThan(HEALTH_BUDGET_MS);
  });
});

describe('a URL that is a web server, not an MCP endpoint', () => {
  let web: Server;
  let webUrl: string;
  beforeAll(async () => {
    web = createServer((req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://web.test').pathname.slice(1)) || 404;
      res.writeHead(status, { 'content-type': 'text/html' }).end(`<html><body>${status}</body></html>`);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const address = web.address();
    webUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => new Promise<void>((resolve) => web.close(() => resolve())));

  for (const status of [403, 404, 500]) {
    it(`HTTP ${status} is reported as that status, not blamed on credentials`, async () => {
      const response = await gw.request(`${BASE}/connections`, {
        method: 'POST',
        token: agent.token,
        body: { server_name: `web-${status}`, url: `${webUrl}/${status}`, timeout: 5 },
      });
      const body = (await response.json()) as ErrorBody;
      expect(response.status).toBe(502);
      expect(body).toMatchObject({ error_code: 'EXTERNAL_SERVICE_ERROR', details: { reason: 'handshake_failed', status } });
      expect(body.message).toContain(`HTTP ${status}`);
      expect(body.message).not.toMatch(/credential/i);
    });
  }
});
