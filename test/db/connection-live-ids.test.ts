import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../src/config/database-url.js';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ConnectionOwnerLookup, ConnectionRepository } from '../../src/db/repositories/connection.repository.js';

/**
 * The search index keeps only vectors of connections live in this database (SPEC §7a,
 * issue 18): the start-up prune asks which of the ids it found in Chroma are live.
 */
const POSTGRES_ADMIN_URL = process.env.TMWS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const owner = { agentId: 'prune-owner', namespace: 'prune', role: 'agent' as const };

function answersWhichConnectionsAreLive(open: () => Promise<MikroORM>) {
  let orm: MikroORM;

  beforeAll(async () => {
    orm = await open();
    await migrateUp(orm);
  });
  afterAll(async () => {
    await orm?.close(true);
  });

  it('names the active and error connections among the ids asked, in any number', async () => {
    const connections = new ConnectionRepository(orm.em);
    const insert = (serverName: string) =>
      connections.insert(owner, { serverName, url: 'http://127.0.0.1:1/mcp', timeoutSeconds: 30, headersSealed: null });
    const [connecting, active, failing, closed] = await Promise.all(['connecting', 'active', 'error', 'closed'].map(insert));
    await connections.update(owner, active!.id, { status: 'active' });
    await connections.update(owner, failing!.id, { status: 'error' });
    await connections.update(owner, closed!.id, { status: 'disconnected', liveName: null });

    // Ids found in a shared Chroma: mostly unknown here, more than one IN list holds, and junk.
    const unknown = Array.from({ length: 1_200 }, () => randomUUID());
    const asked = [...unknown.slice(0, 600), connecting!.id, active!.id, failing!.id, closed!.id, ...unknown.slice(600), 'not-a-uuid'];
    const live = await new ConnectionOwnerLookup(orm.em).liveIds(asked);
    expect([...live].sort()).toEqual([active!.id, failing!.id].sort());
  });
}

describe('live connection ids on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmws-live-ids-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  answersWhichConnectionsAreLive(() => openOrm({ driver: 'sqlite', path: join(dir, 'live.db') }));
});

describe('live connection ids on PostgreSQL', () => {
  const database = `tmws_test_${randomBytes(4).toString('hex')}`;
  let admin: MikroORM | undefined;

  beforeAll(async () => {
    admin = await openOrm({ driver: 'postgresql', url: POSTGRES_ADMIN_URL });
    await admin.em.getConnection().execute(`CREATE DATABASE ${database}`);
  });
  afterAll(async () => {
    await admin?.em.getConnection().execute(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin?.close(true);
  });

  const target = (): DatabaseTarget => {
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${database}`;
    return { driver: 'postgresql', url: url.href };
  };
  answersWhichConnectionsAreLive(() => openOrm(target()));
});
