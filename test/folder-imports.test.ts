/**
 * The folders of src/ form layers: no folder reaches itself again through
 * the folders it imports (e.g. http/ → services/ → ratelimit/ → http/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder of src/ a path lies in ('.' for src/main.ts and src/app.ts). */
const folderOf = (path: string) => {
  const parts = relative(SRC, path).split('/');
  return parts.length > 1 ? (parts[0] ?? '.') : '.';
};

/** folder → the other folders its files import (static, dynamic and type-only imports). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), match[1] ?? ''));
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

/** Each folder that can reach itself, with one path that does. */
function cycles(graph: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  for (const start of graph.keys()) {
    const queue: string[][] = [[start]];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const path = queue.shift() ?? [];
      for (const next of graph.get(path[path.length - 1] ?? '') ?? []) {
        if (next === start) {
          found.push([...path, next].join(' → '));
          queue.length = 0;
          break;
        }
        if (!seen.has(next)) {
          seen.add(next);
          queue.push([...path, next]);
        }
      }
    }
  }
  return found;
}

describe('folders of src/', () => {
  it('import one another without a loop', () => {
    expect(cycles(folderGraph())).toEqual([]);
  });

  it('would report a loop', () => {
    const graph = new Map([
      ['http', new Set(['services'])],
      ['services', new Set(['ratelimit'])],
      ['ratelimit', new Set(['http'])],
    ]);
    expect(cycles(graph)).toContain('http → services → ratelimit → http');
  });
});
