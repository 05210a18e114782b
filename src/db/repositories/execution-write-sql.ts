/**
 * The SQL of the execution write queue: column lists, the multi-row INSERT
 * and UPDATE, and how a terminal state applies to a row not yet written.
 */

/** Values of one new execution row, in INSERT_COLUMNS order (already encoded for the driver). */
export type InsertValues = unknown[];

/** The terminal state of one execution, in FINISH_COLUMNS order after the id (already encoded). */
export interface FinishWrite {
  id: string;
  namespace: string;
  /** `null` for an admin scope (the whole namespace). */
  agentId: string | null;
  /** status, is_error, result, error_code, error_message, finished_at, duration_ms, updated_at */
  values: unknown[];
}

export const INSERT_COLUMNS = [
  'id',
  'created_at',
  'updated_at',
  'namespace',
  'agent_id',
  'connection_id',
  'tool_name',
  'arguments',
  'status',
  'source',
  'request_id',
  'is_error',
  'result',
  'error_code',
  'error_message',
  'started_at',
  'finished_at',
  'duration_ms',
  'instance_id',
] as const;

/** Terminal-state columns, set by `finish` (same order as FinishWrite.values). */
export const FINISH_COLUMNS = [
  'status',
  'is_error',
  'result',
  'error_code',
  'error_message',
  'finished_at',
  'duration_ms',
  'updated_at',
] as const;

/** PostgreSQL types of the VALUES list of the batched UPDATE (untyped parameters would be text). */
const POSTGRES_FINISH_TYPES = [
  'uuid',
  'varchar',
  'varchar',
  'text',
  'boolean',
  'jsonb',
  'varchar',
  'text',
  'timestamptz',
  'int',
  'timestamptz',
];

/** Rows per statement; far below SQLite's and PostgreSQL's bound-parameter limits. */
export const MAX_ROWS_PER_STATEMENT = 200;

const column = (name: string): number => INSERT_COLUMNS.indexOf(name as (typeof INSERT_COLUMNS)[number]);
const STATUS = column('status');
const NAMESPACE = column('namespace');
const AGENT_ID = column('agent_id');

export function insertSql(rows: number): string {
  return memoized(insertSqls, rows, buildInsertSql);
}

/** The statements by row count: a batch's SQL is built once per size, not per batch (one row, at C=1, every call). */
const insertSqls = new Map<number, string>();
const updateSqls = { sqlite: new Map<number, string>(), postgresql: new Map<number, string>() };

function memoized(cache: Map<number, string>, rows: number, build: (rows: number) => string): string {
  let sql = cache.get(rows);
  if (sql === undefined) cache.set(rows, (sql = build(rows)));
  return sql;
}

function buildInsertSql(rows: number): string {
  const tuple = `(${INSERT_COLUMNS.map(() => '?').join(', ')})`;
  const columns = INSERT_COLUMNS.map((c) => `"${c}"`).join(', ');
  return `insert into "executions" (${columns}) values ${Array.from({ length: rows }, () => tuple).join(', ')}`;
}

/**
 * One UPDATE for many rows: `update … from (values …)`, supported by SQLite
 * (3.33+, RETURNING 3.35+) and PostgreSQL alike. VALUES columns are named
 * column1…columnN in both. RETURNING tells which rows were still RUNNING.
 */
export function updateSql(rows: number, postgres: boolean): string {
  return memoized(postgres ? updateSqls.postgresql : updateSqls.sqlite, rows, (count) => buildUpdateSql(count, postgres));
}

function buildUpdateSql(rows: number, postgres: boolean): string {
  const placeholders = POSTGRES_FINISH_TYPES.map((type) => (postgres ? `?::${type}` : '?')).join(', ');
  const tuples = Array.from({ length: rows }, () => `(${placeholders})`).join(', ');
  // v.column1 id, column2 namespace, column3 agent id (null: admin scope), then FINISH_COLUMNS.
  const set = FINISH_COLUMNS.map((name, i) => `"${name}" = v.column${i + 4}`).join(', ');
  return (
    `update "executions" set ${set} from (values ${tuples}) as v ` +
    `where "executions"."id" = v.column1 and "executions"."status" = 'RUNNING' ` +
    `and "executions"."namespace" = v.column2 and (v.column3 is null or "executions"."agent_id" = v.column3) ` +
    'returning "executions"."id"'
  );
}

/** Whether a finish would match the not-yet-written row (RUNNING, same namespace, owner unless admin scope). */
export function inScope(values: InsertValues, write: FinishWrite): boolean {
  return (
    values[STATUS] === 'RUNNING' && values[NAMESPACE] === write.namespace && (write.agentId === null || values[AGENT_ID] === write.agentId)
  );
}

export function applyFinish(values: InsertValues, write: FinishWrite): InsertValues {
  const next = [...values];
  FINISH_COLUMNS.forEach((name, i) => {
    next[column(name)] = write.values[i];
  });
  return next;
}
