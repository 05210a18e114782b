import type { Knex } from '@mikro-orm/knex';

/**
 * Runs the execution write queue's statements. Every tool call waits for its
 * execution row before it answers, so on SQLite the cost of this one
 * statement is part of the gateway's added latency.
 */
export interface SqlRunner {
  /** Runs one statement; resolves with the rows it returned (RETURNING), `[]` when none. */
  query(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

/** PostgreSQL (or any knex driver): a statement per call, through knex. */
export function knexRunner(knex: () => Knex): SqlRunner {
  return {
    async query(sql, params) {
      const result: unknown = await knex().raw(sql, params as Knex.RawBinding[]);
      // pg answers with `{ rows }`; SQLite drivers with the rows themselves.
      if (Array.isArray(result)) return result as Record<string, unknown>[];
      return (result as { rows?: Record<string, unknown>[] } | null)?.rows ?? [];
    },
  };
}

/** The parts of better-sqlite3 this runner uses. */
interface SqliteStatement {
  readonly reader: boolean;
  all(params: readonly unknown[]): Record<string, unknown>[];
  run(params: readonly unknown[]): unknown;
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
}

/** Distinct statements kept per connection: one insert and one update per batch size stays far below this. */
const MAX_CACHED_STATEMENTS = 512;

/**
 * SQLite: prepared statements on the pooled better-sqlite3 connection, kept
 * per connection and reused, run synchronously. Compiling the 18-column
 * INSERT and two hops through the thread pool were most of the statement's
 * cost; a reused statement writes one row in tens of microseconds. The
 * connection is still borrowed from knex's pool for each statement, exactly
 * like knex does, so a MikroORM transaction in progress keeps the connection
 * to itself (our row never joins, or rolls back with, somebody else's
 * transaction); a connection the pool replaces gets its own statements.
 */
export function sqlitePreparedRunner(knex: () => Knex, options: { commitWithoutSync?: boolean } = {}): SqlRunner {
  const statements = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();

  const prepared = (db: SqliteDatabase, sql: string): SqliteStatement => {
    let cache = statements.get(db);
    if (!cache) statements.set(db, (cache = new Map<string, SqliteStatement>()));
    let statement = cache.get(sql);
    if (!statement) {
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };

  return {
    async query(sql, params) {
      const client = knex().client as unknown as {
        acquireConnection(): Promise<SqliteDatabase>;
        releaseConnection(connection: SqliteDatabase): Promise<void>;
      };
      const db = await client.acquireConnection();
      try {
        // The caller makes the commit durable itself, off the main thread (wal-sync.ts); the
        // connection's own level (FULL, see orm.ts) is back before anyone else uses it.
        if (options.commitWithoutSync) prepared(db, 'PRAGMA synchronous = NORMAL').run([]);
        const statement = prepared(db, sql);
        if (statement.reader) return statement.all(params);
        statement.run(params);
        return [];
      } finally {
        if (options.commitWithoutSync) prepared(db, 'PRAGMA synchronous = FULL').run([]);
        await client.releaseConnection(db);
      }
    },
  };
}
