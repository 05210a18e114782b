/**
 * CPU time and resident memory of another process, read from procfs (Linux).
 * Used on the gateway child so its cost per call is measured from outside,
 * without instrumenting the code under test.
 */
import { readFileSync } from 'node:fs';

export interface ProcSnapshot {
  /** utime + stime, in ms. */
  cpuMs: number;
  /** VmRSS, in MiB. */
  rssMiB: number;
}

/** Kernel clock ticks per second; 100 on every mainstream Linux build (USER_HZ). */
const CLOCK_TICKS_PER_SECOND = 100;

export function readProc(pid: number): ProcSnapshot {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces; everything after its closing paren is space-separated.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 overall, i.e. 12 and 13 after comm and state.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssMiB: rssKiB / 1024 };
}

/** CPU time of this process (user + system), in ms. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
