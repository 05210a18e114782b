/**
 * `--soak N`: N REST executions through one gateway child with a short
 * execution retention, sampling the child's RSS and the SQLite files as it
 * goes. Memory and database size should level off once the retention sweep
 * deletes as fast as executions arrive; steady growth would be a leak.
 */
import { performance } from 'node:perf_hooks';
import type { GatewayProcess } from './gateway-process.js';
import { readProc } from './proc-stats.js';
import { createRestTarget } from './targets.js';

export interface SoakOptions {
  gateway: GatewayProcess;
  connectionId: string;
  executions: number;
  concurrency: number;
  retention: string;
  log: (message: string) => void;
}

export interface SoakPoint {
  executions: number;
  seconds: number;
  rssMiB: number;
  /** V8 heap in use, from the gateway's own /metrics (nodejs_heap_size_used_bytes). */
  heapUsedMiB: number | null;
  cpuMs: number;
  databaseBytes: number;
  walBytes: number;
}

/** How many points the timeline has; start, middle and end are among them. */
const TIMELINE_POINTS = 20;
/** Executions before the first point, so JIT and caches are warm when the baseline is taken. */
const WARMUP_EXECUTIONS = 2_000;

/**
 * Memory counts as bounded when the highest RSS of the second half exceeds
 * the highest of the first half by less than this. Peaks, not single points:
 * RSS follows the V8 heap's saw-tooth (it grows between major collections),
 * so one reading may land anywhere on a tooth.
 */
const SECOND_HALF_RSS_TOLERANCE = { fraction: 0.1, mib: 16 };

export async function runSoak(options: SoakOptions) {
  const { gateway, log } = options;
  const target = createRestTarget(`rest/${gateway.store}`, {
    url: gateway.url,
    token: gateway.token,
    connectionId: options.connectionId,
    maxConcurrency: options.concurrency,
  });
  const total = WARMUP_EXECUTIONS + options.executions;
  const pointEvery = Math.max(1, Math.floor(options.executions / TIMELINE_POINTS));
  const timeline: SoakPoint[] = [];
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let started = performance.now();

  const point = async () => {
    const proc = readProc(gateway.pid);
    const db = gateway.databaseBytes();
    const heap = await heapUsedMiB(gateway.url);
    const measured: SoakPoint = {
      executions: Math.max(0, completed - WARMUP_EXECUTIONS),
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      rssMiB: Number(proc.rssMiB.toFixed(1)),
      heapUsedMiB: heap,
      cpuMs: proc.cpuMs,
      databaseBytes: db.db,
      walBytes: db.wal,
    };
    timeline.push(measured);
    log(
      `soak ${measured.executions}/${options.executions}: RSS ${measured.rssMiB} MiB, heap ${heap ?? '-'} MiB, ` +
        `db ${(db.db / 2 ** 20).toFixed(1)} MiB + wal ${(db.wal / 2 ** 20).toFixed(1)} MiB, ${errors} errors`,
    );
  };

  const worker = async (): Promise<void> => {
    while (issued < total && errors < 100) {
      issued += 1;
      try {
        await target.operation();
        completed += 1;
        if (completed === WARMUP_EXECUTIONS) {
          started = performance.now();
          await point();
        } else if (completed > WARMUP_EXECUTIONS && (completed - WARMUP_EXECUTIONS) % pointEvery === 0) {
          await point();
        }
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  if (timeline.at(-1)?.executions !== completed - WARMUP_EXECUTIONS) await point();
  await target.close();

  const first = timeline[0];
  const last = timeline.at(-1);
  const middle = timeline[Math.floor((timeline.length - 1) / 2)];
  if (!first || !last || !middle) throw new Error(`soak produced no measurements (${errors} errors: ${firstError})`);
  const half = Math.floor(timeline.length / 2);
  const peak = (points: SoakPoint[]) => Math.max(...points.map((p) => p.rssMiB));
  const firstHalfPeak = peak(timeline.slice(0, half + 1));
  const secondHalfPeak = peak(timeline.slice(half));
  const secondHalfGrowth = secondHalfPeak - firstHalfPeak;
  const allowed = Math.max(SECOND_HALF_RSS_TOLERANCE.mib, firstHalfPeak * SECOND_HALF_RSS_TOLERANCE.fraction);
  const summary = {
    executions: completed - WARMUP_EXECUTIONS,
    errors,
    ...(firstError ? { firstError } : {}),
    concurrency: options.concurrency,
    retention: options.retention,
    callsPerSecond: Number(((completed - WARMUP_EXECUTIONS) / elapsedSeconds).toFixed(1)),
    gatewayCpuMsPerCall: Number(((last.cpuMs - first.cpuMs) / Math.max(1, last.executions - first.executions)).toFixed(4)),
    rssMiB: { start: first.rssMiB, middle: middle.rssMiB, end: last.rssMiB },
    heapUsedMiB: { start: first.heapUsedMiB, middle: middle.heapUsedMiB, end: last.heapUsedMiB },
    databaseMiB: {
      start: toMiB(first.databaseBytes + first.walBytes),
      middle: toMiB(middle.databaseBytes + middle.walBytes),
      end: toMiB(last.databaseBytes + last.walBytes),
    },
    bounded: {
      rule: `peak RSS of the second half exceeds the first half's by less than max(${SECOND_HALF_RSS_TOLERANCE.mib} MiB, ${SECOND_HALF_RSS_TOLERANCE.fraction * 100}%)`,
      firstHalfPeakRssMiB: firstHalfPeak,
      secondHalfPeakRssMiB: secondHalfPeak,
      secondHalfRssGrowthMiB: Number(secondHalfGrowth.toFixed(1)),
      met: secondHalfGrowth < allowed && errors === 0,
    },
    timeline,
  };
  process.stdout.write(
    `\nSoak: ${summary.executions} REST executions at C=${options.concurrency}, retention ${options.retention}, ` +
      `${summary.callsPerSecond} calls/s, ${errors} errors\n` +
      `  gateway RSS MiB  start ${first.rssMiB}  middle ${middle.rssMiB}  end ${last.rssMiB}\n` +
      `  gateway V8 heap used MiB  start ${first.heapUsedMiB ?? '-'}  middle ${middle.heapUsedMiB ?? '-'}  end ${last.heapUsedMiB ?? '-'}\n` +
      `  SQLite MiB (db+wal)  start ${summary.databaseMiB.start}  middle ${summary.databaseMiB.middle}  end ${summary.databaseMiB.end}\n` +
      `  RSS peak MiB  first half ${firstHalfPeak}  second half ${secondHalfPeak}\n` +
      `  no unbounded growth: ${summary.bounded.met ? 'MET' : 'NOT MET'} (${summary.bounded.rule}; ${secondHalfGrowth >= 0 ? '+' : ''}${summary.bounded.secondHalfRssGrowthMiB} MiB)\n`,
  );
  return summary;
}

const toMiB = (bytes: number): number => Number((bytes / 2 ** 20).toFixed(2));

/** The gateway's own view of its heap (prom-client default metrics); null if /metrics does not say. */
async function heapUsedMiB(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+([0-9.e+]+)/m.exec(text);
    return match ? Number((Number(match[1]) / 2 ** 20).toFixed(1)) : null;
  } catch {
    return null;
  }
}
