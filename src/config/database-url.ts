import { isAbsolute, resolve } from 'node:path';

export type DatabaseTarget = { driver: 'sqlite'; path: string } | { driver: 'postgresql'; url: string };

/**
 * Accepts the URL forms of the v2.3 docs: `sqlite:///relative/path`,
 * `sqlite:////absolute/path` (four slashes), the `sqlite+aiosqlite://` alias,
 * `sqlite:///:memory:` and `postgresql://` / `postgres://` (optionally `+asyncpg`).
 */
export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseTarget {
  const sqlite = /^sqlite(?:\+aiosqlite)?:\/\/\/(.+)$/.exec(url);
  if (sqlite?.[1]) {
    const raw = sqlite[1];
    if (raw === ':memory:') return { driver: 'sqlite', path: ':memory:' };
    return { driver: 'sqlite', path: isAbsolute(raw) ? raw : resolve(cwd, raw) };
  }
  const pg = /^postgres(?:ql)?(?:\+\w+)?:\/\/(.+)$/.exec(url);
  if (pg?.[1]) return { driver: 'postgresql', url: `postgresql://${pg[1]}` };
  throw new Error(`unsupported database URL (expected sqlite:///path or postgresql://…)`);
}
