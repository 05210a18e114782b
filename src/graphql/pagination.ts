import { ValidationError } from '../errors/index.js';
import type { Page, PagePosition } from '../services/domain.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../services/validation.js';

/** Relay arguments of the list fields (forward pagination only). */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface PageWindow {
  limit: number;
  after?: PagePosition;
}

/** The list fields that page; a cursor names its field, so one list's cursor is refused by another. */
export type ListField = 'connections' | 'executions' | 'governanceAudit';

/**
 * A cursor names the row it stands for by its sort key (timestamp and id),
 * not by its place in the list: the next page starts right after that row
 * however many rows were written or deleted meanwhile, so paging through a
 * busy namespace neither repeats nor skips a row.
 */
const CURSOR_VERSION = 'k1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeCursor(field: ListField, position: PagePosition): string {
  return Buffer.from(`${CURSOR_VERSION}:${field}:${position.at.getTime()}:${position.id}`).toString('base64url');
}

function decodeCursor(field: ListField, cursor: string): PagePosition {
  const [version, named, millis, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const valid =
    version === CURSOR_VERSION && named === field && rest.length === 0 && /^\d{1,15}$/.test(millis ?? '') && UUID.test(id ?? '');
  if (!valid) throw ValidationError.field('after', 'after is not a cursor returned by this field');
  return { at: new Date(Number(millis)), id: id as string };
}

/**
 * `first` (default 20, at most 100 — the REST list limits) and `after` (an
 * opaque cursor from a previous page) → the window to read.
 * Out-of-range values are a VALIDATION_ERROR, as `?limit=101` is in REST.
 */
export function pageWindow(field: ListField, args: PageArgs): PageWindow {
  const limit = args.first ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw ValidationError.field('first', `first must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  if (args.after === undefined || args.after === null) return { limit };
  return { limit, after: decodeCursor(field, args.after) };
}

/** One page of rows as a Relay connection with `totalCount`, each cursor naming its row's place in the list. */
export function toConnection<T>(field: ListField, page: Page<T>, window: PageWindow) {
  const edges = page.rows.map((node) => ({ cursor: encodeCursor(field, page.positionOf(node)), node }));
  return {
    edges,
    totalCount: page.total,
    pageInfo: {
      hasNextPage: page.hasMore,
      // Relay lets a forward-only list answer this cheaply: rows came before the cursor it was given.
      hasPreviousPage: window.after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
