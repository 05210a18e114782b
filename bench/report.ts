/**
 * Turns the measured segments into rows (throughput, latency percentiles,
 * ratio and added latency against the direct baseline at the same
 * concurrency, gateway CPU and memory), checks the SPEC §9 targets, prints
 * the table and writes the JSON.
 */
import { summarizeLatencies, type LatencySummary } from './load-generator.js';
import type { GatewayApi } from './options.js';

export type TargetKind = 'direct' | GatewayApi;

/** Which target at which concurrency, and how many of its calls succeeded or failed. */
interface Segment {
  target: string;
  kind: TargetKind;
  store: 'memory' | 'redis' | null;
  concurrency: number;
  calls: number;
  errors: number;
}

/** Everything measured for one target at one concurrency, summed over rounds. */
export interface Cell extends Segment {
  elapsedMs: number;
  latenciesMs: number[];
  gatewayCpuMs: number;
  upstreamCpuMs: number;
  loadGeneratorCpuMs: number;
  gatewayRssMiB: number | null;
  /** Gateway CPU per call in each round, in round order (gateway targets only). */
  gatewayCpuMsPerCallByRound: number[];
  /** The upstream's CPU per call in each round: the same machine's drift, on code that does not change. */
  upstreamCpuMsPerCallByRound: number[];
  firstError?: string;
}

export interface Row extends Segment {
  callsPerSecond: number;
  latencyMs: LatencySummary;
  /** Gateway throughput ÷ direct throughput at the same concurrency. */
  ratioToDirect: number | null;
  addedP50Ms: number | null;
  addedP99Ms: number | null;
  gatewayCpuMsPerCall: number | null;
  /** The same, round by round: what `--compare` pairs up. */
  gatewayCpuMsPerCallByRound: number[];
  gatewayRssMiB: number | null;
  upstreamCpuMsPerCall: number;
  upstreamCpuMsPerCallByRound: number[];
  loadGeneratorCpuMsPerCall: number;
  firstError?: string;
}

export interface TargetCheck {
  name: string;
  target: string;
  threshold: string;
  measured: string;
  met: boolean;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

export function toRows(cells: Cell[]): Row[] {
  const base = cells.map((cell) => {
    const calls = Math.max(1, cell.calls);
    const row: Row = {
      target: cell.target,
      kind: cell.kind,
      store: cell.store,
      concurrency: cell.concurrency,
      calls: cell.calls,
      errors: cell.errors,
      callsPerSecond: round(cell.calls / (cell.elapsedMs / 1000), 1),
      latencyMs: mapValues(summarizeLatencies(cell.latenciesMs), (v) => round(v)),
      ratioToDirect: null,
      addedP50Ms: null,
      addedP99Ms: null,
      gatewayCpuMsPerCall: cell.kind === 'direct' ? null : round(cell.gatewayCpuMs / calls, 4),
      gatewayCpuMsPerCallByRound: cell.gatewayCpuMsPerCallByRound.map((ms) => round(ms, 4)),
      gatewayRssMiB: cell.gatewayRssMiB === null ? null : round(cell.gatewayRssMiB, 1),
      upstreamCpuMsPerCall: round(cell.upstreamCpuMs / calls, 4),
      upstreamCpuMsPerCallByRound: cell.upstreamCpuMsPerCallByRound.map((ms) => round(ms, 4)),
      loadGeneratorCpuMsPerCall: round(cell.loadGeneratorCpuMs / calls, 4),
    };
    if (cell.firstError !== undefined) row.firstError = cell.firstError;
    return row;
  });
  for (const row of base) {
    if (row.kind === 'direct') continue;
    const direct = base.find((r) => r.kind === 'direct' && r.concurrency === row.concurrency);
    if (!direct) continue;
    row.ratioToDirect = round(row.callsPerSecond / direct.callsPerSecond);
    row.addedP50Ms = round(row.latencyMs.p50 - direct.latencyMs.p50);
    row.addedP99Ms = round(row.latencyMs.p99 - direct.latencyMs.p99);
  }
  return base;
}

function mapValues<T extends object>(object: T, fn: (value: number) => number): T {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, fn(v as number)])) as T;
}

/** SPEC §9: gateway CPU per call, by door and concurrency (the lean GraphQL selection has no target of its own). */
const CPU_TARGET_MS: Partial<Record<TargetKind, Record<number, number>>> = {
  rest: { 32: 0.5, 1: 1.0 },
  'graphql-row': { 32: 0.7, 1: 1.3 },
  mcp: { 32: 0.6, 1: 1.2 },
};

/** SPEC §9: throughput at C=32 as a share of direct. */
const MIN_RATIO_AT_32: Record<GatewayApi, number> = { rest: 0.8, graphql: 0.7, 'graphql-row': 0.7, mcp: 0.7 };

/** SPEC §9 targets: gateway CPU per call; throughput vs direct at C=32; added p50 ≤ 1 ms and p99 ≤ 5 ms at C=1. */
export function checkTargets(rows: Row[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const row of rows) {
    if (row.kind === 'direct') continue;
    const cpuLimit = CPU_TARGET_MS[row.kind]?.[row.concurrency];
    if (cpuLimit !== undefined && row.gatewayCpuMsPerCall !== null) {
      checks.push({
        name: `gateway CPU per call at C=${row.concurrency}`,
        target: row.target,
        threshold: `≤ ${cpuLimit} ms`,
        measured: `${row.gatewayCpuMsPerCall.toFixed(3)} ms`,
        met: row.errors === 0 && row.gatewayCpuMsPerCall <= cpuLimit,
      });
    }
    if (row.concurrency === 32 && row.ratioToDirect !== null) {
      const minimum = MIN_RATIO_AT_32[row.kind];
      checks.push({
        name: 'throughput at C=32',
        target: row.target,
        threshold: `≥ ${minimum * 100}% of direct`,
        measured: `${(row.ratioToDirect * 100).toFixed(1)}%`,
        met: row.errors === 0 && row.ratioToDirect >= minimum,
      });
    }
    if (row.concurrency === 1 && row.addedP50Ms !== null && row.addedP99Ms !== null) {
      checks.push({
        name: 'added p50 at C=1',
        target: row.target,
        threshold: '≤ 1 ms',
        measured: `${row.addedP50Ms.toFixed(3)} ms`,
        met: row.errors === 0 && row.addedP50Ms <= 1,
      });
      checks.push({
        name: 'added p99 at C=1',
        target: row.target,
        threshold: '≤ 5 ms',
        measured: `${row.addedP99Ms.toFixed(3)} ms`,
        met: row.errors === 0 && row.addedP99Ms <= 5,
      });
    }
  }
  return checks;
}

const fixed = (value: number | null, digits: number): string => (value === null || Number.isNaN(value) ? '-' : value.toFixed(digits));

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

export function formatRows(rows: Row[]): string {
  const header = [
    'C',
    'target',
    'calls/s',
    'vs direct',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    '+p50 ms',
    '+p99 ms',
    'gw CPU ms/call',
    'gw RSS MiB',
    'up CPU ms/call',
    'errors',
  ];
  const lines = rows.map((r) => [
    String(r.concurrency),
    r.target,
    r.callsPerSecond.toFixed(0),
    r.ratioToDirect === null ? '-' : `${(r.ratioToDirect * 100).toFixed(1)}%`,
    fixed(r.latencyMs.p50, 2),
    fixed(r.latencyMs.p90, 2),
    fixed(r.latencyMs.p99, 2),
    fixed(r.addedP50Ms, 2),
    fixed(r.addedP99Ms, 2),
    fixed(r.gatewayCpuMsPerCall, 3),
    fixed(r.gatewayRssMiB, 1),
    fixed(r.upstreamCpuMsPerCall, 3),
    String(r.errors),
  ]);
  return table(header, lines);
}

export function formatChecks(checks: TargetCheck[]): string {
  const lines = checks.map((c) => [c.met ? 'MET' : 'NOT MET', c.target, c.name, c.threshold, c.measured]);
  return table(['result', 'target', 'check', 'threshold', 'measured'], lines);
}

/**
 * `--compare`: each gateway's CPU per call against the other checkout's, round
 * by round. Both ran in the same round, seconds apart, so the ratio of a pair
 * is far steadier than the ratio of totals on a machine whose speed drifts
 * over minutes; the median of the pairs is the figure to quote.
 */
export function formatPairs(rows: Row[], label: string): string {
  const lines = ['C  target                 rounds  median now/before  lowest  highest'];
  for (const row of rows) {
    if (row.kind === 'direct' || row.target.endsWith(`@${label}`)) continue;
    const other = rows.find((r) => r.target === `${row.target}@${label}` && r.concurrency === row.concurrency);
    if (!other) continue;
    const ratios = row.gatewayCpuMsPerCallByRound
      .map((ms, i) => ms / (other.gatewayCpuMsPerCallByRound[i] ?? Number.NaN))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    if (ratios.length === 0) continue;
    const middle = ratios.length / 2;
    const median = ratios.length % 2 === 1 ? ratios[Math.floor(middle)]! : (ratios[middle - 1]! + ratios[middle]!) / 2;
    lines.push(
      `${String(row.concurrency).padEnd(3)}${row.target.padEnd(23)}${String(ratios.length).padStart(6)}` +
        `${median.toFixed(3).padStart(19)}${ratios[0]!.toFixed(3).padStart(8)}${ratios.at(-1)!.toFixed(3).padStart(9)}`,
    );
  }
  return lines.join('\n');
}
