import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { saveDevSecret } from '../../src/config/secret-key.js';
import { startupBanner } from '../../src/observability/startup-banner.js';

const KEY = 'banner-secret-key-with-enough-characters-01';
const URL = 'http://127.0.0.1:8000';

describe('start-up lines', () => {
  it('in production: where it listens and the first agent, no GraphiQL and nothing relaxed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-banner-'));
    const config = loadConfig({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: KEY }, dir);
    const lines = startupBanner({ url: URL, config, hasAgents: false, cwd: dir });
    expect(lines[0]).toBe(`TMWS Gateway listening on ${URL} (production, SQLite data/tmws.db)`);
    expect(lines[1]).toBe(`  Dashboard: ${URL}/  (sign in with a token from npm run -s token)`);
    expect(lines[2]).toBe(`  MCP:       ${URL}/mcp  (any MCP client, with the header Authorization: Bearer <token>)`);
    expect(lines.join('\n')).not.toMatch(/GraphiQL|relaxes|secret\.key/);
    expect(lines.join('\n')).toContain('npm run agent:create -- --agent-id admin-agent-uuid');
  });

  it('run from the build, names the built commands (npm run has no tsx once the dev dependencies are pruned)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-banner-'));
    const config = loadConfig({ TMWS_ENVIRONMENT: 'production', TMWS_SECRET_KEY: KEY }, dir);
    const lines = startupBanner({ url: URL, config, hasAgents: false, cwd: dir, from: 'build' });
    expect(lines[1]).toBe(`  Dashboard: ${URL}/  (sign in with a token from node dist/cli/token.js)`);
    expect(lines).toContain(
      '  Next:      node dist/cli/agent-create.js --agent-id admin-agent-uuid --namespace admin --name "Admin Agent" --role admin',
    );
    expect(lines).toContain('             TOKEN=$(node dist/cli/token.js --agent-id admin-agent-uuid)');
    expect(lines.join('\n')).not.toContain('npm run');
  });

  it('says nothing about the first agent once one exists, nor about a key file that was already there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-banner-'));
    saveDevSecret(loadConfig({}, dir).auth.secretKeyFile);
    const config = loadConfig({}, dir);
    const text = startupBanner({ url: URL, config, hasAgents: true, cwd: dir }).join('\n');
    expect(text).not.toContain('Next:');
    expect(text).not.toContain('was just created');
    expect(text).toContain('development mode relaxes: secret key generated in data/secret.key; GraphiQL and introspection on');
  });

  it('names authentication being off and CORS from any origin among what development relaxes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tmws-banner-'));
    const config = loadConfig(
      { TMWS_SECRET_KEY: KEY, TMWS_AUTH_ENABLED: 'false', TMWS_CORS_ORIGINS: '["*"]', TMWS_MCP_ALLOWED_HOSTS: '' },
      dir,
    );
    const relaxed = startupBanner({ url: URL, config, hasAgents: true, cwd: dir }).filter((l) => l.includes('relaxes'));
    expect(relaxed).toHaveLength(1);
    expect(relaxed[0]).toMatch(/AUTHENTICATION OFF/);
    expect(relaxed[0]).toMatch(/CORS from any origin/);
    expect(relaxed[0]).not.toMatch(/secret key generated|upstream MCP servers allowed/);
  });
});
