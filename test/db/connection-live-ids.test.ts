import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ConnectionOwnerLookup, ConnectionRepository } from '../../src/db/repositories/connection.repository.js';
import { suiteDatabase } from '../helpers/database.js';

/**
 * The search index keeps only vectors of connections live in this database (SPEC §7a,
 * issue 18): the start-up prune asks which of the ids it found in Chroma are live.
 */
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
  const target = suiteDatabase('sqlite');
  answersWhichConnectionsAreLive(() => openOrm(target));
});

describe('live connection ids on PostgreSQL', () => {
  const target = suiteDatabase('postgresql');
  answersWhichConnectionsAreLive(() => openOrm(target));
});
