import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/core';

/**
 * Where the previous page of a newest-first list ended: the sort key of its
 * last row. Every list sorts by a timestamp (newest first), then by id.
 */
export interface PagePosition {
  at: Date;
  id: string;
}

/**
 * One window of a list: after a position (keyset, GraphQL's cursors: rows
 * written or deleted meanwhile never shift the next page), or from an offset
 * (REST's `offset`, kept by the v2.3.0 contract).
 */
export interface PageRequest {
  limit: number;
  offset?: number;
  after?: PagePosition;
}

export interface Page<T> {
  rows: T[];
  /** Rows matching the filter, wherever the window is. */
  total: number;
  /** Whether rows follow this window. */
  hasMore: boolean;
  /** A row's place in the list's order: the position a next page is read after (a cursor names it). */
  positionOf(row: T): PagePosition;
}

/** The names of `T`'s Date properties: what a list can be sorted by. */
type DateKey<T> = { [K in keyof T]: T[K] extends Date ? K : never }[keyof T] & string;

/**
 * One page of rows, newest first by `timestamp`, then by id; the total of
 * the filter and whether more follow. Not MikroORM's `findAndCount`, which
 * runs its two queries inside an `AsyncLocalStorage`: the first
 * `AsyncLocalStorage.run` of a process switches on Node's promise hooks for
 * good, and from then on every promise of every request pays for them — one
 * dashboard listing connections was enough to make every tool call dearer
 * (bench/README.md, "Seventh round"). The two queries run side by side, as
 * there. One row past the window is read to learn whether more follow.
 */
export async function findPage<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  timestamp: DateKey<T>,
  page: PageRequest,
): Promise<Page<T>> {
  const seek: FilterQuery<T> = page.after ? ({ $and: [where, after(timestamp, page.after)] } as FilterQuery<T>) : where;
  const orderBy = { [timestamp]: 'desc', id: 'asc' };
  const [rows, total] = await Promise.all([
    em.find(entity, seek, { orderBy, limit: page.limit + 1, offset: page.offset ?? 0 }),
    em.count(entity, where),
  ]);
  const hasMore = rows.length > page.limit;
  if (hasMore) rows.pop();
  return { rows, total, hasMore, positionOf: (row) => ({ at: row[timestamp] as Date, id: row.id }) };
}

/**
 * Rows sorted after `position`: older, or as old with a greater id. The
 * leading `<=` is implied by the `$or`, but spelled out it hands any planner
 * the range to seek to in the timestamp index, without seeing through the `$or`.
 */
function after(timestamp: string, position: PagePosition): object {
  return {
    [timestamp]: { $lte: position.at },
    $or: [{ [timestamp]: { $lt: position.at } }, { id: { $gt: position.id } }],
  };
}
