import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The gateway records the local Chroma it runs in the data folder, so that
 * `npm run tools:reindex` talks to that server instead of starting a second
 * one on the same files.
 */
const REGISTRY_FILE = '.tmws-gateway.json';

export function registerLocalChroma(path: string, url: string): void {
  writeFileSync(join(path, REGISTRY_FILE), JSON.stringify({ url, pid: process.pid }), { mode: 0o600 });
}

export function unregisterLocalChroma(path: string): void {
  rmSync(join(path, REGISTRY_FILE), { force: true });
}

/** URL of the Chroma a running gateway serves from `path`, if that gateway is still alive. */
export function runningGatewayChroma(path: string): string | undefined {
  try {
    const { url, pid } = JSON.parse(readFileSync(join(path, REGISTRY_FILE), 'utf8')) as { url?: string; pid?: number };
    if (!url || !pid) return undefined;
    process.kill(pid, 0);
    return url;
  } catch {
    return undefined;
  }
}
