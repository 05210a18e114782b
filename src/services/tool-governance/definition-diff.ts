import { canonicalDefinition, type ToolDefinition } from '../../common/tool-definition.js';

/** Above this many lines on either side the diff is not computed (LCS is quadratic); both definitions are still shown. */
const MAX_DIFF_LINES = 2_000;
/** Unchanged lines kept around each change. */
const CONTEXT_LINES = 2;

/**
 * A readable line diff of two definitions, pretty-printed with sorted keys:
 * `- ` lines only in the pinned one, `+ ` lines only in the new one, a little
 * unchanged context around them, and `…` where unchanged lines were skipped.
 * `pinned` is `null` for a tool never approved: every line is new.
 */
export function definitionDiff(pinned: Record<string, unknown> | null, current: ToolDefinition): string {
  const before = pinned ? prettyLines(pinned) : [];
  const after = prettyLines(canonicalDefinition(current));
  if (before.length > MAX_DIFF_LINES || after.length > MAX_DIFF_LINES)
    return '(definitions too large to diff; compare them field by field)';
  return withContext(lineDiff(before, after)).join('\n');
}

function prettyLines(value: Record<string, unknown>): string[] {
  return JSON.stringify(sorted(value), null, 2).split('\n');
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}

type DiffLine = { kind: ' ' | '-' | '+'; text: string };

function lineDiff(a: string[], b: string[]): DiffLine[] {
  // lengths[i][j] = LCS of a[i..] and b[j..]
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i]![j] = a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: ' ', text: a[i]! });
      i += 1;
      j += 1;
    } else if (j < b.length && (i === a.length || lengths[i]![j + 1]! > lengths[i + 1]![j]!)) {
      // Strictly greater: on a tie the removal is written first, as diff(1) does.
      out.push({ kind: '+', text: b[j]! });
      j += 1;
    } else {
      out.push({ kind: '-', text: a[i]! });
      i += 1;
    }
  }
  return out;
}

function withContext(lines: DiffLine[]): string[] {
  const keep = lines.map(() => false);
  lines.forEach((line, index) => {
    if (line.kind === ' ') return;
    for (let k = Math.max(0, index - CONTEXT_LINES); k <= Math.min(lines.length - 1, index + CONTEXT_LINES); k += 1) keep[k] = true;
  });
  const out: string[] = [];
  lines.forEach((line, index) => {
    if (keep[index]) out.push(`${line.kind} ${line.text}`);
    else if (index > 0 && keep[index - 1]) out.push('…');
  });
  return out;
}
