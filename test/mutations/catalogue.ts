/**
 * Deliberate one-line breakages of src/, each with the test file that must go red
 * (issue 17). `npm run test:mutations` applies them one at a time, runs only that
 * file, and restores the source; test/MUTATIONS.md records the outcome.
 */
export interface Mutation {
  feature: string;
  /** File under src/ and the exact text to replace. */
  file: string;
  find: string;
  replace: string;
  /** Which occurrence of `find` (1-based) when it occurs more than once; otherwise it must be unique. */
  nth?: number;
  /** The test file that must fail with the breakage in place. */
  test: string;
  /** Only the tests whose name matches (vitest -t), where the rest of the file is slow or timing-sensitive. */
  name?: string;
  /** Vitest project. @default 'sqlite' */
  project?: 'sqlite' | 'postgresql';
}

/** The source with the breakage in place; throws when `find` is not where the entry says. */
export function applyMutation(source: string, mutation: Mutation): string {
  const parts = source.split(mutation.find);
  const count = parts.length - 1;
  const nth = mutation.nth ?? 1;
  if (count === 0 || (mutation.nth === undefined && count > 1) || nth > count) {
    throw new Error(
      `${mutation.file}: expected ${mutation.nth ? `an occurrence ${nth}` : 'one occurrence'} of ${JSON.stringify(mutation.find)}, found ${count}`,
    );
  }
  return parts.slice(0, nth).join(mutation.find) + mutation.replace + parts.slice(nth).join(mutation.find);
}

const WIRING = 'test/ratelimit/door-wiring.test.ts';

/** Leaves authentication in place and drops the limiter from the nth limited REST route. */
function restLimit(entry: string, bucket: string, nth?: number): Mutation {
  return {
    feature: `rate limit on REST ${entry}`,
    file: 'src/rest/connections.routes.ts',
    find: `onRequest: [auth, rateLimit(services, '${bucket}')]`,
    replace: 'onRequest: [auth]',
    ...(nth ? { nth } : {}),
    test: WIRING,
  };
}

/** Drops the limiter call from a GraphQL field. */
function graphqlLimit(field: string, file: string, bucket: string, nth?: number): Mutation {
  return {
    feature: `rate limit on GraphQL ${field}`,
    file: `src/graphql/types/${file}`,
    find: `await context.drawRateLimit('${bucket}', { parent: root, args, context, info });`,
    replace: '',
    ...(nth ? { nth } : {}),
    test: WIRING,
  };
}

export const MUTATIONS: Mutation[] = [
  restLimit('POST /connections', 'mcp_create_connection'),
  restLimit('GET /connections/{id}/tools', 'mcp_discover_tools', 1),
  restLimit('GET /tools/search', 'mcp_discover_tools', 2),
  restLimit('POST …/tools/{name}/execute', 'mcp_execute_tool'),
  restLimit('DELETE /connections/{id}', 'mcp_disconnect'),
  graphqlLimit('createConnection', 'connection.ts', 'mcp_create_connection'),
  graphqlLimit('disconnect', 'connection.ts', 'mcp_disconnect'),
  graphqlLimit('refreshTools', 'connection.ts', 'mcp_discover_tools'),
  graphqlLimit('searchTools', 'tool-match.ts', 'mcp_discover_tools'),
  graphqlLimit('executeTool', 'execution.ts', 'mcp_execute_tool', 1),
  graphqlLimit('startExecution', 'execution.ts', 'mcp_execute_tool', 2),
  graphqlLimit('cancelExecution', 'execution.ts', 'mcp_disconnect'),
  {
    feature: 'a verified token is not trusted past its exp',
    file: 'src/auth/authenticate.ts',
    find: 'trustUntil: Math.min(expiresAt, now + VERIFIED_TOKEN_TTL_MS)',
    replace: 'trustUntil: now + VERIFIED_TOKEN_TTL_MS',
    test: 'test/auth/token-claims.test.ts',
  },
  {
    feature: 'namespace and role claims in a token are ignored',
    file: 'src/auth/authenticate.ts',
    find: 'return { principal, expiresAt: verified.expiresAt };',
    replace: 'return { principal: { ...principal, ...(decodeJwt(token) as object) }, expiresAt: verified.expiresAt };',
    test: 'test/auth/token-claims.test.ts',
  },
  {
    feature: 'PostgreSQL: batched execution finishes cast their values',
    file: 'src/db/repositories/execution-write-sql.ts',
    find: "(postgres ? `?::${type}` : '?')",
    replace: "'?'",
    test: 'test/graphql/executions.test.ts',
    project: 'postgresql',
  },
  {
    feature: 'PostgreSQL: leases are timed on the database clock',
    file: 'src/db/repositories/execution-lease.repository.ts',
    find: "(clock_timestamp() + ?::bigint * interval '1 millisecond')",
    replace: "(clock_timestamp() - ?::bigint * interval '1 millisecond')",
    test: 'test/graphql/scale-out.test.ts',
    project: 'postgresql',
  },
  {
    feature: 'PostgreSQL: a connection is read only in its namespace',
    file: 'src/db/repositories/connection.repository.ts',
    find: '? { namespace: principal.namespace }',
    replace: '? {}',
    test: 'test/graphql/isolation.test.ts',
    project: 'postgresql',
  },
  {
    feature: 'a failed call leaves a FAILED execution row',
    file: 'src/services/executions.ts',
    find: "return { ...base, status: 'FAILED', errorCode: code, errorMessage: message };",
    replace: "return { ...base, status: 'COMPLETED', errorCode: code, errorMessage: message };",
    test: 'test/graphql/failed-execution.test.ts',
  },
  {
    feature: 'the lease sweep fails orphaned rows with GATEWAY_RESTARTED',
    file: 'src/db/repositories/execution-lease.repository.ts',
    find: "export const ORPHANED_ERROR_CODE = 'GATEWAY_RESTARTED';",
    replace: "export const ORPHANED_ERROR_CODE = 'INTERNAL_ERROR';",
    test: 'test/services/execution-leases.test.ts',
  },
  {
    feature: 'SIGTERM waits for running executions before cancelling them',
    file: 'src/services/executions.ts',
    find: 'Promise.all(pending).then(() => true),\n      timeoutMs,',
    replace: 'Promise.all(pending).then(() => true),\n      0,',
    test: 'test/services/graceful-stop.test.ts',
  },
  {
    feature: 'SIGTERM cancels what is still running after the wait',
    file: 'src/services/executions.ts',
    find: "this.cancel(r.owner, id, 'gateway shutting down').catch(() => undefined)",
    replace: 'Promise.resolve()',
    test: 'test/services/graceful-stop.test.ts',
  },
  {
    feature: 'stored upstream headers are sealed',
    file: 'src/services/connections.ts',
    find: 'headersSealed: headers ? this.deps.secrets.seal(JSON.stringify(headers)) : null,',
    replace: 'headersSealed: headers ? JSON.stringify(headers) : null,',
    test: 'test/db/sealed-secrets.test.ts',
  },
  {
    feature: 'CORS refuses an origin that is not listed',
    file: 'src/http/cors-preflight.ts',
    find: "if (!origin || corsOrigins.includes('*') || corsOrigins.includes(origin)) return undefined;",
    replace: 'return undefined;',
    test: 'test/rest/cors.test.ts',
  },
  {
    feature: 'CORS allows a listed origin',
    file: 'src/http/server.ts',
    find: '        ? services.config.http.corsOrigins\n',
    replace: '        ? false\n',
    test: 'test/rest/cors.test.ts',
  },
  {
    feature: 'TMWS_AUTH_ENABLED=false serves without a token',
    file: 'src/auth/authenticate.ts',
    find: 'if (!this.options.authEnabled) return { principal: ANONYMOUS_PRINCIPAL, expiresAt: null };',
    replace: '',
    test: 'test/rest/auth-disabled.test.ts',
  },
  {
    feature: '/health/ready reports Redis down',
    file: 'src/services/health.ts',
    find: "const ready = database === 'ok' && chroma === 'ok' && redis !== 'down';",
    replace: "const ready = database === 'ok' && chroma === 'ok';",
    test: 'test/rest/readiness-degraded.test.ts',
  },
  {
    feature: '/health/ready reports the limiter degraded',
    file: 'src/services/health.ts',
    find: "rate_limiter: (limiter.degraded ? 'degraded' : 'ok') as ComponentStatus,",
    replace: "rate_limiter: 'ok' as ComponentStatus,",
    test: 'test/rest/readiness-degraded.test.ts',
  },
  {
    feature: 'X-Forwarded-For from TMWS_TRUSTED_PROXIES on REST',
    file: 'src/rest/guards.ts',
    find: 'callerOf(request, services.config.http.trustedProxies)',
    replace: 'callerOf(request, [])',
    test: 'test/rest/rate-limit.test.ts',
    name: 'appending proxy',
  },
  {
    feature: 'X-Forwarded-For from TMWS_TRUSTED_PROXIES on GraphQL',
    file: 'src/graphql/plugins/use-agent-authentication.ts',
    find: 'callerOf(serverContext.req, config.http.trustedProxies)',
    replace: 'callerOf(serverContext.req, [])',
    test: WIRING,
    name: 'trusted proxy',
  },
  {
    feature: 'tools:reindex rebuilds the index',
    file: 'src/cli/tools-reindex.ts',
    find: 'const counts = await index.rebuild(liveSearchCatalogue(owners), { stillLive: (ids) => owners.liveIds(ids) });',
    replace: 'const counts = { indexed: 0 };',
    test: 'test/cli/tools-reindex.test.ts',
  },
  {
    feature: 'the search index follows tools/list_changed',
    file: 'src/services/connections.ts',
    find: "await this.deps.index.replaceConnectionTools(this.indexed(connection), tools);\n    } catch (error) {\n      this.deps.logger.error({ connectionId, err: error }, 'failed to store a changed tool list');",
    replace: "} catch (error) {\n      this.deps.logger.error({ connectionId, err: error }, 'failed to store a changed tool list');",
    test: 'test/graphql/connection-status-events.test.ts',
  },
  {
    feature: 'background error → active',
    file: 'src/services/connections.ts',
    find: 'if (!USABLE.has(connection.status) || connection.status === status) return;',
    replace: "if (!USABLE.has(connection.status) || connection.status === status || status === 'active') return;",
    test: 'test/graphql/connection-status-events.test.ts',
  },
  {
    feature: 'connectionStatusChanged is published on a status change',
    file: 'src/services/connections.ts',
    find: 'const updated = await this.deps.connections.update(owner, connection.id, changes);\n    this.publishStatus(updated);',
    replace: 'const updated = await this.deps.connections.update(owner, connection.id, changes);',
    test: 'test/graphql/connection-status-events.test.ts',
  },
  {
    feature: 'an upstream HTTP 5xx during a call is an upstream_error with its status',
    file: 'src/mcp/errors.ts',
    find: "phase === 'open' ? 'handshake_failed' : 'upstream_error',",
    replace: "'handshake_failed',",
    nth: 1,
    test: 'test/rest/hostile-upstreams.test.ts',
    name: 'a call with HTTP 500',
  },
  {
    feature: 'an upstream protocol error is reported as such',
    file: 'src/mcp/errors.ts',
    find: "new ExternalServiceError('protocol_error', `Upstream ended its answer",
    replace: "new ExternalServiceError('upstream_error', `Upstream ended its answer",
    test: 'test/rest/hostile-upstreams.test.ts',
    name: 'malformed JSON-RPC',
  },
  {
    feature: 'schema:print --check fails on drift',
    file: 'src/cli/print-schema.ts',
    find: 'if (current === sdl) return 0;',
    replace: 'return 0;',
    test: 'test/cli/schema-print.test.ts',
  },
  {
    feature: 'mcp_connections_active counts active connections',
    file: 'src/db/repositories/connection.repository.ts',
    find: "return this.em.fork().count(McpConnectionSchema, { status: 'active' });",
    replace: 'return this.em.fork().count(McpConnectionSchema, {});',
    test: 'test/observability/connections-gauge.test.ts',
  },
  {
    feature: 'upstream log messages are relayed as LOG events',
    file: 'src/services/log-relay.ts',
    find: '    this.deliver(renderLogEntry(entry));',
    replace: '',
    test: 'test/graphql/execution-logs.test.ts',
  },
  {
    feature: 'two instances refreshing one catalogue take turns (PostgreSQL)',
    file: 'src/db/repositories/connection.repository.ts',
    find: "await connection.execute('update mcp_connections set id = id where id = ?', [connectionId], 'run', ctx);",
    replace: '',
    test: 'test/db/catalogue-refresh-race.test.ts',
  },
  {
    feature: 'tool governance: a changed definition is quarantined',
    file: 'src/services/tool-governance/catalogue-review.ts',
    find: "if (pin?.pinnedHash) return held(hash, 'quarantined', [REASON_CHANGED, ...findings]);",
    replace: 'if (pin?.pinnedHash) return approved(hash);',
    test: 'test/services/tool-governance/pinning.test.ts',
  },
  {
    feature: 'tool governance: a held tool cannot be executed',
    file: 'src/services/executions.ts',
    find: 'if (!verdict.usable) throw verdict.error;',
    replace: '',
    test: 'test/services/tool-governance/pinning.test.ts',
  },
  {
    feature: 'tool governance: only admins approve',
    file: 'src/services/tool-governance/tool-governance.ts',
    find: "if (principal.role !== 'admin') throw",
    replace: "if (principal.role === 'nobody') throw",
    test: 'test/services/tool-governance/pinning.test.ts',
  },
  {
    feature: 'tool governance: search drops held tools',
    file: 'src/services/tool-search.ts',
    find: 'const usable = await this.usableOnly(principal, first);',
    replace: 'const usable = first;',
    test: 'test/services/tool-governance/flagged-upstreams.test.ts',
  },
  {
    feature: 'tool governance: /mcp does not list withheld tools',
    file: 'src/mcp-server/catalogue.ts',
    find: 'return { tools: tools.filter((entry) => !entry.tool.withheld), byName, skipped };',
    replace: 'return { tools, byName, skipped };',
    test: 'test/services/tool-governance/flagged-upstreams.test.ts',
  },
  {
    feature: 'tool governance: the passthrough lists only callable tools',
    file: 'src/mcp-server/passthrough-relay.ts',
    find: "answer(message.method === 'tools/list' ? await this.callableOnly(reply) : reply);",
    replace: 'answer(reply);',
    test: 'test/services/tool-governance/flagged-upstreams.test.ts',
  },
  {
    feature: 'tool governance: a policy deny wins over allow',
    file: 'src/services/tool-governance/tool-policy.ts',
    find: 'if (denied !== undefined) return `denied by the namespace policy (${denied})`;',
    replace: '',
    test: 'test/services/tool-governance/policy-doors.test.ts',
  },
  {
    feature: 'passthrough requests capped at TMWS_MAX_CALL_SECONDS',
    file: 'src/mcp-server/passthrough-relay.ts',
    find: 'await withTimeout(answered, this.ctx.maxCallMs, () => timedOut(this.ctx, message.method));',
    replace: 'await answered;',
    test: 'test/mcp-server/passthrough-bounds.test.ts',
    name: 'prompts/get the upstream never answers',
  },
  {
    feature: 'passthrough progress coalesced',
    file: 'src/mcp-server/passthrough-relay.ts',
    find: "if (one.method === 'notifications/progress') return this.pushProgress(progress, one);",
    replace: '',
    test: 'test/mcp-server/passthrough-bounds.test.ts',
    name: 'flood of 3 000',
  },
  {
    feature: 'passthrough progress tokens bounded',
    file: 'src/mcp-server/progress-by-token.ts',
    find: 'if (this.tokens.size >= MAX_LIVE_PROGRESS_TOKENS) return false;',
    replace: '',
    test: 'test/mcp-server/passthrough-bounds.test.ts',
    name: 'tokens at once',
  },
  {
    feature: 'the WAL sync blocks the main thread only when no other call is in flight',
    file: 'src/db/repositories/execution-write-queue.ts',
    find: 'this.durable({ alone: this.unfinished.size === 0 && this.queue.length === 0 })',
    replace: 'this.durable({ alone: true })',
    test: 'test/db/execution-writes.test.ts',
    name: 'every call in flight',
  },
  {
    feature: 'the WAL sync leaves a slow disk to the thread pool',
    file: 'src/db/repositories/wal-sync.ts',
    find: 'if (request?.alone && recentMs <= inlineBudgetMs) return syncHere();',
    replace: 'if (request?.alone) return syncHere();',
    test: 'test/db/wal-sync.test.ts',
  },
  {
    feature: 'event loop lag reported beyond the sampling interval',
    file: 'src/observability/process-metrics.ts',
    find: 'return Math.max(0, microseconds / 1000 - EVENT_LOOP_SAMPLE_MS) / 1000;',
    replace: 'return microseconds / 1e6;',
    test: 'test/observability/metrics.test.ts',
  },
  {
    feature: 'event loop lag statistics cover the time since the last scrape',
    file: 'src/observability/process-metrics.ts',
    find: '    intervals.reset();',
    replace: '',
    test: 'test/observability/metrics.test.ts',
  },
];
