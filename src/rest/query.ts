import { ValidationError } from '../errors/index.js';
import { CONNECTION_STATUSES, type ConnectionStatus } from '../services/domain.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../services/validation.js';

type Query = Record<string, string | string[] | undefined>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw ValidationError.field(name, `${name} may be given once`);
  return value;
}

function integer(query: Query, name: string, fallback: number, min: number, max: number): number {
  const raw = single(query, name);
  if (raw === undefined || raw === '') return fallback;
  // `-1` is an integer too, but out of range: say the range, as for `1000`.
  if (!/^-?\d+$/.test(raw)) throw ValidationError.field(name, `${name} must be an integer`);
  const value = Number(raw);
  if (value < min || value > max) throw ValidationError.field(name, `${name} must be between ${min} and ${max}`);
  return value;
}

/**
 * `?status=&limit=&offset=` of GET /connections (limit ≤ 100, default 20). An
 * empty value is no value, for each alike (a form's "any" choice sends `?status=`).
 */
export function parseConnectionListQuery(query: Query): { status?: ConnectionStatus; limit: number; offset: number } {
  const status = single(query, 'status');
  if (status !== undefined && status !== '' && !(CONNECTION_STATUSES as readonly string[]).includes(status)) {
    throw ValidationError.field('status', `status must be one of ${CONNECTION_STATUSES.join(', ')}`);
  }
  return {
    ...(status ? { status: status as ConnectionStatus } : {}),
    limit: integer(query, 'limit', DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT),
    offset: integer(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

export function stringParam(query: Query, name: string): string | undefined {
  return single(query, name);
}

/**
 * `?limit=` of the tool search: digits only, else a number the service refuses
 * with its own rule (so the message is the same whatever was wrong).
 */
export function parseSearchLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
}
