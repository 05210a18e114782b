import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager, type FilterQuery, type Transaction } from '@mikro-orm/core';
import type { Principal } from '../../auth/principal.js';
import { canManage } from '../../auth/principal.js';
import { AuthorizationError, ConnectionNotFoundError, DuplicateConnectionError } from '../../errors/index.js';
import { McpConnectionSchema, ToolPinSchema, ToolSchema, type ConnectionStatus, type McpConnection, type Tool } from '../entities/index.js';
import { LoadingCache } from '../../common/loading-cache.js';
import { storableStructure } from '../../common/storable-text.js';
import type { CatalogueReview, PinView, PreviousTool } from './catalogue-review.types.js';
import { findPage, type Page, type PageRequest } from './find-page.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * How long a connection row read for the execute hot path is reused. Every
 * write through this repository drops it at once, so this instance sees a
 * disconnect immediately; the TTL bounds how long a change made by another
 * gateway instance (shared PostgreSQL) takes to be seen.
 */
export const CONNECTION_CACHE_TTL_MS = 1_000;
/** Above this many cached rows the cache starts over (ids are unbounded, memory must not be). */
const CONNECTION_CACHE_MAX_ENTRIES = 10_000;

export interface NewConnection {
  serverName: string;
  url: string;
  timeoutSeconds: number;
  headersSealed: string | null;
}

export interface ConnectionListQuery extends PageRequest {
  /** `undefined` lists live connections (everything but `disconnected`). */
  status?: ConnectionStatus;
}

/** The catalogue's review of a fresh listing, decided inside the replacing transaction (see replaceTools). */
export interface CatalogueReviewer {
  (known: { pins: ReadonlyMap<string, PinView>; previous: ReadonlyMap<string, PreviousTool> }): CatalogueReview;
}

export interface CatalogueTool {
  name: string;
  title?: string | null;
  description: string | null;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown> | null;
  annotations?: Record<string, unknown> | null;
}

/**
 * Connections and their tool catalogues. Every method takes the verified
 * principal; the filters on namespace (and owner, for non-admins) are applied
 * here, so no caller can forget them.
 *
 * Writes use MikroORM's native operations (insert, nativeUpdate, insertMany in
 * an explicit transaction), never `flush()`/`transactional()`, and lists use
 * `findPage`, never `findAndCount`: all three run inside an AsyncLocalStorage,
 * and the first such call switches on Node's promise hooks for the rest of the
 * process — a cost every promise of every request (including every tool call)
 * would then pay (test/db/no-async-local-storage.test.ts).
 */
export class ConnectionRepository {
  /** Rows by id; an entry still loading is shared by every caller that misses meanwhile (one query, not one per caller). */
  private readonly hot = new LoadingCache<string, McpConnection | null>(CONNECTION_CACHE_TTL_MS, CONNECTION_CACHE_MAX_ENTRIES);
  /** Bumped around every write; a read that overlapped a write must not be cached. */
  private writes = 0;

  constructor(private readonly em: EntityManager) {}

  /** The principal's visible scope: its namespace, and only its own rows unless admin. */
  private scope(principal: Principal): { namespace: string; agentId?: string } {
    return principal.role === 'admin' ? { namespace: principal.namespace } : { namespace: principal.namespace, agentId: principal.agentId };
  }

  /**
   * Loads a connection the principal may read. An id that exists elsewhere is
   * a 403 (the spec distinguishes it), an id that exists nowhere a 404; the
   * foreign row itself never leaves this method.
   */
  async findReadable(principal: Principal, id: string): Promise<McpConnection> {
    if (!UUID_PATTERN.test(id)) throw new ConnectionNotFoundError(id);
    const row = await this.em.fork().findOne(McpConnectionSchema, { id });
    return assertReadable(principal, id, row);
  }

  /**
   * `findReadable` for the execute hot path: the same 403/404 answers, but the
   * row may come from a short-lived cache (see CONNECTION_CACHE_TTL_MS). The
   * returned row is shared between callers and must not be modified.
   */
  async findReadableCached(principal: Principal, id: string): Promise<McpConnection> {
    if (!UUID_PATTERN.test(id)) throw new ConnectionNotFoundError(id);
    const generation = this.writes;
    const row = await this.hot.get(
      id,
      () => this.em.fork().findOne(McpConnectionSchema, { id }),
      // Unknown ids and reads that overlapped a write are answered, not kept.
      (found) => found !== null && generation === this.writes,
    );
    return assertReadable(principal, id, row);
  }

  async list(principal: Principal, query: ConnectionListQuery): Promise<Page<McpConnection>> {
    const where: FilterQuery<McpConnection> = {
      ...this.scope(principal),
      status: query.status ?? { $ne: 'disconnected' },
    };
    return findPage(this.em.fork(), McpConnectionSchema, where, 'createdAt', query);
  }

  /** Live (not disconnected) connections owned by the principal itself, for the policy's per-agent cap. */
  async countLiveOwned(principal: Principal): Promise<number> {
    return this.em.fork().count(McpConnectionSchema, {
      namespace: principal.namespace,
      agentId: principal.agentId,
      status: { $ne: 'disconnected' },
    });
  }

  /** Inserts a `connecting` row owned by the principal; the live-name index makes duplicates a 409. */
  async insert(principal: Principal, input: NewConnection): Promise<McpConnection> {
    const em = this.em.fork();
    const now = new Date();
    const row = em.create(
      McpConnectionSchema,
      {
        id: randomUUID(),
        createdAt: now,
        updatedAt: now,
        namespace: principal.namespace,
        agentId: principal.agentId,
        serverName: input.serverName,
        liveName: input.serverName,
        url: input.url,
        timeoutSeconds: input.timeoutSeconds,
        headersSealed: input.headersSealed,
        status: 'connecting',
        errorMessage: null,
        connectedAt: null,
        disconnectedAt: null,
      },
      { persist: false },
    );
    try {
      await em.insert(row);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new DuplicateConnectionError(input.serverName);
      throw error;
    }
    return row;
  }

  async update(
    principal: Principal,
    id: string,
    changes: Partial<Pick<McpConnection, 'status' | 'errorMessage' | 'connectedAt' | 'disconnectedAt' | 'liveName'>>,
  ): Promise<McpConnection> {
    return this.writing(id, async () => {
      const em = this.em.fork();
      const row = await em.findOneOrFail(McpConnectionSchema, { ...this.scope(principal), id });
      const applied = { ...changes, updatedAt: new Date() };
      await em.nativeUpdate(McpConnectionSchema, { id }, applied);
      // The fork is never flushed: the row only mirrors what was written.
      return Object.assign(row, applied);
    });
  }

  /** Removes a connection that never became live (failed create), with its catalogue. */
  async deleteFailed(principal: Principal, id: string): Promise<void> {
    await this.writing(id, async () => {
      const em = this.em.fork();
      await em.nativeDelete(ToolSchema, { connectionId: id, namespace: principal.namespace });
      await em.nativeDelete(ToolPinSchema, { connectionId: id, namespace: principal.namespace });
      await em.nativeDelete(McpConnectionSchema, { ...this.scope(principal), id });
    });
  }

  /** Runs a write of connection `id`, dropping its cached row before and after (and on failure). */
  private async writing<T>(id: string, write: () => Promise<T>): Promise<T> {
    this.writes += 1;
    this.hot.delete(id);
    try {
      return await write();
    } finally {
      this.writes += 1;
      this.hot.delete(id);
    }
  }

  async tools(principal: Principal, connectionId: string): Promise<Tool[]> {
    return this.toolsOf(principal, [connectionId]);
  }

  /** Catalogues of several connections in one query (no N+1). */
  async toolsOf(principal: Principal, connectionIds: readonly string[]): Promise<Tool[]> {
    return (await this.cataloguesOf(principal, connectionIds)).tools;
  }

  /** `toolsOf`, with the server name of each readable connection (what the tool policy's globs match). */
  async cataloguesOf(
    principal: Principal,
    connectionIds: readonly string[],
  ): Promise<{ connections: Pick<McpConnection, 'id' | 'serverName'>[]; tools: Tool[] }> {
    if (connectionIds.length === 0) return { connections: [], tools: [] };
    const em = this.em.fork();
    const readable = await em.find(
      McpConnectionSchema,
      { ...this.scope(principal), id: { $in: [...connectionIds] } },
      { fields: ['id', 'serverName'] },
    );
    if (readable.length === 0) return { connections: [], tools: [] };
    const tools = await em.find(
      ToolSchema,
      { namespace: principal.namespace, connectionId: { $in: readable.map((c) => c.id) } },
      { orderBy: { connectionId: 'asc', position: 'asc' } },
    );
    return { connections: readable, tools };
  }

  /**
   * Replaces the stored catalogue of a connection with the upstream's current
   * list, in one transaction. `review` compares the listing with the pins read
   * in that transaction (two instances refreshing at once take turns, so each
   * sees the other's pins); without one, every tool is stored approved.
   */
  async replaceTools(principal: Principal, connectionId: string, tools: CatalogueTool[], review?: CatalogueReviewer): Promise<Tool[]> {
    const em = this.em.fork();
    const connection = em.getConnection();
    const ctx: Transaction<unknown> = await connection.begin();
    try {
      // Two instances may refresh one catalogue at once (an upstream list_changed on one, GET …/tools on the
      // other). They must take turns, or the second delete-then-insert collides with the first's new rows
      // (PostgreSQL) or fails to upgrade its read to a write (SQLite, another process on the file). A no-op
      // write to the connection's row, first, takes the row lock (PostgreSQL) or the write lock (SQLite).
      await connection.execute('update mcp_connections set id = id where id = ?', [connectionId], 'run', ctx);
      await em.findOneOrFail(McpConnectionSchema, { ...this.scope(principal), id: connectionId }, { ctx });
      // Upstream text: NUL and lone surrogates (refused by PostgreSQL) are stored as U+FFFD.
      const stored = tools.map(storableStructure);
      const decided = review ? await this.reviewIn(em, ctx, principal, connectionId, review) : undefined;
      await em.nativeDelete(ToolSchema, { connectionId, namespace: principal.namespace }, { ctx });
      const now = new Date();
      const rows = stored.map((tool, position) =>
        em.create(
          ToolSchema,
          {
            id: randomUUID(),
            createdAt: now,
            updatedAt: now,
            connectionId,
            namespace: principal.namespace,
            name: tool.name,
            title: tool.title ?? null,
            description: tool.description,
            inputSchema: tool.inputSchema,
            outputSchema: tool.outputSchema ?? null,
            annotations: tool.annotations ?? null,
            position,
            definitionHash: decided?.reviews[position]?.definitionHash ?? null,
            reviewState: decided?.reviews[position]?.reviewState ?? 'approved',
            reviewReasons: decided?.reviews[position]?.reviewReasons ?? null,
          },
          { persist: false },
        ),
      );
      if (rows.length > 0) await em.insertMany(rows, undefined, { ctx });
      const pins = (decided?.newPins ?? []).map((pin) =>
        em.create(
          ToolPinSchema,
          {
            id: randomUUID(),
            createdAt: now,
            updatedAt: now,
            connectionId,
            namespace: principal.namespace,
            rejectedHash: null,
            ...pin,
            // Upstream text, like the catalogue row: NUL and lone surrogates stored as U+FFFD.
            pinnedDefinition: pin.pinnedDefinition && storableStructure(pin.pinnedDefinition),
          },
          { persist: false },
        ),
      );
      if (pins.length > 0) await em.insertMany(pins, undefined, { ctx });
      await connection.commit(ctx);
      return rows;
    } catch (error) {
      await connection.rollback(ctx).catch(() => undefined);
      throw error;
    }
  }

  /** Reads what the review compares against (pins, the previous catalogue's names) inside the replacing transaction. */
  private async reviewIn(
    em: EntityManager,
    ctx: Transaction<unknown>,
    principal: Principal,
    connectionId: string,
    review: CatalogueReviewer,
  ): Promise<CatalogueReview> {
    const where = { connectionId, namespace: principal.namespace };
    const pins = await em.find(ToolPinSchema, where, { ctx, fields: ['toolName', 'pinnedHash', 'rejectedHash'] });
    const previous = await em.find(ToolSchema, where, { ctx, fields: ['name', 'definitionHash', 'reviewState'] });
    const known = {
      pins: new Map(pins.map((pin) => [pin.toolName, { pinnedHash: pin.pinnedHash ?? null, rejectedHash: pin.rejectedHash ?? null }])),
      previous: new Map(
        previous.map((tool) => [tool.name, { definitionHash: tool.definitionHash ?? null, reviewState: tool.reviewState }]),
      ),
    };
    return review(known);
  }
}

/** 404 for an id that exists nowhere, 403 for one the principal may not read; the foreign row never leaves. */
function assertReadable(principal: Principal, id: string, row: McpConnection | null): McpConnection {
  if (!row) throw new ConnectionNotFoundError(id);
  if (!canManage(principal, row)) throw new AuthorizationError('Connection belongs to another agent or namespace');
  return row;
}

/** Statuses whose tools are catalogued and searchable. */
const LIVE_STATUSES: ConnectionStatus[] = ['active', 'error'];
/** Ids per `IN (…)` list: well under SQLite's and PostgreSQL's parameter limits. */
const LIVE_ID_CHUNK = 500;

/**
 * The gateway's own background work (upstream notifications, re-indexing)
 * has no caller; it acts as the connection's owner. Kept apart from the
 * request-facing repository so that no route can reach it by accident.
 */
export class ConnectionOwnerLookup {
  constructor(private readonly em: EntityManager) {}

  async ownerOf(connectionId: string): Promise<Principal | null> {
    if (!UUID_PATTERN.test(connectionId)) return null;
    const row = await this.em.fork().findOne(McpConnectionSchema, { id: connectionId }, { fields: ['agentId', 'namespace'] });
    return row ? { agentId: row.agentId, namespace: row.namespace, role: 'agent' } : null;
  }

  /** Connections in the `active` state across every namespace and instance (the `mcp_connections_active` gauge). */
  async countActive(): Promise<number> {
    return this.em.fork().count(McpConnectionSchema, { status: 'active' });
  }

  /** Which of `ids` are live connections (active or error): the search index keeps only their vectors. */
  async liveIds(ids: readonly string[]): Promise<Set<string>> {
    const valid = ids.filter((id) => UUID_PATTERN.test(id));
    const live = new Set<string>();
    const em = this.em.fork();
    for (let start = 0; start < valid.length; start += LIVE_ID_CHUNK) {
      const where = { id: { $in: valid.slice(start, start + LIVE_ID_CHUNK) }, status: { $in: LIVE_STATUSES } };
      for (const row of await em.find(McpConnectionSchema, where, { fields: ['id'] })) live.add(row.id);
    }
    return live;
  }

  /** Every live connection with its catalogue, for `tools:reindex`. */
  async *liveCatalogues(): AsyncGenerator<{ connection: McpConnection; tools: Tool[] }> {
    const em = this.em.fork();
    const connections = await em.find(McpConnectionSchema, { status: { $in: ['active', 'error'] } });
    for (const connection of connections) {
      const tools = await em.find(ToolSchema, { connectionId: connection.id }, { orderBy: { position: 'asc' } });
      yield { connection, tools };
    }
  }
}
