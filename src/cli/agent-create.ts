/**
 * `npm run agent:create -- --agent-id ID --namespace NS [--name NAME] [--role agent|admin] [--status active|inactive]`
 * Creates or updates an agent; prints it as JSON.
 */
import { AGENT_ID_PATTERN } from '../auth/jwt.js';
import { AGENT_ROLES, AGENT_STATUSES } from '../db/entities/index.js';
import { migrateUp, openOrm } from '../db/orm.js';
import { AgentRepository } from '../db/repositories/agent.repository.js';
import { parseCliArgs, type CliUsage } from './args.js';
import { cliConfig, fail, runCli } from './shared.js';

const USAGE: CliUsage = {
  synopsis: 'npm run agent:create -- --agent-id ID --namespace NS [--name NAME] [--role agent|admin] [--status active|inactive]',
  summary: 'Creates the agent, or updates it in place when the id exists; prints it as JSON. Applies pending migrations first.',
  flags: [
    ['--agent-id ID', "1-128 letters, digits, . _ : @ or - (the token's subject)"],
    ['--namespace NS', 'the tenant the agent belongs to (1-128 characters)'],
    ['--name NAME', 'a display name (default: the id)'],
    ['--role ROLE', `${AGENT_ROLES.join(' or ')} (default agent); an admin reads every connection of its namespace`],
    ['--status STATUS', `${AGENT_STATUSES.join(' or ')} (default active); an inactive agent's tokens are refused`],
  ],
};

runCli(async () => {
  const values = parseCliArgs(USAGE, {
    'agent-id': { type: 'string' },
    namespace: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', default: 'agent' },
    status: { type: 'string', default: 'active' },
  });
  const agentId = values['agent-id'];
  if (!agentId || !AGENT_ID_PATTERN.test(agentId)) fail('--agent-id is required: 1-128 letters, digits, . _ : @ or -');
  if (!values.namespace || values.namespace.length > 128) fail('--namespace is required (1-128 characters)');
  const role = values.role as (typeof AGENT_ROLES)[number];
  const status = values.status as (typeof AGENT_STATUSES)[number];
  if (!AGENT_ROLES.includes(role)) fail(`--role must be one of ${AGENT_ROLES.join(', ')}`);
  if (!AGENT_STATUSES.includes(status)) fail(`--status must be one of ${AGENT_STATUSES.join(', ')}`);

  const config = cliConfig();
  const orm = await openOrm(config.database.target);
  try {
    await migrateUp(orm);
    const agent = await new AgentRepository(orm.em).upsert({
      id: agentId,
      namespace: values.namespace,
      name: values.name ?? agentId,
      role,
      status,
    });
    console.log(
      JSON.stringify({ agent_id: agent.id, namespace: agent.namespace, name: agent.name, role: agent.role, status: agent.status }),
    );
  } finally {
    await orm.close(true);
  }
});
