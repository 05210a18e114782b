/**
 * `npm run eval:tool-search` — measures semantic tool search (SPEC §7a) on the
 * evaluation set in eval/tool-search: real tools/list dumps of published
 * MCP servers plus hand-written catalogues, and natural-language queries labelled
 * with the tool(s) that fulfil them. Indexes everything into a Chroma it starts
 * itself (or TMWS_CHROMA_URL), pads the namespace past 1,000 tools with copies
 * owned by other agents, and prints recall@1, recall@5, MRR@10 and query latency
 * for dense-only and hybrid ranking.
 *
 * Options: --json <file> writes the figures as JSON; --queries dev|heldout|all;
 * --misses lists the queries whose tool is not in the hybrid top 5.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Principal } from '../auth/principal.js';
import { readEnvironment } from '../config/env.js';
import { createLogger } from '../observability/logger.js';
import { startLocalChroma, type ChromaEndpoint } from '../vectors/chroma-server.js';
import { createEmbeddingProvider, DEFAULT_EMBEDDING_PROVIDER } from '../vectors/embeddings.js';
import { createToolIndex, type IndexableTool, type IndexedConnection, type RankingMode, type ToolIndex } from '../vectors/tool-index.js';
import { parseCliArgs, type CliUsage } from './args.js';

const USAGE: CliUsage = {
  synopsis: 'npm run eval:tool-search -- [--queries dev|heldout|all] [--json FILE] [--misses]',
  summary: 'Measures semantic tool search (recall@1, recall@5, MRR, latency) on eval/tool-search.',
  flags: [
    ['--queries SET', 'dev, heldout or all (default all)'],
    ['--json FILE', 'also write the figures as JSON'],
    ['--misses', 'list the queries whose tool is not in the hybrid top 5'],
  ],
};

const EVAL_SET = resolve(dirname(fileURLToPath(import.meta.url)), '../../eval/tool-search');
const TARGETS = { recallAt5: 0.9, mrr: 0.75, p50Ms: 30 } as const;
/** Copies of the whole catalogue owned by other agents, so the collection holds > 1,000 tools. */
const PADDING_AGENTS = 4;
const NAMESPACE = 'tool-search-eval';
const EVAL_AGENT = 'eval-agent';

interface ServerFixture {
  server: string;
  source: { kind: 'real' | 'synthetic'; package?: string; version?: string };
  tools: IndexableTool[];
}
interface LabelledQuery {
  query: string;
  expected: string[];
}
interface RunResult {
  queries: number;
  recallAt1: number;
  recallAt5: number;
  mrr: number;
  p50Ms: number;
  p95Ms: number;
}

function loadFixtures(): { servers: ServerFixture[]; dev: LabelledQuery[]; heldout: LabelledQuery[] } {
  const dir = join(EVAL_SET, 'servers');
  const servers = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ServerFixture);
  const queries = (file: string) => (JSON.parse(readFileSync(join(EVAL_SET, file), 'utf8')) as { queries: LabelledQuery[] }).queries;
  return { servers, dev: queries('queries.json'), heldout: queries('queries-heldout.json') };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function connectionsFor(servers: ServerFixture[], agentId: string): { connection: IndexedConnection; tools: IndexableTool[] }[] {
  return servers.map((s) => ({
    connection: { id: `${agentId}--${s.server}`, serverName: s.server, namespace: NAMESPACE, agentId },
    tools: s.tools,
  }));
}

async function measure(
  index: ToolIndex,
  principal: Principal,
  queries: LabelledQuery[],
  onMiss?: (q: LabelledQuery, top: string[]) => void,
): Promise<RunResult> {
  let hits1 = 0;
  let hits5 = 0;
  let reciprocal = 0;
  const latencies: number[] = [];
  for (const q of queries) {
    const started = performance.now();
    const matches = await index.search(principal, q.query, 10);
    latencies.push(performance.now() - started);
    const rank = matches.findIndex((m) => q.expected.includes(`${m.serverName}/${m.toolName}`)) + 1;
    if (rank === 1) hits1++;
    if (rank >= 1 && rank <= 5) hits5++;
    if (rank >= 1) reciprocal += 1 / rank;
    if ((rank === 0 || rank > 5) && onMiss)
      onMiss(
        q,
        matches.slice(0, 3).map((m) => `${m.serverName}/${m.toolName}`),
      );
  }
  latencies.sort((a, b) => a - b);
  const n = queries.length;
  return {
    queries: n,
    recallAt1: hits1 / n,
    recallAt5: hits5 / n,
    mrr: reciprocal / n,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
  };
}

async function main(): Promise<void> {
  const values = parseCliArgs(USAGE, {
    json: { type: 'string' },
    queries: { type: 'string', default: 'all' },
    misses: { type: 'boolean', default: false },
  });
  const env = readEnvironment();
  const logger = createLogger('warn');
  const { servers, dev, heldout } = loadFixtures();
  const sets: [string, LabelledQuery[]][] = [];
  if (values.queries !== 'heldout') sets.push(['dev', dev]);
  if (values.queries !== 'dev') sets.push(['heldout', heldout]);
  if (values.queries === 'all') sets.push(['all', [...dev, ...heldout]]);

  const toolCount = servers.reduce((n, s) => n + s.tools.length, 0);
  const real = servers.filter((s) => s.source.kind === 'real');
  console.log(
    `evaluation set: ${servers.length} servers (${real.length} real: ${real.map((s) => s.server).join(', ')}), ` +
      `${toolCount} tools, ${dev.length} dev + ${heldout.length} held-out queries`,
  );

  let chroma: ChromaEndpoint | undefined;
  let dataDir: string | undefined;
  const externalUrl = env['TMWS_CHROMA_URL'];
  if (!externalUrl) {
    dataDir = mkdtempSync(join(tmpdir(), 'tmws-eval-chroma-'));
    chroma = await startLocalChroma({ path: dataDir, logger });
  }
  const chromaUrl = externalUrl ?? chroma!.url;
  const embeddings = createEmbeddingProvider(env['TMWS_EMBEDDING_PROVIDER'] ?? DEFAULT_EMBEDDING_PROVIDER);
  const indexes: Record<RankingMode, ToolIndex> = {
    hybrid: createToolIndex({ chromaUrl, embeddings, logger, ranking: 'hybrid' }),
    dense: createToolIndex({ chromaUrl, embeddings, logger, ranking: 'dense' }),
  };
  const catalogue = [EVAL_AGENT, ...Array.from({ length: PADDING_AGENTS }, (_, i) => `padding-agent-${i + 1}`)].flatMap((a) =>
    connectionsFor(servers, a),
  );
  try {
    const started = performance.now();
    for (const { connection, tools } of catalogue) await indexes.hybrid.replaceConnectionTools(connection, tools);
    if (indexes.hybrid.pendingWrites() > 0) throw new Error('indexing did not complete (is Chroma reachable?)');
    const indexed = catalogue.reduce((n, e) => n + e.tools.length, 0);
    console.log(
      `indexed ${indexed} tools in namespace '${NAMESPACE}' (${catalogue.length} connections, ${PADDING_AGENTS + 1} agents) ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s; model: ${embeddings.name} (${embeddings.dimensions} dims); Chroma ${chromaUrl}`,
    );

    const agent: Principal = { agentId: EVAL_AGENT, namespace: NAMESPACE, role: 'agent' };
    const results: Record<string, Record<string, RunResult>> = {};
    for (const mode of ['dense', 'hybrid'] as const) {
      // Steady state: TF.js and V8 warm up per input shape, so one unmeasured pass first
      // (nothing caches query vectors or results, so the measured pass does the full work).
      for (const q of [...dev, ...heldout]) await indexes[mode].search(agent, q.query, 10);
      results[mode] = {};
      for (const [name, queries] of sets) {
        const showMisses = values.misses && mode === 'hybrid' && name !== 'all';
        results[mode][name] = await measure(
          indexes[mode],
          agent,
          queries,
          showMisses
            ? (q, top) => console.log(`  miss (${name}): "${q.query}" wants ${q.expected.join(' | ')}, got ${top.join(', ')}`)
            : undefined,
        );
      }
    }
    // Latency depends on what else the machine runs; print it next to the figures.
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    console.log(`\nmachine: ${availableParallelism()} CPUs, load average ${load} (1/5/15 min) while measuring`);
    // Latency when the caller may read all 1,000+ tools (admin: no owner filter).
    const admin: Principal = { agentId: 'eval-admin', namespace: NAMESPACE, role: 'admin' };
    const adminLatency = await measure(indexes.hybrid, admin, dev);

    console.log('mode    set       n    recall@1  recall@5  MRR@10  p50 ms  p95 ms');
    for (const [mode, bySet] of Object.entries(results)) {
      for (const [set, r] of Object.entries(bySet)) {
        console.log(
          `${mode.padEnd(7)} ${set.padEnd(8)} ${String(r.queries).padStart(4)}    ${r.recallAt1.toFixed(3)}     ${r.recallAt5.toFixed(3)}    ` +
            `${r.mrr.toFixed(3)}  ${r.p50Ms.toFixed(1).padStart(6)}  ${r.p95Ms.toFixed(1).padStart(6)}`,
        );
      }
    }
    console.log(
      `hybrid, admin caller over all ${indexed} tools: p50 ${adminLatency.p50Ms.toFixed(1)} ms, p95 ${adminLatency.p95Ms.toFixed(1)} ms`,
    );
    const headline = results['hybrid']?.['all'] ?? results['hybrid']?.[sets[0]?.[0] ?? 'dev'];
    if (headline) {
      const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
      console.log(
        `targets (hybrid, ${sets.length > 1 ? 'all' : sets[0]?.[0]} queries): recall@5 ≥ ${TARGETS.recallAt5} ${verdict(headline.recallAt5 >= TARGETS.recallAt5)}, ` +
          `MRR ≥ ${TARGETS.mrr} ${verdict(headline.mrr >= TARGETS.mrr)}, p50 < ${TARGETS.p50Ms} ms ${verdict(headline.p50Ms < TARGETS.p50Ms)}`,
      );
    }
    if (values.json) {
      writeFileSync(values.json, JSON.stringify({ model: embeddings.name, indexedTools: indexed, results, adminLatency }, null, 2) + '\n');
    }
  } finally {
    if (externalUrl) for (const { connection } of catalogue) await indexes.hybrid.removeConnection(connection);
    await Promise.all(Object.values(indexes).map((i) => i.close()));
    await chroma?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
