import { readdirSync, readlinkSync } from 'node:fs';

/** What this process's open descriptors of `path` point at, as /proc shows them (a deleted file reads "… (deleted)"). */
export function openFilesOf(path: string): string[] {
  const targets: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(path)) targets.push(target);
    } catch {
      // The descriptor readdir itself used, closed since.
    }
  }
  return targets;
}
