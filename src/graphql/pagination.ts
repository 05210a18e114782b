import { cursorToOffset, offsetToCursor } from '@pothos/plugin-relay';
import { ValidationError } from '../errors/index.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../services/validation.js';

/** Relay arguments of the list fields (forward pagination only). */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface PageWindow {
  offset: number;
  limit: number;
}

/**
 * `first` (default 20, at most 100 — the REST list limits) and `after` (an
 * opaque cursor from a previous page) → the offset window to read.
 * Out-of-range values are a VALIDATION_ERROR, as `?limit=101` is in REST.
 */
export function pageWindow(args: PageArgs): PageWindow {
  const limit = args.first ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw ValidationError.field('first', `first must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  if (args.after === undefined || args.after === null) return { offset: 0, limit };
  let position: number;
  try {
    position = cursorToOffset(args.after);
  } catch {
    throw ValidationError.field('after', 'after is not a cursor returned by this field');
  }
  if (!Number.isSafeInteger(position) || position < 0) {
    throw ValidationError.field('after', 'after is not a cursor returned by this field');
  }
  return { offset: position + 1, limit };
}

/** One page of rows as a Relay connection with `totalCount`. */
export function toConnection<T>(rows: readonly T[], total: number, window: PageWindow) {
  const edges = rows.map((node, index) => ({ cursor: offsetToCursor(window.offset + index), node }));
  return {
    edges,
    totalCount: total,
    pageInfo: {
      hasNextPage: window.offset + rows.length < total,
      hasPreviousPage: window.offset > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
