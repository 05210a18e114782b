/** `npm run token -- --agent-id ID [--ttl 24h]` prints an HS256 JWT signed with the configured secret. */
import { AGENT_ID_PATTERN, formatSeconds, secretKeyBytes, signAgentToken } from '../auth/jwt.js';
import { parseDurationSeconds } from '../config/env.js';
import { migrateUp, openOrm } from '../db/orm.js';
import { AgentRepository } from '../db/repositories/agent.repository.js';
import { parseCliArgs, type CliUsage } from './args.js';
import { cliConfig, fail, runCli } from './shared.js';

const USAGE: CliUsage = {
  synopsis: 'npm run -s token -- --agent-id ID [--ttl 24h]',
  summary:
    'Prints an HS256 JWT for an existing, active agent, signed with TMWS_SECRET_KEY (in development: data/secret.key).\n' +
    'Send it as "Authorization: Bearer <token>". -s keeps npm from printing its own lines around the token.',
  flags: [
    ['--agent-id ID', 'the agent (create it first with npm run agent:create)'],
    ['--ttl DURATION', 'lifetime: 3600, 90s, 15m, 24h or 7d (default TMWS_TOKEN_TTL, 24h)'],
  ],
};

runCli(async () => {
  const values = parseCliArgs(USAGE, { 'agent-id': { type: 'string' }, ttl: { type: 'string' } });
  const agentId = values['agent-id'];
  if (!agentId || !AGENT_ID_PATTERN.test(agentId)) fail('--agent-id is required: 1-128 letters, digits, . _ : @ or -');
  const config = cliConfig();
  const ttl = parseDurationSeconds(values.ttl ?? config.auth.tokenTtl);
  if (!ttl) fail('--ttl must look like 3600, 15m, 24h or 7d');
  // The gateway refuses longer-lived tokens (401); better to say so now than to print a useless one.
  const max = config.limits.maxTokenTtlSeconds;
  const source = values.ttl ? '--ttl' : 'TMWS_TOKEN_TTL';
  if (ttl > max)
    fail(`${source} ${formatSeconds(ttl)} is longer than the maximum token lifetime of ${formatSeconds(max)} (TMWS_MAX_TOKEN_TTL)`);
  const refusal = await whyAgentCannotSignIn(config.database.target, agentId);
  if (refusal) fail(refusal);
  console.log(await signAgentToken(agentId, secretKeyBytes(config.auth.secretKey), ttl));
});

/** A token for a missing or inactive agent would only earn 401s: refuse it here, where the mistake is made. */
async function whyAgentCannotSignIn(database: Parameters<typeof openOrm>[0], agentId: string): Promise<string | undefined> {
  const orm = await openOrm(database);
  try {
    await migrateUp(orm);
    const agent = await new AgentRepository(orm.em).findById(agentId);
    if (!agent) {
      return `no agent "${agentId}" in this database: create it first with npm run agent:create -- --agent-id ${agentId} --namespace NS --name NAME`;
    }
    if (agent.status !== 'active') {
      return `agent "${agentId}" is ${agent.status}: reactivate it with npm run agent:create -- --agent-id ${agentId} ... --status active`;
    }
    return undefined;
  } finally {
    await orm.close(true);
  }
}
