import { relative, isAbsolute } from 'node:path';
import type { Config } from '../config/env.js';

/** What start-up knows once the gateway listens. */
export interface StartupFacts {
  url: string;
  config: Config;
  /** False on a fresh database: the banner then names the command that creates the first agent. */
  hasAgents: boolean;
  cwd?: string;
  /**
   * How the gateway was started, for the commands it suggests: `npm start`
   * (the CLI through `npm run`), or the build (`node dist/main.js`, as the
   * systemd unit runs it; after `npm prune --omit=dev` `npm run` has no tsx,
   * so the commands are the built `dist/cli/*.js`). @default 'npm'
   */
  from?: 'npm' | 'build';
}

/** A CLI command as this gateway's user runs it: `npm run agent:create --` or `node dist/cli/agent-create.js`. */
function command(facts: StartupFacts, script: 'agent:create' | 'token', silent = false): string {
  if (facts.from === 'build') return `node dist/cli/${script.replace(':', '-')}.js`;
  return `npm run ${silent ? '-s ' : ''}${script} --`;
}

/** The walk-through's first agent: the deployment guide's admin. */
const FIRST_AGENT = '--agent-id admin-agent-uuid --namespace admin --name "Admin Agent" --role admin';

/**
 * Plain lines for the person who typed `npm start` (the JSON log is for machines):
 * where it listens, the dashboard, the MCP endpoint, GraphiQL, what to run next, a key file just created, and in
 * development exactly what is relaxed and how to run for production.
 */
export function startupBanner(facts: StartupFacts): string[] {
  const { url, config } = facts;
  const cwd = facts.cwd ?? process.cwd();
  const lines = [
    `TMWS Gateway listening on ${url} (${config.environment}, ${describeDatabase(config, cwd)})`,
    `  Dashboard: ${url}/  (sign in with a token from ${command(facts, 'token', true).replace(/ --$/, '')})`,
    `  MCP:       ${url}/mcp  (any MCP client, with the header Authorization: Bearer <token>)`,
  ];
  if (config.environment !== 'production') {
    lines.push(`  GraphiQL:  ${url}/graphql  (sign in: paste {"Authorization": "Bearer <token>"} into its Headers tab)`);
  }
  if (config.auth.secretKeyFile?.created) {
    lines.push(
      `  ${shortPath(config.auth.secretKeyFile.path, cwd)} was just created: the key that signs tokens; keep it, or tokens stop working`,
    );
  }
  if (!facts.hasAgents) {
    lines.push(`  Next:      ${command(facts, 'agent:create')} ${FIRST_AGENT}`);
    lines.push(`             TOKEN=$(${command(facts, 'token', true)} --agent-id admin-agent-uuid)`);
  }
  if (config.environment !== 'production') lines.push(relaxedLine(config, cwd));
  return lines;
}

/** One line: every default that is looser than production, then how to run for production. */
function relaxedLine(config: Config, cwd: string): string {
  const relaxed: string[] = [];
  if (config.auth.secretKeyFile) relaxed.push(`secret key generated in ${shortPath(config.auth.secretKeyFile.path, cwd)}`);
  if (!config.auth.enabled) relaxed.push('AUTHENTICATION OFF (every request acts as dev-agent, admin)');
  relaxed.push('GraphiQL and introspection on');
  if (config.upstreams.allowedHosts.length > 0) relaxed.push(`upstream MCP servers allowed on ${config.upstreams.allowedHosts.join(', ')}`);
  if (config.http.corsOrigins.includes('*')) relaxed.push('CORS from any origin');
  return (
    `  ${config.environment} mode relaxes: ${relaxed.join('; ')}. ` +
    'For production: TMWS_ENVIRONMENT=production TMWS_SECRET_KEY=<32+ random characters> npm start'
  );
}

function describeDatabase(config: Config, cwd: string): string {
  if (config.database.target.driver === 'sqlite') return `SQLite ${shortPath(config.database.target.path, cwd)}`;
  return 'PostgreSQL';
}

/** A path under the working directory is shown relative to it, as the user typed it. */
function shortPath(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
