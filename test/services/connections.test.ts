/**
 * ConnectionService as every door calls it: typed commands, the verified
 * principal, domain objects back — against a real database and a real
 * upstream MCP server, with no HTTP in between. Errors name fields by their
 * domain names (each door renders its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import {
  AuthorizationError,
  ConnectionNotActiveError,
  ConnectionNotFoundError,
  DuplicateConnectionError,
  ExternalServiceError,
  ValidationError,
} from '../../src/errors/index.js';
import type { CreateConnectionCommand } from '../../src/services/validation.js';
import { freePort } from '../helpers/net.js';
import { refusal, startServices, type TestServices } from '../helpers/services.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstreams/index.js';

let harness: TestServices;
let upstream: TestUpstream;
let alice: Principal;
let bob: Principal;
let admin: Principal;
let stranger: Principal;
let strangerAdmin: Principal;

beforeAll(async () => {
  [harness, upstream] = await Promise.all([startServices(), startTestUpstream()]);
  alice = await harness.principal('svc-alice', 'svc-north');
  bob = await harness.principal('svc-bob', 'svc-north');
  admin = await harness.principal('svc-admin', 'svc-north', 'admin');
  stranger = await harness.principal('svc-stranger', 'svc-south');
  strangerAdmin = await harness.principal('svc-south-admin', 'svc-south', 'admin');
}, 60_000);

afterAll(async () => {
  await harness?.close();
  await upstream?.stop();
});

const connections = () => harness.services.connections;

describe('create', () => {
  it('connects, stores the catalogue and answers the ACTIVE connection with its tools', async () => {
    const { connection, tools } = await connections().create(alice, { serverName: 'svc-create', url: upstream.url });
    expect(connection).toMatchObject({
      serverName: 'svc-create',
      status: 'active',
      namespace: 'svc-north',
      agentId: 'svc-alice',
      timeoutSeconds: 30,
    });
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'fail', 'slow']));
    const stored = await harness.services.connectionRepository.findReadable(alice, connection.id);
    expect(stored).toMatchObject({ status: 'active', url: upstream.url });
    expect(stored.connectedAt).toBeInstanceOf(Date);
  });

  it.each<[string, Partial<CreateConnectionCommand>, string, string]>([
    ['a server name with a space', { serverName: 'bad name' }, 'serverName', 'serverName must be 1-100 letters, digits, - or _'],
    ['an ftp URL', { url: 'ftp://example.com/mcp' }, 'url', 'url must be an absolute http:// or https:// URL'],
    ['a timeout below 5 s', { timeoutSeconds: 4 }, 'timeoutSeconds', 'timeoutSeconds must be at least 5 seconds'],
    ['a fractional timeout', { timeoutSeconds: 5.5 }, 'timeoutSeconds', 'timeoutSeconds must be an integer number of seconds'],
    ['an empty namespace claim', { namespace: '' }, 'namespace', 'namespace must not be empty'],
    ['a malformed agent id claim', { agentId: 'has space' }, 'agentId', 'agentId must be 1-128 letters, digits, . _ : @ or -'],
    [
      'a reserved upstream header',
      { headers: { Host: 'evil.example' } },
      'headers.Host',
      "header 'Host' may not be set: allowed are Authorization, Cookie, Api-Key and custom X-* headers",
    ],
    ['a header given twice', { headers: { 'X-Key': 'a', 'x-key': 'b' } }, 'headers.x-key', "header 'x-key' is given twice"],
  ])('refuses %s with VALIDATION_ERROR naming the domain field, and stores nothing', async (_label, change, field, message) => {
    const before = await connections().list(alice, { limit: 100, offset: 0 });
    const error = await refusal(connections().create(alice, { serverName: 'svc-invalid', url: upstream.url, ...change }));
    expect(error).toBeInstanceOf(ValidationError);
    expect({ field: error.field, message: error.message }).toEqual({ field, message });
    expect((await connections().list(alice, { limit: 100, offset: 0 })).total).toBe(before.total);
  });

  it('checks claimed namespace and agent id against the principal after validation: AUTHORIZATION_ERROR naming the field', async () => {
    const namespace = await refusal(connections().create(alice, { serverName: 'svc-claims', url: upstream.url, namespace: 'svc-south' }));
    expect(namespace).toBeInstanceOf(AuthorizationError);
    expect(namespace.field).toBe('namespace');
    const agent = await refusal(connections().create(alice, { serverName: 'svc-claims', url: upstream.url, agentId: 'svc-bob' }));
    expect(agent).toBeInstanceOf(AuthorizationError);
    expect({ field: agent.field, message: agent.message }).toEqual({
      field: 'agentId',
      message: 'agentId does not match the authenticated agent',
    });
    // Matching claims are accepted.
    const { connection } = await connections().create(alice, {
      serverName: 'svc-claims',
      url: upstream.url,
      namespace: 'svc-north',
      agentId: 'svc-alice',
    });
    expect(connection.status).toBe('active');
  });

  it('refuses a second live connection with the same name for the same agent, not for another agent', async () => {
    await connections().create(alice, { serverName: 'svc-twice', url: upstream.url });
    expect(await refusal(connections().create(alice, { serverName: 'svc-twice', url: upstream.url }))).toBeInstanceOf(
      DuplicateConnectionError,
    );
    const other = await connections().create(bob, { serverName: 'svc-twice', url: upstream.url });
    expect(other.connection.agentId).toBe('svc-bob');
  });

  it('leaves nothing live behind when the upstream cannot be reached: the name is free again at once', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}/mcp`;
    const error = await refusal(connections().create(alice, { serverName: 'svc-nowhere', url: nowhere, timeoutSeconds: 5 }));
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect(error.reason).toBe('unreachable');
    // The attempt's row is gone, so its answer names no connection id nobody could look up.
    expect(error.details).not.toHaveProperty('connection_id');
    const { connection } = await connections().create(alice, { serverName: 'svc-nowhere', url: upstream.url });
    expect(connection.status).toBe('active');
  });
});

describe('ownership and namespaces', () => {
  let id: string;
  beforeAll(async () => {
    id = (await connections().create(alice, { serverName: 'svc-owned', url: upstream.url })).connection.id;
  });

  it('lets the owner and an admin of its namespace read it, and nobody else', async () => {
    expect((await connections().read(alice, id)).id).toBe(id);
    expect((await connections().read(admin, id)).id).toBe(id);
    for (const other of [bob, stranger, strangerAdmin]) {
      expect(await refusal(connections().read(other, id))).toBeInstanceOf(AuthorizationError);
    }
    expect(await refusal(connections().read(alice, '00000000-0000-4000-8000-000000000000'))).toBeInstanceOf(ConnectionNotFoundError);
  });

  it('batched reads and catalogues leave out what the caller may not read', async () => {
    const bobs = (await connections().create(bob, { serverName: 'svc-bobs', url: upstream.url })).connection.id;
    expect((await connections().readMany(alice, [id, bobs])).map((c) => c.id)).toEqual([id]);
    expect((await connections().readMany(admin, [id, bobs])).map((c) => c.id).sort()).toEqual([id, bobs].sort());
    expect(await connections().readMany(strangerAdmin, [id, bobs])).toEqual([]);
    const tools = await connections().toolsOf(alice, [id, bobs]);
    expect(new Set(tools.map((t) => t.connectionId))).toEqual(new Set([id]));
    expect(await connections().toolsOf(stranger, [id, bobs])).toEqual([]);
  });

  it('lists only what the caller may read: its own, or its namespace for an admin', async () => {
    const own = await connections().list(alice, { limit: 100, offset: 0 });
    expect(own.rows.every((c) => c.agentId === 'svc-alice')).toBe(true);
    const namespace = await connections().list(admin, { limit: 100, offset: 0 });
    expect(new Set(namespace.rows.map((c) => c.agentId))).toEqual(new Set(['svc-alice', 'svc-bob']));
    expect((await connections().list(stranger, { limit: 100, offset: 0 })).total).toBe(0);
  });

  it('refuses discover and disconnect across agents and namespaces', async () => {
    for (const other of [bob, stranger, strangerAdmin]) {
      expect(await refusal(connections().discover(other, id))).toBeInstanceOf(AuthorizationError);
      expect(await refusal(connections().disconnect(other, id))).toBeInstanceOf(AuthorizationError);
    }
    expect((await connections().read(alice, id)).status).toBe('active');
  });
});

describe('status transitions', () => {
  it('active → disconnected (by an admin of the namespace), idempotently; then discover is CONNECTION_NOT_ACTIVE and the name is free', async () => {
    const { connection } = await connections().create(alice, { serverName: 'svc-lifecycle', url: upstream.url });
    const refreshed = await connections().discover(alice, connection.id);
    expect(refreshed.connection.status).toBe('active');
    expect(refreshed.tools.length).toBeGreaterThan(0);

    const closed = await connections().disconnect(admin, connection.id);
    expect(closed).toMatchObject({ status: 'disconnected' });
    expect(closed.disconnectedAt).toBeInstanceOf(Date);
    expect((await connections().disconnect(alice, connection.id)).status).toBe('disconnected');
    expect((await connections().read(alice, connection.id)).status).toBe('disconnected');

    const notActive = await refusal(connections().discover(alice, connection.id));
    expect(notActive).toBeInstanceOf(ConnectionNotActiveError);
    expect(notActive.details).toMatchObject({ connection_id: connection.id, status: 'disconnected' });

    const live = await connections().list(alice, { limit: 100, offset: 0 });
    expect(live.rows.map((c) => c.id)).not.toContain(connection.id);
    const gone = await connections().list(alice, { status: 'disconnected', limit: 100, offset: 0 });
    expect(gone.rows.map((c) => c.id)).toContain(connection.id);
    expect((await connections().create(alice, { serverName: 'svc-lifecycle', url: upstream.url })).connection.status).toBe('active');
  });

  it('active → error when a discover finds the upstream gone, with the reason recorded', async () => {
    const doomed = await startTestUpstream();
    const { connection } = await connections().create(alice, { serverName: 'svc-doomed', url: doomed.url, timeoutSeconds: 5 });
    await doomed.stop();
    const error = await refusal(connections().discover(alice, connection.id));
    expect(error).toBeInstanceOf(ExternalServiceError);
    const row = await connections().read(alice, connection.id);
    expect(row.status).toBe('error');
    expect(row.errorMessage).toBe(error.message);
  });
});
