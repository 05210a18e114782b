import type { EntityManager, EntityName, FilterQuery, FindOptions } from '@mikro-orm/core';

/** The sort and window of one page of a list. */
export type PageOptions<T extends object> = Pick<FindOptions<T>, 'orderBy' | 'limit' | 'offset'>;

/**
 * One page of rows and the total of the filter, like MikroORM's `findAndCount` — which runs its two
 * queries inside an `AsyncLocalStorage`. The first `AsyncLocalStorage.run` of a process switches on
 * Node's promise hooks for good, and from then on every promise of every request pays for them: one
 * dashboard listing connections (or the MCP endpoint loading a caller's catalogue) was enough to
 * make every tool call dearer (bench/README.md, "Seventh round"). The two queries run side by side, as
 * there.
 */
export async function findPage<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  options: PageOptions<T>,
): Promise<[rows: T[], total: number]> {
  return Promise.all([em.find(entity, where, options), em.count(entity, where)]);
}
