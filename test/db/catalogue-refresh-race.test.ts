import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp, openOrm } from '../../src/db/orm.js';
import { ConnectionRepository } from '../../src/db/repositories/connection.repository.js';
import { suiteDatabase } from '../helpers/database.js';

/**
 * Two instances may store one connection's catalogue at the same moment (an upstream
 * `list_changed` handled on one, `GET …/tools` on the other). Each store replaces the
 * catalogue; none may fail on the other's rows (that was a 500 on PostgreSQL).
 */
const owner = { agentId: 'race-owner', namespace: 'race', role: 'agent' as const };
const tools = ['alpha', 'beta', 'gamma'].map((name) => ({ name, description: `the ${name} tool`, inputSchema: { type: 'object' } }));

function storesOneCatalogueAtATime(open: () => Promise<MikroORM>, instances: number) {
  const orms: MikroORM[] = [];

  beforeAll(async () => {
    // One ORM per instance, each with its own pool (SQLite: one process per database file).
    for (let i = 0; i < instances; i += 1) orms.push(await open());
    await migrateUp(orms[0]!);
  });
  afterAll(async () => {
    await Promise.all(orms.map((orm) => orm.close(true)));
  });

  it('lets concurrent replacements of one catalogue take turns, ending with one whole catalogue', async () => {
    const repositories = orms.map((orm) => new ConnectionRepository(orm.em));
    const first = repositories[0]!;
    const connection = await first.insert(owner, {
      serverName: 'raced',
      url: 'http://127.0.0.1:1/mcp',
      timeoutSeconds: 30,
      headersSealed: null,
    });
    const stores = Array.from({ length: 8 }, (_, i) => repositories[i % repositories.length]!.replaceTools(owner, connection.id, tools));
    await expect(Promise.all(stores)).resolves.toHaveLength(8);
    const stored = await repositories.at(-1)!.tools(owner, connection.id);
    expect(stored.map((tool) => tool.name)).toEqual(['alpha', 'beta', 'gamma']);
  });
}

describe('catalogue refresh race on SQLite', () => {
  const target = suiteDatabase('sqlite');
  storesOneCatalogueAtATime(() => openOrm(target), 1);
});

describe('catalogue refresh race on PostgreSQL, two instances', () => {
  const target = suiteDatabase('postgresql');
  storesOneCatalogueAtATime(() => openOrm(target), 2);
});
