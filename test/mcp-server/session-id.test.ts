import { describe, expect, it } from 'vitest';
import { MAX_SESSION_AGE_MS, SessionIds } from '../../src/mcp-server/session-id.js';

const KEY = 'a-secret-key-that-is-long-enough-0123456789';
const state = { agentId: 'agent-1', protocolVersion: '2025-06-18', clientCapabilities: { sampling: {}, elicitation: { form: {} } } };

describe('sealed session ids', () => {
  it('opens what it minted, on another instance with the same key', () => {
    const id = new SessionIds(KEY).mint(state, 1_000);
    expect(/^[\x21-\x7e]+$/.test(id)).toBe(true);
    expect(new SessionIds(KEY).open(id, 2_000)).toEqual({ ...state, issuedAt: 1_000 });
  });

  it('mints a different id each time', () => {
    const ids = new SessionIds(KEY);
    expect(ids.mint(state)).not.toBe(ids.mint(state));
  });

  it('refuses an id sealed with another key, altered, or malformed', () => {
    const id = new SessionIds(KEY).mint(state);
    expect(new SessionIds(`${KEY}-other`).open(id)).toBeUndefined();
    const [version, body, mac] = id.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), a: 'agent-2' })).toString(
      'base64url',
    );
    expect(new SessionIds(KEY).open(`${version}.${forged}.${mac}`)).toBeUndefined();
    for (const bad of ['', 'v1', 'v1..', `${id}.x`, 'v2.e30.abc', randomish()]) expect(new SessionIds(KEY).open(bad)).toBeUndefined();
  });

  it('refuses a session older than the maximum age', () => {
    const id = new SessionIds(KEY).mint(state, 0);
    expect(new SessionIds(KEY).open(id, MAX_SESSION_AGE_MS + 1)).toBeUndefined();
  });

  it('still refuses an id opened before, once it is too old or altered', () => {
    const ids = new SessionIds(KEY);
    const id = ids.mint({ agentId: 'a1', protocolVersion: '2025-06-18', clientCapabilities: {} }, 0);
    expect(ids.open(id, 1)?.agentId).toBe('a1');
    expect(ids.open(id, 2)?.agentId).toBe('a1');
    expect(ids.open(id, MAX_SESSION_AGE_MS + 1)).toBeUndefined();
    expect(ids.open(`${id}x`, 3)).toBeUndefined();
  });

  it('keeps oversized client capabilities by their names only', () => {
    const big = { ...state, clientCapabilities: { sampling: {}, experimental: { blob: 'x'.repeat(5_000) } } };
    const ids = new SessionIds(KEY);
    const id = ids.mint(big);
    expect(id.length).toBeLessThan(600);
    expect(ids.open(id)!.clientCapabilities).toEqual({ sampling: {}, experimental: {} });
  });
});

function randomish(): string {
  return `v1.${Buffer.from('{"a":"x"}').toString('base64url')}.${'A'.repeat(43)}`;
}
