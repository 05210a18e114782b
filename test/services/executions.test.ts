/**
 * ExecutionService as every door calls it: the verified principal and a typed
 * request in, the recorded execution out — against a real database and a real
 * upstream MCP server. Asserts the audit rows and their status transitions,
 * the refusals that come before any row, and who may do what.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import {
  AppError,
  AuthorizationError,
  ConnectionNotActiveError,
  ConnectionNotFoundError,
  ExecutionNotFoundError,
  ExternalServiceError,
  ToolNotFoundError,
  ValidationError,
} from '../../src/errors/index.js';
import type { ExecuteToolRequest } from '../../src/services/executions.js';
import { eventually } from '../helpers/eventually.js';
import { refusal, startServices, type TestServices } from '../helpers/services.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';

let harness: TestServices;
let upstream: TestUpstream;
let owner: Principal;
let colleague: Principal;
let admin: Principal;
let stranger: Principal;
let connectionId: string;

beforeAll(async () => {
  [harness, upstream] = await Promise.all([startServices(), startTestUpstream()]);
  owner = await harness.principal('exe-owner', 'exe-north');
  colleague = await harness.principal('exe-colleague', 'exe-north');
  admin = await harness.principal('exe-admin', 'exe-north', 'admin');
  stranger = await harness.principal('exe-stranger', 'exe-south', 'admin');
  connectionId = (await harness.services.connections.create(owner, { serverName: 'exe-upstream', url: upstream.url })).connection.id;
}, 60_000);

afterAll(async () => {
  await harness?.close();
  await upstream?.stop();
});

const executions = () => harness.services.executions;

function call(toolName: string, args: Record<string, unknown>, on = connectionId): ExecuteToolRequest {
  return { connectionId: on, toolName, arguments: args, source: 'GRAPHQL', requestId: 'req-exe-test' };
}

/** How many execution rows the owner can see: refusals must not add any. */
async function recorded(): Promise<number> {
  return (await executions().list(owner, { limit: 100, offset: 0 })).total;
}

describe('execute', () => {
  it('records a COMPLETED row with the relayed result, readable by the owner and an admin of its namespace', async () => {
    const { execution, result } = await executions().execute(owner, call('echo', { message: 'hello' }));
    expect(result?.content).toEqual([{ type: 'text', text: 'hello' }]);
    expect(execution).toMatchObject({
      status: 'COMPLETED',
      isError: false,
      connectionId,
      toolName: 'echo',
      agentId: 'exe-owner',
      namespace: 'exe-north',
      source: 'GRAPHQL',
      requestId: 'req-exe-test',
      arguments: { message: 'hello' },
    });
    expect(execution.finishedAt).toBeInstanceOf(Date);
    const row = await harness.services.executionRepository.findReadable(owner, execution.id);
    expect(row).toMatchObject({ status: 'COMPLETED', errorCode: null });
    expect((await executions().get(admin, execution.id)).id).toBe(execution.id);
  });

  it('records an upstream tool error as COMPLETED with isError, not as a failure', async () => {
    const { execution, result } = await executions().execute(owner, call('fail', { message: 'nope' }));
    expect(result?.isError).toBe(true);
    expect(execution).toMatchObject({ status: 'COMPLETED', isError: true });
  });

  // Requests are built in the test: the connection exists only once beforeAll ran.
  it.each<[string, () => ExecuteToolRequest, new (...args: never[]) => AppError, string | undefined]>([
    ['arguments that are not an object', () => ({ ...call('echo', {}), arguments: [1, 2] as never }), ValidationError, 'arguments'],
    ['arguments with a NUL character', () => call('echo', { message: 'a\u0000b' }), ValidationError, 'arguments'],
    ['a number out of range (JSON 1e400 parses to Infinity)', () => call('add', { a: Infinity, b: 1 }), ValidationError, 'arguments'],
    ['arguments that violate the input schema', () => call('add', { a: 'two', b: 1 }), ValidationError, 'arguments.a'],
    ['an unknown tool', () => call('no-such-tool', {}), ToolNotFoundError, undefined],
    ['an unknown connection', () => call('echo', {}, '00000000-0000-4000-8000-000000000000'), ConnectionNotFoundError, undefined],
  ])('refuses %s before calling upstream, recording nothing', async (_label, request, type, field) => {
    const [rows, calls] = [await recorded(), upstream.state().requests];
    const error = await refusal(executions().execute(owner, request()));
    expect(error).toBeInstanceOf(type);
    expect(error.field).toBe(field);
    expect(await recorded()).toBe(rows);
    expect(upstream.state().requests).toBe(calls);
  });

  it('lets only the owner execute: a colleague, an admin of the namespace and another namespace are refused', async () => {
    for (const other of [colleague, admin, stranger]) {
      expect(await refusal(executions().execute(other, call('echo', { message: 'x' })))).toBeInstanceOf(AuthorizationError);
    }
  });
});

describe('reads', () => {
  it('keeps executions inside their namespace and their owner (admins see the namespace)', async () => {
    const { execution } = await executions().execute(owner, call('echo', { message: 'mine' }));
    expect(await refusal(executions().get(colleague, execution.id))).toBeInstanceOf(AuthorizationError);
    expect(await refusal(executions().get(stranger, execution.id))).toBeInstanceOf(AuthorizationError);
    expect(await refusal(executions().get(owner, '00000000-0000-4000-8000-000000000000'))).toBeInstanceOf(ExecutionNotFoundError);
    expect((await executions().list(colleague, { limit: 100, offset: 0 })).total).toBe(0);
    const namespace = await executions().list(admin, { limit: 100, offset: 0 });
    expect(namespace.rows.map((e) => e.id)).toContain(execution.id);
    expect((await executions().list(stranger, { limit: 100, offset: 0 })).total).toBe(0);
  });

  it('filters by connection, refusing a connection the caller may not read rather than answering an empty page', async () => {
    const page = await executions().list(owner, { connectionId, status: 'COMPLETED', limit: 100, offset: 0 });
    expect(page.rows.length).toBeGreaterThan(0);
    expect(page.rows.every((e) => e.connectionId === connectionId && e.status === 'COMPLETED')).toBe(true);
    expect(await refusal(executions().list(colleague, { connectionId, limit: 20, offset: 0 }))).toBeInstanceOf(AuthorizationError);
    expect(await refusal(executions().list(stranger, { connectionId, limit: 20, offset: 0 }))).toBeInstanceOf(AuthorizationError);
  });
});

describe('status transitions', () => {
  it('RUNNING → CANCELLED when an admin of the namespace cancels; the upstream is told; a second cancel changes nothing', async () => {
    const cancellations = upstream.state().cancellations;
    const { execution, done } = await executions().start(owner, call('slow', { ms: 30_000 }));
    expect(execution.status).toBe('RUNNING');
    expect((await harness.services.executionRepository.findReadable(owner, execution.id)).status).toBe('RUNNING');
    expect(await refusal(executions().cancel(stranger, execution.id))).toBeInstanceOf(AuthorizationError);

    const cancelled = await executions().cancel(admin, execution.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', errorCode: 'CANCELLED' });
    expect((await done).execution.status).toBe('CANCELLED');
    await eventually(() => upstream.state().cancellations > cancellations, 10_000, 'the upstream to see notifications/cancelled');
    expect((await executions().cancel(owner, execution.id)).status).toBe('CANCELLED');
    expect((await executions().get(owner, execution.id)).status).toBe('CANCELLED');
  });

  it('RUNNING → FAILED when the upstream is gone, and the connection goes error; a disconnected one is not usable', async () => {
    const doomed = await startTestUpstream();
    const { connection } = await harness.services.connections.create(owner, {
      serverName: 'exe-doomed',
      url: doomed.url,
      timeoutSeconds: 5,
    });
    await doomed.stop();
    const error = await refusal(executions().execute(owner, call('echo', { message: 'anyone?' }, connection.id)));
    expect(error).toBeInstanceOf(ExternalServiceError);
    const [failed] = (await executions().list(owner, { connectionId: connection.id, limit: 1, offset: 0 })).rows;
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'EXTERNAL_SERVICE_ERROR', errorMessage: error.message });
    expect((await harness.services.connections.read(owner, connection.id)).status).toBe('error');

    await harness.services.connections.disconnect(owner, connection.id);
    expect(await refusal(executions().execute(owner, call('echo', {}, connection.id)))).toBeInstanceOf(ConnectionNotActiveError);
  });
});
