/**
 * GraphiQL outside production: served from the installed packages (it renders
 * with no network), and its first screen says how to sign in.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, TEST_SECRET, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({ TMWS_ENVIRONMENT: 'development', TMWS_SECRET_KEY: TEST_SECRET });
});
afterAll(async () => {
  await gw?.close();
});

async function graphiqlPage(): Promise<{ status: number; type: string | null; html: string }> {
  const response = await gw.request('/graphql', { headers: { accept: 'text/html' } });
  return { status: response.status, type: response.headers.get('content-type'), html: await response.text() };
}

describe('GraphiQL', () => {
  it('is served whole by the gateway: no script, style, font or image from another host', async () => {
    const { status, type, html } = await graphiqlPage();
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/html/);
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL');
    // What a browser would fetch by itself: src/href attributes, CSS url()/@import, module imports.
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import\s+["']?(?:url\()?["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr\.net|cdnjs/i);
  });

  it('opens on a document that says how to get a token, with the Authorization header to fill in', async () => {
    const { html } = await graphiqlPage();
    expect(html).toContain('npm run -s token -- --agent-id admin-agent-uuid');
    expect(html).toContain('In the Headers tab below');
    expect(html).toMatch(/"headers":"\{\\n {2}\\"Authorization\\": \\"Bearer <token>\\"\\n}"/);
    expect(html).toContain('"defaultEditorToolsVisibility":"headers"');
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'renders in headless Chromium with every other host unreachable',
    async () => {
      // A proxy on a closed port: loopback is reached directly, any other host fails, as offline.
      // Asynchronous: the gateway answering Chromium runs in this very process.
      const { stdout } = await promisify(execFile)(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--proxy-server=http://127.0.0.1:9',
          '--virtual-time-budget=15000',
          '--dump-dom',
          `${gw.url}/graphql`,
        ],
        { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const root = stdout.slice(stdout.indexOf('<div id="root"'));
      expect(root).toContain('graphiql-container');
      const editorText = root.replace(/<[^>]+>/g, '').replaceAll('&nbsp;', ' ');
      expect(editorText).toContain('# Sign in: every request to the gateway needs a token.');
    },
    150_000,
  );
});
