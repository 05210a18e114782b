/**
 * The README's "From a browser" path, in a real browser (Debian's Chromium,
 * headless; skipped where it is not installed): a page on another origin,
 * listed in TMWS_CORS_ORIGINS, queries over fetch and subscribes with
 * graphql-ws; with the README's `shouldRetry`, a refused token fails after
 * one attempt instead of retrying for ~40 s.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const GRAPHQL_WS_DIST = join(process.cwd(), 'node_modules/graphql-ws/dist');

let page: Server;
let pageOrigin = '';
let gw: TestGateway;
let agent: TestAgent;
let deliverReport: (json: string) => void;
const reported = new Promise<string>((resolve) => (deliverReport = resolve));

/** The page: the README's client, POSTing what happened as JSON to /report. */
function pageHtml(gatewayUrl: string, token: string): string {
  const wsUrl = gatewayUrl.replace(/^http/, 'ws');
  // The image keeps the load event (and so Chromium's --dump-dom) waiting until the report is in.
  return `<!doctype html><html><body><img src="/hold" alt=""><script type="module">
import { createClient } from '/graphql-ws/client.js';
const report = {};
const done = () => fetch('/report', { method: 'POST', body: JSON.stringify(report) });
try {
  const response = await fetch('${gatewayUrl}/graphql', {
    method: 'POST',
    headers: { Authorization: 'Bearer ${token}', 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '{ me { id } }' }),
  });
  report.query = { status: response.status, body: await response.json() };
} catch (error) { report.query = { failed: String(error) }; }

let attempts = 0;
const refused = createClient({
  url: '${wsUrl}/graphql',
  connectionParams: { authorization: 'Bearer not-a-token' },
  shouldRetry: (event) => ![4401, 4403].includes(event?.code),
  on: { connecting: () => { attempts += 1; } },
});
report.refused = await new Promise((resolve) => refused.subscribe(
  { query: 'subscription { executionUpdates { type } }' },
  { next: () => {}, complete: () => resolve({ completed: true }),
    error: (error) => resolve({ code: error?.code, reason: error?.reason, attempts }) },
));

const accepted = createClient({ url: '${wsUrl}/graphql', connectionParams: { authorization: 'Bearer ${token}' } });
report.accepted = await new Promise((resolve) => {
  const stop = accepted.subscribe({ query: 'subscription { executionUpdates { type } }' },
    { next: () => {}, complete: () => {}, error: (error) => resolve({ error: String(error?.code ?? error) }) });
  accepted.on('connected', () => { stop(); resolve({ connected: true }); });
});
done();
</script></body></html>`;
}

beforeAll(async () => {
  let html = '';
  page = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path === '/report') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        deliverReport(body);
        response.writeHead(204).end();
      });
      return;
    }
    if (path === '/hold') return void reported.then(() => response.writeHead(204).end());
    if (path.startsWith('/graphql-ws/')) {
      const file = join(GRAPHQL_WS_DIST, path.slice('/graphql-ws/'.length).replace(/[^\w.-]/g, ''));
      if (!existsSync(file)) return void response.writeHead(404).end();
      return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
    }
    response.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(page.address() as { port: number }).port}`;
  gw = await startGateway({ TMWS_CORS_ORIGINS: JSON.stringify([pageOrigin]) });
  agent = await gw.agent('browser-agent', 'browser-ns');
  html = pageHtml(gw.url, agent.token);
});
afterAll(async () => {
  await gw?.close();
  page?.close();
});

describe('a browser client on another origin', () => {
  it.skipIf(!existsSync(CHROMIUM))(
    'queries over CORS, subscribes over WebSocket, and gives up at once on a refused token',
    async () => {
      // Asynchronous: the gateway and the page server answering Chromium run in this very process.
      const browser = promisify(execFile)(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `${pageOrigin}/`], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const exitedFirst = browser.then(() => Promise.reject(new Error('Chromium finished before the page reported')));
      const report = JSON.parse(await Promise.race([reported, exitedFirst]));
      await browser;
      expect(report.query).toEqual({ status: 200, body: { data: { me: { id: 'browser-agent' } } } });
      // One attempt, whatever refusal code the server uses (4403 at connect today; 4401/4400 are not retried either).
      expect(report.refused.attempts).toBe(1);
      expect([4400, 4401, 4403]).toContain(report.refused.code);
      expect(report.accepted).toEqual({ connected: true });
    },
    150_000,
  );
});
