import { RE2JS } from 're2js';

/** What Ajv needs of a regular expression (`RegExpLike`). */
export interface PatternTester {
  test(input: string): boolean;
  toString(): string;
}

/** Ajv's `code.regExp` option: builds a tester for a schema `pattern` / `patternProperties` key. */
export interface RegExpEngine {
  (pattern: string, flags: string): PatternTester;
  code: string;
}

/** Distinct unenforced patterns reported; an upstream cycling through fresh ones cannot flood the log. */
const MAX_REPORTED_PATTERNS = 1_000;

/**
 * Syntax only a backtracking engine can run: backreferences (`\1`, `\k<name>`)
 * and lookaround. re2js would reject most of it, but its JavaScript translation
 * turns an unknown escape such as `\k` into a literal, which would silently
 * change what the pattern means; so these are detected before translation.
 */
function needsBacktracking(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if ((next >= '1' && next <= '9') || (next === 'k' && pattern[i + 2] === '<')) return true;
      i += 1;
    } else if (ch === '(' && /^\(\?<?[=!]/.test(pattern.slice(i, i + 4))) {
      return true;
    }
  }
  return false;
}

/**
 * A regular-expression engine for Ajv that runs every upstream-supplied
 * pattern on RE2 (re2js): matching time is linear in the input, so no argument
 * can block the event loop (SPEC §14; `^(a+)+$` against 31 characters took a
 * backtracking engine 40 s).
 *
 * A pattern RE2 cannot express (backreference, lookaround) or that is not valid
 * at all is not enforced: its tester accepts everything and `onUnsupported`
 * is told once per pattern. The gateway is only a first line of validation —
 * the upstream still validates its own arguments — and refusing every call of
 * such a tool, or running the pattern on a backtracking engine, would be worse.
 */
export function linearRegExpEngine(onUnsupported: (pattern: string, reason: string) => void): RegExpEngine {
  const reported = new Set<string>();
  const engine = (pattern: string): PatternTester => {
    let compiled: RE2JS | undefined;
    let reason = 'needs a backtracking engine (backreference or lookaround)';
    if (!needsBacktracking(pattern)) {
      try {
        compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
      } catch (error) {
        reason = error instanceof Error ? error.message : 'not a valid pattern';
      }
    }
    if (compiled) {
      const re2 = compiled;
      return { test: (input) => re2.test(input), toString: () => `re2:${pattern}` };
    }
    if (!reported.has(pattern) && reported.size < MAX_REPORTED_PATTERNS) {
      reported.add(pattern);
      onUnsupported(pattern, reason);
    }
    return { test: () => true, toString: () => `unenforced:${pattern}` };
  };
  // Only read by Ajv's standalone code generation, which the gateway does not use.
  return Object.assign(engine, { code: 'linearRegExpEngine' });
}
