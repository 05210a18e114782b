/**
 * SPEC §13: deploy/backup/tmws-backup.sh while the gateway is writing — a consistent online copy,
 * compressed and encrypted — then tmws-restore.sh into a fresh data directory and a gateway
 * started on it that serves every execution answered before the backup began; retention deletes
 * only backups older than the configured days.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { secretKeyBytes, signAgentToken } from '../../src/auth/jwt.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { AgentRepository } from '../../src/db/repositories/agent.repository.js';
import { ExecutionDocument } from '../gql/graphql.js';
import { eventually } from '../helpers/eventually.js';
import { TEST_SECRET } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { requireTool } from '../helpers/system-tools.js';

const root = process.cwd();
const AGENT = { id: 'backup-agent', namespace: 'backup-ns' };
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs a deploy script; resolves with its stdout, rejects with everything it said on failure. */
function runScript(script: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, 'deploy/backup', script), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', TMWS_INSTALL_DIR: root, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(stdout.trim()) : reject(new Error(`${script} exited ${code}: ${stderr}`))));
  });
}

function gatewayEnv(databaseUrl: string): Record<string, string> {
  return { TMWS_SECRET_KEY: TEST_SECRET, TMWS_DATABASE_URL: databaseUrl, TMWS_CHROMA_URL: inject('chromaUrl') };
}

async function started(env: Record<string, string>): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(env);
  cleanups.push(() => gateway.kill());
  return gateway;
}

describe('deploy/backup', () => {
  it('backs up under write load (compressed, encrypted), restores into a fresh data dir, and a gateway on it has every row', async () => {
    requireTool('gpg', 'gnupg');
    requireTool('gzip', 'gzip');
    const data = tempDir('tmws-backup-data-');
    const databaseUrl = `sqlite:///${join(data, 'tmws.db')}`;
    const orm = await openOrm({ driver: 'sqlite', path: join(data, 'tmws.db') });
    await migrateUp(orm);
    await new AgentRepository(orm.em).upsert({ ...AGENT, name: 'backup', role: 'agent', status: 'active' });
    await orm.close(true);
    const token = await signAgentToken(AGENT.id, secretKeyBytes(TEST_SECRET), 3600);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const gateway = await started(gatewayEnv(databaseUrl));
    const created = await fetch(`${gateway.url}/api/v1/mcp/connections`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ server_name: 'everything', url: inject('everythingUrl') }),
    });
    expect(created.status).toBe(201);
    const connectionId = ((await created.json()) as { id: string }).id;

    // Write load: four callers executing back to back until the backup is done.
    const answered: string[] = [];
    let writing = true;
    const callers = Array.from({ length: 4 }, async (_, caller) => {
      for (let i = 0; writing; i++) {
        const response = await fetch(`${gateway.url}/api/v1/mcp/connections/${connectionId}/tools/echo/execute`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ arguments: { message: `caller ${caller} call ${i}` } }),
        });
        expect(response.status).toBe(200);
        answered.push(((await response.json()) as { execution_id: string }).execution_id);
      }
    });
    await eventually(() => answered.length >= 20, 30_000, '20 executions answered');

    const backups = tempDir('tmws-backups-');
    const passphrase = join(tempDir('tmws-backup-key-'), 'passphrase');
    writeFileSync(passphrase, 'correct horse battery staple\n', { mode: 0o600 });
    const backupEnv = { ...gatewayEnv(databaseUrl), TMWS_BACKUP_DIR: backups, TMWS_BACKUP_PASSPHRASE_FILE: passphrase };
    // Retention: a 31-day-old backup goes, a 29-day-old one stays.
    const day = 86_400;
    for (const [name, ageDays] of [
      ['tmws-20000101T000000Z.db.gz.gpg', 31],
      ['tmws-20000102T000000Z.db.gz.gpg', 29],
    ] as const) {
      writeFileSync(join(backups, name), 'old');
      const when = Date.now() / 1000 - ageDays * day;
      utimesSync(join(backups, name), when, when);
    }
    const beforeBackup = [...answered];
    const backup = await runScript('tmws-backup.sh', [], backupEnv);
    const duringBackup = answered.length - beforeBackup.length;
    writing = false;
    await Promise.all(callers);

    expect(backup).toMatch(/\/tmws-\d{8}T\d{6}Z\.db\.gz\.gpg$/);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(readdirSync(backups).sort()).toEqual(['tmws-20000102T000000Z.db.gz.gpg', backup.split('/').at(-1)]);
    // Encrypted: no SQLite header, no tenant data in the clear.
    const raw = readFileSync(backup);
    expect(raw.includes('SQLite format')).toBe(false);
    expect(raw.includes(AGENT.namespace)).toBe(false);

    const restoredDir = join(tempDir('tmws-restored-'), 'data');
    const restoredDb = join(restoredDir, 'tmws.db');
    await expect(
      runScript('tmws-restore.sh', [backup, restoredDb], { TMWS_BACKUP_PASSPHRASE_FILE: join(backups, 'missing') }),
    ).rejects.toThrow();
    expect(existsSync(restoredDb)).toBe(false);
    await runScript('tmws-restore.sh', [backup, restoredDb], { TMWS_BACKUP_PASSPHRASE_FILE: passphrase });

    const restored = await started(gatewayEnv(`sqlite:///${restoredDb}`));
    const ready = await fetch(`${restored.url}/health/ready`);
    expect(ready.status).toBe(200);
    const found = await Promise.all(
      beforeBackup.map(async (id) => {
        const response = await fetch(`${restored.url}/graphql`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: print(ExecutionDocument), variables: { id } }),
        });
        return ((await response.json()) as { data?: { execution: { id: string; status: string } | null } }).data?.execution;
      }),
    );
    expect(found.map((e) => e?.status)).toEqual(beforeBackup.map(() => 'COMPLETED'));
    // The copy was taken while writes went on (and the gateway never paused for it).
    expect(duringBackup).toBeGreaterThan(0);
  }, 120_000);
});
