/**
 * How the gateway serves the dashboard's files (no browser needed): content
 * negotiation of the precompressed assets, unknown assets, and a missing build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { registerDashboard } from '../../src/dashboard/serve.js';

const empty = mkdtempSync(join(tmpdir(), 'dashboard-unbuilt-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('the dashboard routes', () => {
  it('serve the same bytes as brotli, gzip or identity, as the client accepts', async () => {
    const app = Fastify();
    registerDashboard(app);
    const page = await app.inject({ url: '/' });
    const script = /src="\/assets\/([^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const plain = await app.inject({ url: `/assets/${script}` });
    const br = await app.inject({ url: `/assets/${script}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    const gzip = await app.inject({ url: `/assets/${script}`, headers: { 'accept-encoding': 'gzip' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(br.headers['content-encoding']).toBe('br');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(gunzipSync(gzip.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
    expect(br.headers.vary).toBe('Accept-Encoding');
    await app.close();
  });

  it('answer an unknown asset with the gateway’s 404 and a missing build with a 503 naming the command', async () => {
    const app = Fastify();
    registerDashboard(app, empty);
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('npm run build:dashboard');
    const asset = await app.inject({ url: '/assets/app-0000.js' });
    expect(asset.statusCode).toBe(404);
    expect(asset.json()).toMatchObject({ error_code: 'NOT_FOUND', message: 'No route for GET /assets/app-0000.js' });
    await app.close();
  });
});
