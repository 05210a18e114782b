import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The development key, and whether its file is still to be written (start-up says so, once). */
export interface DevSecret {
  key: string;
  path: string;
  /** True when no usable key file existed: `saveDevSecret` creates it with this key. */
  created: boolean;
}

/**
 * Development convenience: a random 64-hex key kept in `data/secret.key`
 * (0600) so tokens survive restarts. Reads the file when it holds a key;
 * otherwise draws a new key without writing anything — configuration only
 * reads; `main` and the CLI save it (saveDevSecret) before using it.
 */
export function readDevSecret(path: string): DevSecret {
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return { key: existing, path, created: false };
  }
  return { key: randomBytes(32).toString('hex'), path, created: true };
}

/** Writes a key drawn by readDevSecret (folder 0700, file 0600); a key read from its file is left alone. */
export function saveDevSecret(secret: DevSecret | undefined): void {
  if (!secret?.created) return;
  mkdirSync(dirname(secret.path), { recursive: true, mode: 0o700 });
  writeFileSync(secret.path, `${secret.key}\n`, { mode: 0o600 });
  chmodSync(secret.path, 0o600);
}
