/**
 * SPEC §14: the database folder, file, WAL and shared-memory files are
 * owner-only (0700 / 0600) whatever the process umask lets through.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentSchema } from '../../src/db/entities/index.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { readDevSecret, saveDevSecret } from '../../src/config/secret-key.js';

const root = mkdtempSync(join(tmpdir(), 'tmws-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

describe('database file modes', () => {
  it('creates the data folder 0700 and the database, WAL and SHM files 0600', async () => {
    const previous = process.umask(0o022);
    try {
      const dir = join(root, 'fresh', 'data');
      const path = join(dir, 'tmws.db');
      const orm = await openOrm({ driver: 'sqlite', path });
      try {
        await migrateUp(orm);
        const em = orm.em.fork();
        em.create(AgentSchema, { id: 'mode-agent', namespace: 'modes', name: 'm', role: 'agent', status: 'active' });
        await em.flush();
        expect(mode(join(root, 'fresh'))).toBe(0o700);
        expect(mode(dir)).toBe(0o700);
        expect(mode(path)).toBe(0o600);
        expect(mode(`${path}-wal`)).toBe(0o600);
        expect(mode(`${path}-shm`)).toBe(0o600);
      } finally {
        await orm.close(true);
      }
    } finally {
      process.umask(previous);
    }
  });

  it('tightens a database file that was left world-readable', async () => {
    const path = join(root, 'old.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const orm = await openOrm({ driver: 'sqlite', path });
    await orm.close(true);
    expect(mode(path)).toBe(0o600);
  });

  it('creates the development secret’s folder 0700', () => {
    const path = join(root, 'dev', 'data', 'secret.key');
    saveDevSecret(readDevSecret(path));
    expect(mode(join(root, 'dev', 'data'))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
  });
});
