import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const DASHBOARD = 'http://127.0.0.1:5173';
let closed: TestGateway;
let open: TestGateway;

beforeAll(async () => {
  [closed, open] = await Promise.all([startGateway(), startGateway({ TMWS_CORS_ORIGINS: JSON.stringify([DASHBOARD]) })]);
});
afterAll(async () => {
  await Promise.all([closed?.close(), open?.close()]);
});

/** What a browser sends before a cross-origin POST with a bearer token. */
function preflight(gw: TestGateway, path: string, origin = DASHBOARD): Promise<Response> {
  return gw.request(path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

describe('CORS preflight', () => {
  it.each(['/graphql', '/api/v1/mcp/connections'])(
    'without TMWS_CORS_ORIGINS, a preflight to %s is a 403 that names the setting (not a 405)',
    async (path) => {
      const response = await preflight(closed, path);
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('x-request-id')).toBeTruthy();
      const body = await response.json();
      expect(body).toMatchObject({
        error_code: 'AUTHORIZATION_ERROR',
        details: { reason: 'cors_origin_not_allowed', origin: DASHBOARD },
        request_id: response.headers.get('x-request-id'),
      });
      expect(body.message).toContain(`TMWS_CORS_ORIGINS='["${DASHBOARD}"]'`);
    },
  );

  it('with the origin listed, the preflight is allowed with the headers a browser needs', async () => {
    const response = await preflight(open, '/graphql');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });

  it('an origin missing from the list is refused the same way', async () => {
    const response = await preflight(open, '/graphql', 'https://elsewhere.example');
    expect(response.status).toBe(403);
    const body = await response.json();
    expect(body.message).toBe('Origin https://elsewhere.example is not in TMWS_CORS_ORIGINS');
  });

  it('an OPTIONS that is not a preflight is left alone', async () => {
    const response = await closed.request('/graphql', { method: 'OPTIONS' });
    expect(response.status).not.toBe(403);
  });
});
