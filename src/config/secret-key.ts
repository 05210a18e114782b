import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The development key and whether this start created it (start-up says so, once). */
export interface DevSecret {
  key: string;
  path: string;
  created: boolean;
}

/**
 * Development convenience: a random 64-hex key kept in `data/secret.key` (0600)
 * so tokens survive restarts. Never used outside development.
 */
export function loadOrCreateDevSecret(path: string): DevSecret {
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return { key: existing, path, created: false };
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('hex');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { key, path, created: true };
}
