/**
 * The dashboard (SPEC §12) in a real browser: Debian's Chromium, headless,
 * driven by playwright-core (nothing downloads a browser), against a real
 * gateway, the shared everything server and a hostile upstream. One gateway
 * and one browser for the file; each agent signs in in its own context.
 * Screenshots of every view go to test-artifacts/dashboard/ (ignored by git).
 */
import { type Page, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_SKEW_SECONDS, signAgentToken, secretKeyBytes } from '../../src/auth/jwt.js';
import { createConnection } from '../helpers/connections.js';
import { sharedEverythingUrl } from '../helpers/everything-server.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { haveChromium, launchDashboardBrowser, WAIT, type DashboardBrowser } from '../helpers/dashboard-browser.js';
import { HTML_PAYLOAD, startHtmlUpstream } from '../fixtures/upstreams/html-upstream.js';
import { data } from '../graphql/client.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/test-upstream.js';

let gw: TestGateway;
let chromium: DashboardBrowser;
let admin: TestAgent;
let outsider: TestAgent;
let html: Awaited<ReturnType<typeof startHtmlUpstream>>;
let testUpstream: TestUpstream;
const openPage: DashboardBrowser['openPage'] = (label, width) => chromium.openPage(label, width);
const signIn: DashboardBrowser['signIn'] = (page, token) => chromium.signIn(page, token);
const go: DashboardBrowser['go'] = (page, name) => chromium.go(page, name);
const screenshot: DashboardBrowser['screenshot'] = (page, name) => chromium.screenshot(page, name);

beforeAll(async () => {
  if (!haveChromium) return;
  [gw, html, testUpstream] = await Promise.all([startGateway(), startHtmlUpstream(), startTestUpstream()]);
  admin = await gw.agent('dash-admin', 'dash-ns', 'admin');
  outsider = await gw.agent('dash-outsider', 'dash-other-ns');
  chromium = await launchDashboardBrowser(gw.url, 'dashboard');
});
afterAll(async () => {
  await chromium?.close();
  await gw?.close();
  await html?.stop();
  await testUpstream?.stop();
});

describe.skipIf(!haveChromium)(
  'the dashboard in Chromium',
  () => {
    let page: Page;
    let other: Page;

    it('is served at / with a strict CSP, hashed immutable assets and no-cache HTML', async () => {
      const index = await fetch(`${gw.url}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const csp = index.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      const body = await index.text();
      expect(body).not.toMatch(/<script>|<style>| on\w+=/);
      const script = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(body)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${gw.url}${script}`);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(asset.headers.get('content-type')).toContain('text/javascript');
      expect((await fetch(`${gw.url}/assets/app-NOPE.js`)).status).toBe(404);
      // Its own icon, so that the browser does not ask for a /favicon.ico that is not there.
      const icon = /<link rel="icon" type="image\/svg\+xml" href="(\/assets\/icon-[A-F0-9]{8}\.svg)"/.exec(body)?.[1];
      expect(icon).toBeDefined();
      const iconAsset = await fetch(`${gw.url}${icon}`);
      expect(iconAsset.headers.get('content-type')).toBe('image/svg+xml');
      expect(iconAsset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await iconAsset.text()).toMatch(/^<svg /);
    });

    it('signs in with a pasted token and shows the overview', async () => {
      ({ page } = await openPage('admin'));
      await page.goto(`${gw.url}/`);
      await expect.poll(() => page.getByText('npm run -s token').count(), WAIT).toBe(1);
      await screenshot(page, 'sign-in');
      await page.getByLabel('Token').fill('not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'The gateway refused this token' }).waitFor(WAIT);

      await signIn(page, admin.token);
      await page.getByRole('heading', { name: 'Gateway ready' }).waitFor(WAIT);
      expect(await page.locator('.component').allTextContents()).toEqual([
        'DatabaseOK',
        'RedisNot configured',
        'Chroma (tool search)OK',
        'Rate limiterOK',
      ]);
      expect(await page.evaluate(() => location.href)).not.toContain(admin.token);
      await screenshot(page, 'overview');
    });

    it('validates the create form, then connects to the everything server', async () => {
      await go(page, 'Connections');
      await page.getByText('No connections yet').waitFor(WAIT);
      await page.getByLabel('Server name').fill('no spaces allowed');
      await page.getByLabel('MCP endpoint URL').fill(sharedEverythingUrl());
      await page.getByRole('button', { name: 'Connect' }).click();
      await page.getByRole('alert').filter({ hasText: 'Server name: use 1 to 100' }).waitFor(WAIT);

      await page.getByLabel('Server name').fill('everything');
      await page.getByRole('button', { name: 'Connect' }).click();
      const row = page.locator('tr', { hasText: 'everything' });
      await row.locator('.badge', { hasText: 'ACTIVE' }).waitFor(WAIT);
      await screenshot(page, 'connections');
    });

    it('shows the tools and runs get-sum from the generated form', async () => {
      await page.getByRole('link', { name: 'everything', exact: true }).click();
      const tool = page.locator('section[data-tool="get-sum"]');
      await tool.waitFor(WAIT);
      await tool.getByLabel(/^a\b/).fill('3');
      await tool.getByLabel(/^b\b/).fill('4');
      await tool.getByRole('button', { name: 'Run get-sum' }).click();
      await tool.locator('.run[data-status="COMPLETED"]').waitFor(WAIT);
      expect(await tool.locator('pre.result').first().textContent()).toContain('7');
      await screenshot(page, 'tools');
    });

    it('follows a long-running operation to 100 % and COMPLETED without reloading', async () => {
      const tool = page.locator('section[data-tool="trigger-long-running-operation"]');
      await tool.getByLabel(/^duration\b/).fill('3');
      await tool.getByLabel(/^steps\b/).fill('5');
      // Every value the progress bar shows, as it shows it.
      await tool.evaluate((section) => {
        const seen: number[] = [];
        (window as unknown as { progressSeen: number[] }).progressSeen = seen;
        new MutationObserver(() => {
          const bar = section.querySelector('progress');
          if (bar && seen.at(-1) !== bar.value) seen.push(bar.value);
        }).observe(section, { subtree: true, childList: true, attributes: true });
      });
      const navigations: string[] = [];
      page.on('framenavigated', (frame) => navigations.push(frame.url()));
      await tool.getByRole('button', { name: 'Run trigger-long-running-operation' }).click();
      await tool.locator('.run[data-status="COMPLETED"]').waitFor(WAIT);
      expect(await tool.locator('.progress-text').textContent()).toBe('100 %');
      const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
      expect(seen.some((value) => value > 0 && value < 100)).toBe(true);
      expect(seen.at(-1)).toBe(100);
      expect(navigations).toEqual([]);
    });

    it('lists executions live, and cancels a running one', async () => {
      ({ page: other } = await openPage('outsider'));
      await signIn(other, outsider.token);
      await go(other, 'Executions');
      await go(page, 'Executions');
      await page
        .locator('tr[data-execution]', { hasText: 'trigger-long-running-operation' })
        .locator('.badge', { hasText: 'COMPLETED' })
        .waitFor(WAIT);

      // Results are read when opened.
      const sum = page.locator('tr[data-execution]', { hasText: 'get-sum' });
      await sum.locator('summary', { hasText: 'Result' }).click();
      await expect.poll(() => sum.locator('pre.result').first().textContent(), WAIT).toContain('7');

      // Started elsewhere (the API): the open list picks it up live.
      const connectionId = await connectionIdOf('everything');
      const started = await data(
        gw,
        'mutation($input: ExecuteToolInput!) { startExecution(input: $input) { id } }',
        { input: { connectionId, toolName: 'trigger-long-running-operation', arguments: { duration: 120, steps: 120 } } },
        admin.token,
      );
      const row = page.locator(`tr[data-execution="${(started as any).startExecution.id}"]`);
      await row.locator('.badge', { hasText: 'RUNNING' }).waitFor(WAIT);
      await expect.poll(() => row.locator('progress').evaluate((bar: HTMLProgressElement) => bar.value), WAIT).toBeGreaterThan(0);
      await screenshot(page, 'executions');
      await row.getByRole('button', { name: 'Cancel' }).click();
      await row.locator('.badge', { hasText: 'CANCELLED' }).waitFor(WAIT);
      // Status filter: only the cancelled one stays visible.
      await page.getByLabel('Status').selectOption('CANCELLED');
      await expect.poll(() => page.locator('tr[data-execution]:visible').count(), WAIT).toBe(1);

      // The other namespace saw none of it, live or listed.
      expect(await other.locator('tr[data-execution]').count()).toBe(0);
      await other.getByText('No executions yet').waitFor(WAIT);
      await go(other, 'Connections');
      await other.getByText('No connections yet').waitFor(WAIT);
      await go(other, 'Overview');
      expect(await other.locator('.count dd').allTextContents()).toEqual(['0', '0', '0', '0', '0', '0', '0', '0', '0']);
      expect(await other.getByRole('link', { name: 'Rate limits' }).count()).toBe(0);
    });

    it('searches "add two numbers" and runs the top hit', async () => {
      await go(page, 'Tool search');
      await page.getByLabel('What should the tool do?').fill('add two numbers');
      await page.getByRole('button', { name: 'Search' }).click();
      const top = page.locator('ol.matches > li').first();
      await top.waitFor(WAIT);
      expect(await top.getAttribute('data-tool')).toBe('get-sum');
      expect(await top.textContent()).toMatch(/score 0\.\d{3}/);
      await screenshot(page, 'search');
      await top.locator('summary', { hasText: 'Run get-sum' }).click();
      await top.getByLabel(/^a\b/).fill('20');
      await top.getByLabel(/^b\b/).fill('22');
      await top.getByRole('button', { name: 'Run get-sum' }).click();
      await top.locator('.run[data-status="COMPLETED"]').waitFor(WAIT);
      expect(await top.locator('pre.result').first().textContent()).toContain('42');
    });

    it('shows an admin the namespace’s rate-limit statistics', async () => {
      await go(page, 'Rate limits');
      await page.getByRole('heading', { name: 'Rate limits of dash-ns' }).waitFor(WAIT);
      expect(await page.locator('tbody th').allTextContents()).toEqual([
        'mcp_create_connection',
        'mcp_discover_tools',
        'mcp_execute_tool',
        'mcp_disconnect',
      ]);
      await screenshot(page, 'rate-limits');
    });

    it('refreshes tools, disconnects after a confirmation, then signs out and forgets the token', async () => {
      await go(page, 'Connections');
      const row = page.locator('tr', { hasText: 'everything' });
      await row.getByRole('button', { name: 'Refresh tools' }).click();
      await page.getByRole('status').filter({ hasText: 'Tools of everything refreshed.' }).waitFor(WAIT);
      await row.getByRole('button', { name: 'Disconnect' }).click();
      await row.getByRole('button', { name: 'Yes, disconnect everything' }).click();
      await row.locator('.badge', { hasText: 'DISCONNECTED' }).waitFor(WAIT);

      await page.setViewportSize({ width: 390, height: 800 });
      await go(page, 'Overview');
      await screenshot(page, 'overview-390');
      await go(page, 'Executions');
      await page.locator('tr[data-execution]').first().waitFor(WAIT);
      // Narrow: the table becomes one block per execution, with nothing wider than the screen.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(page, 'executions-390');
      await page.setViewportSize({ width: 1280, height: 800 });

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    });

    /** A new agent in a namespace of its own, with a connection to the hostile HTML upstream. */
    const htmlConnection = (agentId: string, serverName: string) => agentWithConnection(agentId, serverName, html.url);

    it('shows what a hostile upstream sends as text: no markup, no script', async () => {
      const { agent: hostile, id } = await htmlConnection('dash-hostile', 'html');
      const { page: victim } = await openPage('hostile');
      await signIn(victim, hostile.token);
      await victim.goto(`${gw.url}/#/connections/${id}`);
      const tool = victim.locator('section[data-tool="html-tool"]');
      await tool.waitFor(WAIT);
      expect(await tool.locator('.description').textContent()).toBe(`Description ${HTML_PAYLOAD}`);
      expect(await tool.locator('h3').textContent()).toBe(`Title ${HTML_PAYLOAD} (html-tool)`);
      await tool.getByLabel(`Note ${HTML_PAYLOAD}`).fill(HTML_PAYLOAD);
      await tool.getByRole('button', { name: 'Run html-tool' }).click();
      await tool.locator('.run[data-status="COMPLETED"]').waitFor(WAIT);
      expect(await tool.locator('pre.result.text').textContent()).toBe(`Result ${HTML_PAYLOAD}`);
      expect(await tool.locator('pre.result.json').textContent()).toContain('<script>window.__pwned=2</script>');
      await screenshot(victim, 'hostile');
      expect(await victim.locator('main img, main script').count()).toBe(0);
      expect(await victim.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
    });

    it('shows the images a tool returns, and keeps what is not a picture as text', async () => {
      // A real image from the everything server.
      const { agent, id: everythingId } = await agentWithConnection('dash-pictures', 'everything', sharedEverythingUrl());
      const { page: viewer } = await openPage('pictures');
      await signIn(viewer, agent.token);
      await viewer.goto(`${gw.url}/#/connections/${everythingId}`);
      const tiny = viewer.locator('section[data-tool="get-tiny-image"]');
      await tiny.getByRole('button', { name: 'Run get-tiny-image' }).click();
      await tiny.locator('.run[data-status="COMPLETED"]').waitFor(WAIT);
      const shown = tiny.getByRole('img', { name: 'Image 1 of 1 in the result (image/png)' });
      await expect.poll(() => shown.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), WAIT).toBeGreaterThan(0);
      await shown.scrollIntoViewIfNeeded();
      await screenshot(viewer, 'result-images');
      expect(await tiny.locator('pre.result.json').textContent()).toMatch(/"data": "\(\d+ base64 characters: the image above\)"/);

      // An upstream's other "images": markup under an image type, an SVG, a PNG that is not one.
      const markup = '<script>window.__pwned=3</script>';
      const pictures = await startTestUpstream();
      try {
        pictures.addTool('pictures', 'Returns what it calls pictures', {
          content: [
            { type: 'image', mimeType: 'text/html', data: btoa(markup) },
            { type: 'image', mimeType: 'image/svg+xml', data: btoa(`<svg xmlns="http://www.w3.org/2000/svg">${markup}</svg>`) },
            { type: 'image', mimeType: 'image/png', data: btoa('not a png') },
          ],
        });
        const id = await createConnection(gw, agent, 'pictures', pictures.url);
        await viewer.goto(`${gw.url}/#/connections/${id}`);
        const tool = viewer.locator('section[data-tool="pictures"]');
        await tool.getByRole('button', { name: 'Run pictures' }).click();
        await tool.locator('.run[data-status="COMPLETED"]').waitFor(WAIT);
        await tool.getByText('Image 1 of 1 in the result (image/png) could not be decoded as image/png.').waitFor(WAIT);
        expect(await tool.locator('img').count()).toBe(0);
        const json = await tool.locator('pre.result.json').textContent();
        expect(json).toContain(btoa(markup));
        expect(json).toContain('image/svg+xml');
        expect(await viewer.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
      } finally {
        await pictures.stop();
      }
    });

    it('keeps the page the user moved to when the one before answers late', async () => {
      const { agent: late, id } = await htmlConnection('dash-late', 'late-html');
      const { page: slow } = await openPage('late');
      // Hold the overview's query (the page signing in lands on) until the user has moved on.
      const isOverview = (postData: string | null) => (postData ?? '').includes('query Overview');
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      await slow.route('**/graphql', async (route) => {
        if (isOverview(route.request().postData())) await held;
        await route.continue();
      });
      await signIn(slow, late.token);
      await slow.evaluate((connectionId) => (location.hash = `#/connections/${connectionId}`), id);
      const tool = slow.locator('section[data-tool="html-tool"]');
      await tool.waitFor(WAIT);
      const answered = slow.waitForResponse((response) => isOverview(response.request().postData()));
      release();
      await (await answered).finished();
      // The late answer is read and drawn within a few turns of the page's event loop.
      for (let turn = 0; turn < 5; turn++) await slow.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
      expect(await slow.getByRole('heading', { level: 2 }).allTextContents()).toEqual(['Tools of late-html']);
      expect(await tool.locator('h3').textContent()).toBe(`Title ${HTML_PAYLOAD} (html-tool)`);
    });

    it('sends an expired session back to sign-in with a message', async () => {
      // Expired on paper already, but inside the gateway's allowance for clock skew for 15 more seconds:
      // time enough to sign in on a loaded machine, without waiting the whole allowance out.
      const shortLived = await signAgentToken(outsider.id, secretKeyBytes(gw.config.auth.secretKey), 15 - CLOCK_SKEW_SECONDS);
      const { page: expiring } = await openPage('expiring');
      await signIn(expiring, shortLived);
      await go(expiring, 'Executions');
      // The live list's stream ends when the token expires: back to sign-in, without any click.
      await expiring.getByRole('alert').filter({ hasText: 'Your session has ended' }).waitFor({ timeout: 60_000 });
      await expiring.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
      expect(await expiring.evaluate(() => sessionStorage.getItem('tmws.token'))).toBeNull();
    }, 90_000);

    it('pages through the whole audit trail, filters by status at the gateway, and keeps the skip link on the page', async () => {
      const { agent, id: connectionId } = await agentWithConnection('dash-pager', 'pager', testUpstream.url);
      const execute = (toolName: string, args: Record<string, unknown>) => executeOver(agent, connectionId, toolName, args);
      // The oldest: one cancelled, then one whose progress came without a total; then a page and more of others.
      const started = await data(
        gw,
        'mutation($input: ExecuteToolInput!) { startExecution(input: $input) { id } }',
        { input: { connectionId, toolName: 'slow', arguments: { ms: 60_000 } } },
        agent.token,
      );
      const cancelledId = (started as { startExecution: { id: string } }).startExecution.id;
      await data(gw, 'mutation($id: ID!) { cancelExecution(id: $id) { id } }', { id: cancelledId }, agent.token);
      expect((await execute('slow', { ms: 30, steps: 3, total: false })).status).toBe(200);
      for (let i = 0; i < 55; i++) expect((await execute('echo', { message: `call ${i}` })).status).toBe(200);

      const { page: pager } = await openPage('pager');
      await signIn(pager, agent.token);
      await go(pager, 'Executions');
      const rows = pager.locator('tr[data-execution]');
      await expect.poll(() => rows.count(), WAIT).toBe(50);
      expect(await pager.locator(`tr[data-execution="${cancelledId}"]`).count()).toBe(0);

      // A status the newest page does not hold: the gateway is asked, not the rows shown.
      await pager.getByLabel('Status').selectOption('CANCELLED');
      await pager.locator(`tr[data-execution="${cancelledId}"]`).waitFor(WAIT);
      await expect.poll(() => rows.count(), WAIT).toBe(1);

      // Every status again, then the older ones, until there are none left.
      await pager.getByLabel('Status').selectOption('');
      await expect.poll(() => rows.count(), WAIT).toBe(50);
      await pager.getByRole('button', { name: 'Show older executions' }).click();
      await expect.poll(() => rows.count(), WAIT).toBe(57);
      expect(await pager.getByRole('button', { name: 'Show older executions' }).isHidden()).toBe(true);

      // Finished with a count but no total: the count and the message, and no bar moving any more.
      const counted = rows.filter({ hasText: 'slow' }).filter({ has: pager.locator('.badge', { hasText: 'COMPLETED' }) });
      expect(await counted.locator('.progress-text').textContent()).toBe('progress 3 — step 3 of 3');
      expect(await counted.locator('progress').count()).toBe(0);

      // The skip link moves the focus to the content and leaves the page where it is.
      await pager.locator('a.skip').focus();
      await pager.keyboard.press('Enter');
      expect(await pager.evaluate(() => [location.hash, document.activeElement?.id])).toEqual(['#/executions', 'main']);
      expect(await pager.getByRole('heading', { level: 2 }).allTextContents()).toEqual(['Executions']);
    }, 120_000);

    it('shows an admin whose connection is whose, without a run form that would be refused; long names wrap', async () => {
      const member = await gw.agent('dash-member', 'dash-ns');
      const longName = `a${'-long-name'.repeat(9)}-end`.slice(0, 100);
      const id = await createConnection(gw, member, longName, testUpstream.url);

      const { page: boss } = await openPage('admin-of-members');
      await signIn(boss, admin.token);
      await go(boss, 'Connections');
      const row = boss.locator(`tr[data-connection="${id}"]`);
      expect(await row.locator('.owner').textContent()).toBe(' · agent dash-member');
      // A 100-character name without a space wraps instead of widening the page.
      expect(await boss.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

      await boss.goto(`${gw.url}/#/connections/${id}`);
      await boss.locator('section[data-tool="echo"]').waitFor(WAIT);
      await boss.getByText('This connection belongs to agent dash-member: only that agent can run its tools.').waitFor(WAIT);
      expect(await boss.locator('form.run-form').count()).toBe(0);

      // The owner gets the form.
      const { page: owner } = await openPage('member');
      await signIn(owner, member.token);
      await owner.goto(`${gw.url}/#/connections/${id}`);
      await owner.getByRole('button', { name: 'Run echo' }).waitFor(WAIT);
      // A run can be cancelled from its own panel.
      const slow = owner.locator('section[data-tool="slow"]');
      await slow.getByLabel(/^ms\b/).fill('60000');
      await slow.getByRole('button', { name: 'Run slow' }).click();
      await slow.locator('.run[data-status="RUNNING"]').waitFor(WAIT);
      await slow.getByRole('button', { name: 'Cancel slow' }).click();
      await slow.locator('.run[data-status="CANCELLED"]').waitFor(WAIT);
      // What was sent: the number given, and nothing for the optional flag left unset.
      const runId = await slow.locator('.run').getAttribute('data-execution');
      const sent = await data(gw, 'query($id: ID!) { execution(id: $id) { arguments } }', { id: runId }, member.token);
      expect((sent as { execution: { arguments: unknown } }).execution.arguments).toEqual({ ms: 60000 });
      expect(await slow.getByRole('button', { name: 'Cancel slow' }).count()).toBe(0);

      // A link to a connection that does not exist (or a mangled one): the page says so and leads back.
      for (const missing of ['6f0e4a8e-0000-4000-8000-000000000009', 'not-an-id']) {
        await owner.goto(`${gw.url}/#/connections/${missing}`);
        await owner.getByRole('heading', { name: 'Connection not found' }).waitFor(WAIT);
        expect(await owner.getByRole('link', { name: 'Back to connections' }).count()).toBe(1);
      }
    });

    it('labels every rate-limit value on a narrow screen', async () => {
      const { page: narrow } = await openPage('narrow-limits', 400);
      await signIn(narrow, admin.token);
      await go(narrow, 'Rate limits');
      const cells = narrow.locator('tbody td');
      expect(await cells.count()).toBeGreaterThan(0);
      expect(await narrow.locator('tbody td:not([data-label])').count()).toBe(0);
    });

    it('says when live updates are cut off, and reads the list again once they are back', async () => {
      const { agent, id: connectionId } = await agentWithConnection('dash-offline', 'offline', testUpstream.url);
      const echo = async (message: string) => {
        const response = await executeOver(agent, connectionId, 'echo', { message });
        return ((await response.json()) as { execution_id: string }).execution_id;
      };
      const { page: offline } = await openPage('offline');
      // The page's WebSocket goes through here: while `down`, the gateway looks unreachable to this page only.
      let down = false;
      const sockets: WebSocketRoute[] = [];
      await offline.routeWebSocket(/\/graphql$/, (socket) => {
        if (down) return void socket.close({ code: 1013, reason: 'try again later' });
        socket.connectToServer();
        sockets.push(socket);
      });
      await signIn(offline, agent.token);
      await go(offline, 'Executions');
      const before = await echo('before');
      await offline.locator(`tr[data-execution="${before}"]`).waitFor(WAIT);
      const banner = offline.getByText('Reconnecting to the gateway…');
      expect(await banner.isHidden()).toBe(true);

      down = true;
      for (const socket of sockets.splice(0)) await socket.close({ code: 1012, reason: 'restarting' });
      await banner.waitFor(WAIT);
      // Recorded while this page hears nothing: its event never reaches it.
      const during = await echo('during');

      down = false;
      await offline.locator(`tr[data-execution="${during}"]`).waitFor(WAIT);
      await banner.waitFor({ state: 'hidden', ...WAIT });
      // Live again: the next one arrives by itself.
      const after = await echo('after');
      await offline.locator(`tr[data-execution="${after}"]`).waitFor(WAIT);
    }, 90_000);

    it('raised no page error, CSP violation or console error on any page', () => {
      expect(chromium.problems).toEqual([]);
    });
  },
  180_000,
);

/** A new agent in a namespace of its own (`<agentId>-ns`), with one connection. */
async function agentWithConnection(agentId: string, serverName: string, url: string): Promise<{ agent: TestAgent; id: string }> {
  const agent = await gw.agent(agentId, `${agentId}-ns`);
  return { agent, id: await createConnection(gw, agent, serverName, url) };
}

/** A REST execute by `agent`, answered once the call is over. */
function executeOver(agent: TestAgent, connectionId: string, toolName: string, args: Record<string, unknown>): Promise<Response> {
  return gw.request(`/api/v1/mcp/connections/${connectionId}/tools/${toolName}/execute`, {
    method: 'POST',
    token: agent.token,
    body: { arguments: args },
  });
}

async function connectionIdOf(serverName: string): Promise<string> {
  const response = await gw.request('/api/v1/mcp/connections', { token: admin.token });
  const body = (await response.json()) as { connections: Array<{ id: string; server_name: string }> };
  return body.connections.find((c) => c.server_name === serverName)!.id;
}
