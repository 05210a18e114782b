/**
 * The namespace tool policy applies alike on every door. A property test
 * (fast-check) sets random policies through GraphQL and checks, for an agent
 * and an admin, that what REST, GraphQL and /mcp list is exactly what REST and
 * /mcp let them call, that search returns nothing else, and that the listing
 * follows the policy's rules (an oracle written apart from the gateway's).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../helpers/connections.js';
import { eventually } from '../../helpers/eventually.js';
import { startGateway, type TestAgent, type TestGateway } from '../../helpers/gateway.js';
import { codes, graphql } from '../../graphql/client.js';
import { mcpClient, type TestMcpClient } from '../../mcp-server/support.js';
import { plainTool, startMutableUpstream, type MutableUpstream } from '../../fixtures/upstreams/mutable-upstream.js';

const BASE = '/api/v1/mcp';
const FILE_TOOLS = [
  plainTool('read_file', 'Reads a file from disk.', { annotations: { readOnlyHint: true } }),
  plainTool('write_file', 'Writes a file to disk.', { annotations: { destructiveHint: true } }),
  plainTool('delete_file', 'Deletes a file from disk.', { annotations: { destructiveHint: true } }),
  plainTool('echo', 'Echoes the text back.'),
];
const WEB_TOOLS = [
  plainTool('fetch_page', 'Fetches a web page.', { annotations: { readOnlyHint: true } }),
  plainTool('post_form', 'Posts a web form.', { annotations: { destructiveHint: false } }),
  plainTool('echo', 'Echoes the text back.'),
];
const ANNOTATIONS: Record<string, Record<string, unknown>> = Object.fromEntries([
  ...FILE_TOOLS.map((t) => [`files/${t.name}`, t.annotations ?? {}]),
  ...WEB_TOOLS.map((t) => [`web/${t.name}`, t.annotations ?? {}]),
]);

const SET_POLICY = `mutation($input: ToolPolicyInput!) { setToolPolicy(input: $input) { allow deny maxConnectionsPerAgent quarantineNewTools } }`;

interface Policy {
  allow: string[];
  deny: string[];
  denyAnnotations: { annotation: string; value: unknown; roles: string[] }[];
}

let gw: TestGateway;
let files: MutableUpstream;
let web: MutableUpstream;
let agent: TestAgent;
let admin: TestAgent;
const own: Record<string, Record<string, string>> = {};
const clients: Record<string, TestMcpClient> = {};

beforeAll(async () => {
  [gw, files, web] = await Promise.all([startGateway(), startMutableUpstream(FILE_TOOLS), startMutableUpstream(WEB_TOOLS)]);
  agent = await gw.agent('policy-agent', 'policy-ns');
  admin = await gw.agent('policy-admin', 'policy-ns', 'admin');
  for (const caller of [agent, admin]) {
    own[caller.id] = {
      files: await createConnection(gw, caller, 'files', files.url),
      web: await createConnection(gw, caller, 'web', web.url),
    };
    clients[caller.id] = await mcpClient(gw.url, caller.token);
  }
});
afterAll(async () => {
  for (const client of Object.values(clients)) await client.close();
  await gw?.close();
  await files?.stop();
  await web?.stop();
});

async function setPolicy(input: object, token = admin.token) {
  return graphql(gw, SET_POLICY, { input }, token);
}

/** `server/tool` of the caller's own connections as REST lists them. */
async function restListed(caller: TestAgent): Promise<string[]> {
  const response = await gw.request(`${BASE}/connections?limit=100`, { token: caller.token });
  const body = (await response.json()) as { connections: { agent_id: string; server_name: string; tools: { name: string }[] }[] };
  return body.connections
    .filter((c) => c.agent_id === caller.id)
    .flatMap((c) => c.tools.map((t) => `${c.server_name}/${t.name}`))
    .sort();
}

async function graphqlListed(caller: TestAgent): Promise<string[]> {
  const result = await graphql<{ connections: { edges: { node: { agentId: string; serverName: string; tools: { name: string }[] } }[] } }>(
    gw,
    `
      {
        connections(first: 100) {
          edges {
            node {
              agentId
              serverName
              tools {
                name
              }
            }
          }
        }
      }
    `,
    {},
    caller.token,
  );
  return result.body
    .data!.connections.edges.map((e) => e.node)
    .filter((c) => c.agentId === caller.id)
    .flatMap((c) => c.tools.map((t) => `${c.serverName}/${t.name}`))
    .sort();
}

async function mcpListed(caller: TestAgent): Promise<string[]> {
  const { tools } = await clients[caller.id]!.listTools();
  return tools
    .map((t) => t.name)
    .filter((name) => name.includes('__'))
    .map((name) => name.replace('__', '/'))
    .sort();
}

async function restCallable(caller: TestAgent, subject: string): Promise<boolean> {
  const [server, tool] = subject.split('/') as [string, string];
  const response = await gw.request(`${BASE}/connections/${own[caller.id]![server]}/tools/${tool}/execute`, {
    method: 'POST',
    token: caller.token,
    body: { arguments: { text: 'x' } },
  });
  if (response.status === 200) return true;
  expect(response.status).toBe(403);
  expect(((await response.json()) as { error_code: string }).error_code).toBe('TOOL_DENIED');
  return false;
}

async function mcpCallable(caller: TestAgent, subject: string): Promise<boolean> {
  const result = await clients[caller.id]!.callTool({ name: subject.replace('/', '__'), arguments: { text: 'x' } });
  if (!result.isError) return true;
  expect(result.structuredContent).toMatchObject({ error_code: 'TOOL_DENIED' });
  return false;
}

/** The policy's meaning, written apart from the gateway: `*` any run of characters. */
function oracle(policy: Policy, role: string): string[] {
  const matches = (glob: string, subject: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(subject);
  return Object.keys(ANNOTATIONS)
    .filter((subject) => !policy.deny.some((glob) => matches(glob, subject)))
    .filter((subject) => policy.allow.length === 0 || policy.allow.some((glob) => matches(glob, subject)))
    .filter((subject) => !policy.denyAnnotations.some((r) => r.roles.includes(role) && ANNOTATIONS[subject]![r.annotation] === r.value))
    .sort();
}

const policies: fc.Arbitrary<Policy> = fc.record({
  allow: fc.subarray(['files/*', 'web/fetch_*', '*/echo', 'files/?????_file', 'nothing/*']),
  deny: fc.subarray(['*/delete_*', 'web/*', 'files/write_file', '*/e?ho']),
  denyAnnotations: fc.subarray([
    { annotation: 'destructiveHint', value: true, roles: ['agent'] },
    { annotation: 'readOnlyHint', value: true, roles: ['admin'] },
    { annotation: 'destructiveHint', value: false, roles: ['agent', 'admin'] },
  ]),
});

describe('namespace tool policy on every door', () => {
  it('search sees the catalogues before the property runs', async () => {
    for (const caller of [agent, admin]) {
      await eventually(async () => {
        const response = await gw.request(`${BASE}/tools/search?q=file&limit=50`, { token: caller.token });
        const body = (await response.json()) as { results: { tool_name: string }[] };
        return body.results.some((r) => r.tool_name === 'read_file');
      });
    }
  });

  it('lists exactly what is callable, on REST, GraphQL, /mcp and search, for agents and admins', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(policies, async (policy) => {
        const set = await setPolicy(policy);
        expect(set.body.errors).toBeUndefined();
        for (const caller of [agent, admin]) {
          const listed = await restListed(caller);
          expect(listed).toEqual(oracle(policy, caller.role));
          expect(await graphqlListed(caller)).toEqual(listed);
          expect(await mcpListed(caller)).toEqual(listed);
          for (const subject of Object.keys(ANNOTATIONS)) {
            expect(await restCallable(caller, subject), `REST ${caller.role} ${subject}`).toBe(listed.includes(subject));
            expect(await mcpCallable(caller, subject), `/mcp ${caller.role} ${subject}`).toBe(listed.includes(subject));
          }
          const search = await gw.request(`${BASE}/tools/search?q=${encodeURIComponent('file page form echo')}&limit=50`, {
            token: caller.token,
          });
          const found = ((await search.json()) as { results: { connection_id: string; server_name: string; tool_name: string }[] }).results;
          const mine = new Set(Object.values(own[caller.id]!));
          for (const hit of found.filter((r) => mine.has(r.connection_id))) expect(listed).toContain(`${hit.server_name}/${hit.tool_name}`);
        }
      }),
      { numRuns: 12 },
    );
  });

  it('refuses policy changes by agents and bad globs with a named field', async () => {
    expect(codes(await setPolicy({ deny: ['*/echo'] }, agent.token))).toEqual(['AUTHORIZATION_ERROR']);
    const bad = await setPolicy({ deny: ['no-slash'] });
    expect(codes(bad)).toEqual(['VALIDATION_ERROR']);
    const roles = await setPolicy({ denyAnnotations: [{ annotation: 'destructiveHint', value: true, roles: ['root'] }] });
    expect(codes(roles)).toEqual(['VALIDATION_ERROR']);
  });

  it('caps live connections per agent', async () => {
    expect((await setPolicy({ maxConnectionsPerAgent: 2 })).body.errors).toBeUndefined();
    const third = await gw.request(`${BASE}/connections`, {
      method: 'POST',
      token: agent.token,
      body: { server_name: 'third', url: web.url },
    });
    expect(third.status).toBe(409);
    expect(((await third.json()) as { error_code: string }).error_code).toBe('CONNECTION_LIMIT_REACHED');
    await setPolicy({});
    expect(await createConnection(gw, agent, 'third', web.url)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('holds tools new to a known connection when the policy says so (default: usable at once)', async () => {
    expect((await setPolicy({ quarantineNewTools: true })).body.errors).toBeUndefined();
    web.setTools([...WEB_TOOLS, plainTool('brand_new', 'A tool that just appeared.')]);
    const refreshed = await gw.request(`${BASE}/connections/${own[agent.id]!.web}/tools`, { token: agent.token });
    expect(((await refreshed.json()) as { tools: { name: string }[] }).tools.map((t) => t.name)).not.toContain('brand_new');
    const refused = await gw.request(`${BASE}/connections/${own[agent.id]!.web}/tools/brand_new/execute`, {
      method: 'POST',
      token: agent.token,
      body: { arguments: {} },
    });
    expect(((await refused.json()) as { error_code: string; details: { reasons: string[] } }).details.reasons).toEqual([
      'new tool on a known connection (namespace policy: new tools start quarantined)',
    ]);
    await setPolicy({});
    const other = await gw.request(`${BASE}/connections/${own[admin.id]!.web}/tools`, { token: admin.token });
    expect(((await other.json()) as { tools: { name: string }[] }).tools.map((t) => t.name)).toContain('brand_new');
  });

  it('records each policy change with who made it', async () => {
    const result = await graphql<{
      governanceAudit: { totalCount: number; edges: { node: { action: string; actorAgentId: string; details: unknown } }[] };
    }>(
      gw,
      `
        {
          governanceAudit(action: POLICY_UPDATED, first: 1) {
            totalCount
            edges {
              node {
                action
                actorAgentId
                details
              }
            }
          }
        }
      `,
      {},
      admin.token,
    );
    expect(result.body.data!.governanceAudit.totalCount).toBeGreaterThan(12);
    expect(result.body.data!.governanceAudit.edges[0]!.node).toEqual({
      action: 'POLICY_UPDATED',
      actorAgentId: 'policy-admin',
      details: { policy: { allow: [], deny: [], denyAnnotations: [], maxConnectionsPerAgent: null, quarantineNewTools: false } },
    });
  });
});
