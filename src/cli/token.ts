/** `npm run token -- --agent-id ID [--ttl 24h]` prints an HS256 JWT signed with the configured secret. */
import { parseArgs } from 'node:util';
import { AGENT_ID_PATTERN, formatSeconds, secretKeyBytes, signAgentToken } from '../auth/jwt.js';
import { parseDurationSeconds } from '../config/env.js';
import { cliConfig, fail, runCli } from './shared.js';

runCli(async () => {
  const { values } = parseArgs({ options: { 'agent-id': { type: 'string' }, ttl: { type: 'string' } } });
  const agentId = values['agent-id'];
  if (!agentId || !AGENT_ID_PATTERN.test(agentId)) fail('--agent-id is required: 1-128 letters, digits, . _ : @ or -');
  const config = cliConfig();
  const ttl = parseDurationSeconds(values.ttl ?? config.tokenTtl);
  if (!ttl) fail('--ttl must look like 3600, 15m, 24h or 7d');
  // The gateway refuses longer-lived tokens (401); better to say so now than to print a useless one.
  const max = config.limits.maxTokenTtlSeconds;
  const source = values.ttl ? '--ttl' : 'TMWS_TOKEN_TTL';
  if (ttl > max) fail(`${source} ${formatSeconds(ttl)} is longer than the maximum token lifetime of ${formatSeconds(max)} (TMWS_MAX_TOKEN_TTL)`);
  // The token is only useful for an existing, active agent; the gateway checks that on every request.
  console.log(await signAgentToken(agentId, secretKeyBytes(config.secretKey), ttl));
});
