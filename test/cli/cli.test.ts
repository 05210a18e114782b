import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { secretKeyBytes } from '../../src/auth/jwt.js';
import { describeTestDatabase } from '../helpers/database.js';

const root = process.cwd();
/** tsx's loader by absolute URL, since the commands run from a scratch working directory. */
const tsxLoader = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const dir = mkdtempSync(join(tmpdir(), 'tmws-cli-'));
const SECRET = 'cli-secret-key-with-enough-characters-0123';
const env = {
  PATH: process.env.PATH ?? '',
  TMWS_ENVIRONMENT: 'test',
  TMWS_SECRET_KEY: SECRET,
  TMWS_DATABASE_URL: `sqlite:///${join(dir, 'cli.db')}`,
};

/** Runs a CLI entry point the way `npm run <script>` does. */
function cli(script: string, args: string[], overrides: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', tsxLoader, join(root, 'src/cli', script), ...args], {
    cwd: dir,
    env: { ...env, ...overrides },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

describe('command line', () => {
  it('migrate applies, then reports up to date and lists status', () => {
    expect(cli('migrate.ts', []).stdout).toMatch(/applied\s+Migration/);
    expect(cli('migrate.ts', []).stdout).toBe('database is up to date');
    const status = cli('migrate.ts', ['--status']);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^applied\s+Migration\d+/);
    expect(status.stdout).not.toMatch(/pending/);
  });

  it.each(['sqlite', 'postgresql'] as const)('migrate --status on a new %s database lists every migration as pending', async (dialect) => {
    const database = describeTestDatabase(dialect);
    await database.create();
    try {
      const status = cli('migrate.ts', ['--status'], { TMWS_DATABASE_URL: database.url });
      expect(status.stderr).toBe('');
      expect(status.status).toBe(0);
      expect(status.stdout).toMatch(/^pending\s+Migration\d+/);
      expect(status.stdout).not.toMatch(/applied/);
    } finally {
      await database.drop();
    }
  });

  it('agent:create creates and updates an agent, printing it as JSON', () => {
    const created = cli('agent-create.ts', [
      '--agent-id',
      'admin-agent-uuid',
      '--namespace',
      'admin',
      '--name',
      'Admin',
      '--role',
      'admin',
    ]);
    expect(created.status).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({
      agent_id: 'admin-agent-uuid',
      namespace: 'admin',
      name: 'Admin',
      role: 'admin',
      status: 'active',
    });
    const updated = cli('agent-create.ts', [
      '--agent-id',
      'admin-agent-uuid',
      '--namespace',
      'admin',
      '--name',
      'Admin',
      '--status',
      'inactive',
    ]);
    expect(JSON.parse(updated.stdout)).toMatchObject({ role: 'agent', status: 'inactive' });
  });

  it('agent:create refuses bad input with one line', () => {
    const result = cli('agent-create.ts', ['--agent-id', 'bad id', '--namespace', 'x']);
    expect(result.status).not.toBe(0);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(cli('agent-create.ts', ['--agent-id', 'ok', '--namespace', 'x', '--role', 'root']).stderr).toMatch(/--role/);
  });

  it('token prints an HS256 JWT for the agent with the requested lifetime', async () => {
    cli('agent-create.ts', ['--agent-id', 'token-agent', '--namespace', 'admin', '--name', 'Token']);
    const result = cli('token.ts', ['--agent-id', 'token-agent', '--ttl', '2h']);
    expect(result.status).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(result.stdout, secretKeyBytes(SECRET));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('token-agent');
    expect(payload.exp! - payload.iat!).toBe(7200);
  });

  it('token refuses a lifetime above TMWS_MAX_TOKEN_TTL (the gateway would answer 401)', () => {
    const result = cli('token.ts', ['--agent-id', 'admin-agent-uuid', '--ttl', '8d']);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('--ttl 8d is longer than the maximum token lifetime of 7d (TMWS_MAX_TOKEN_TTL)');
  });

  it('token refuses an agent that does not exist, and an inactive one, with a non-zero exit and no token', () => {
    const unknown = cli('token.ts', ['--agent-id', 'nobody-here']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/no agent "nobody-here".*npm run agent:create/);

    cli('agent-create.ts', ['--agent-id', 'sleeper', '--namespace', 'admin', '--status', 'inactive']);
    const inactive = cli('token.ts', ['--agent-id', 'sleeper']);
    expect(inactive.status).not.toBe(0);
    expect(inactive.stdout).toBe('');
    expect(inactive.stderr).toMatch(/agent "sleeper" is inactive/);
  });

  it.each([
    'agent-create.ts',
    'token.ts',
    'migrate.ts',
    'backup.ts',
    'tools-reindex.ts',
    'print-schema.ts',
    'migration-create.ts',
    'eval-tool-search.ts',
  ])('%s answers --help with its usage and exit 0', (script) => {
    const result = cli(script, ['--help']);
    expect(result.status, `${script} --help: ${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run /);
    expect(result.stdout).toMatch(/--help, -h/);
  });

  // Every command parses its flags with the same parseCliArgs, so one spawn shows -h (each costs seconds).
  it('answers -h like --help', () => {
    const result = cli('token.ts', ['-h']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(cli('token.ts', ['--help']).stdout);
  });

  it('refuses an unknown flag with one line pointing at --help', () => {
    const result = cli('token.ts', ['--agent', 'x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("Unknown option '--agent' (see --help)");
  });

  it('backup writes a consistent copy and refuses to overwrite', () => {
    const out = join(dir, 'backup.db');
    const result = cli('backup.ts', ['--out', out]);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ backup: out, bytes: expect.any(Number) });
    expect(existsSync(out)).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(cli('backup.ts', ['--out', out]).stderr).toMatch(/already exists/);
  });
});
