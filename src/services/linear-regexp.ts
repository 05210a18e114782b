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

/** JavaScript's `\s` (ECMA-262 WhiteSpace and LineTerminator), as RE2 class content. */
const JS_WHITESPACE = '\\t\\n\\x0B\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';

/**
 * Rewrites the constructs whose meaning differs between JavaScript and RE2 so
 * that RE2 matches what the schema's author (writing ECMA-262) meant: `.`
 * excludes every JavaScript line terminator, not only `\n`; `\s` / `\S` use
 * JavaScript's Unicode whitespace, not RE2's ASCII set. (`\S` inside a class
 * keeps RE2's meaning: a negated set cannot be nested there.)
 */
function withJavaScriptMeaning(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      i += 1;
      if (next === 's') out += inClass ? JS_WHITESPACE : `[${JS_WHITESPACE}]`;
      else if (next === 'S' && !inClass) out += `[^${JS_WHITESPACE}]`;
      else out += ch + next;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
    } else {
      out += ch === '.' ? '[^\\n\\r\\x{2028}\\x{2029}]' : ch;
    }
  }
  return out;
}

/**
 * Matching work allowed for one validation, in RE2 program instructions ×
 * input characters. RE2 is linear in the input, but the constant is the
 * program size: `\w{1000}` written 50 times against 100,000 characters is
 * 5·10⁹ steps (76 s). 10⁷ keeps one validation's worst case near 150 ms while
 * ordinary patterns (a few hundred instructions) still check strings of tens
 * of thousands of characters.
 */
export const MATCH_BUDGET = 10_000_000;

/**
 * RE2 program instructions compiled for one schema. Compiling costs a few µs
 * per instruction and happens on the first call of a tool; past this budget a
 * schema's remaining patterns are not enforced, so a hostile schema stalls
 * nobody for long (one pattern alone is bounded by re2js's own size limit).
 */
export const COMPILE_BUDGET = 20_000;

/** Longer pattern sources are not compiled at all. */
export const MAX_PATTERN_LENGTH = 1_000;

/** Compiled patterns kept for reuse across schemas. */
const MAX_CACHED_PATTERNS = 2_000;

/**
 * Regular expressions for upstream-supplied tool schemas (SPEC §14), as Ajv's
 * `code.regExp` engine: every `pattern` / `patternProperties` runs on RE2
 * (re2js), never on V8's backtracking RegExp (`^(a+)+$` against 31 characters
 * took that 40 s, blocking every tenant).
 *
 * What the gateway does not enforce — the upstream still validates its own
 * arguments, the gateway is the early first line:
 * - a pattern RE2 cannot express (backreference, lookaround), that is not
 *   valid at all, longer than MAX_PATTERN_LENGTH, or met after its schema used
 *   up COMPILE_BUDGET: its tester accepts everything;
 * - a match that would exceed what is left of MATCH_BUDGET in the current
 *   `withinBudget` call: accepted without matching.
 * Refusing every call of such a tool, or running the pattern on a
 * backtracking engine, would be worse. `onUnenforced` hears of each pattern once.
 */
export class LinearPatterns {
  /** Pass as Ajv's `code.regExp`. */
  readonly engine: RegExpEngine;
  private remaining = MATCH_BUDGET;
  private compileRemaining = COMPILE_BUDGET;
  private readonly reported = new Set<string>();
  private readonly cache = new Map<string, { re2: RE2JS; instructions: number }>();

  constructor(private readonly onUnenforced: (pattern: string, reason: string) => void) {
    const engine = (pattern: string): PatternTester => this.compile(pattern);
    // `code` is only read by Ajv's standalone code generation, which the gateway does not use.
    this.engine = Object.assign(engine, { code: 'LinearPatterns' });
  }

  /** Runs one validation (synchronous) with a fresh MATCH_BUDGET. */
  withinBudget<T>(validation: () => T): T {
    return withReset(() => (this.remaining = MATCH_BUDGET), validation);
  }

  /** Compiles one schema (synchronous, e.g. `ajv.compile`) with a fresh COMPILE_BUDGET. */
  withinCompileBudget<T>(compilation: () => T): T {
    return withReset(() => (this.compileRemaining = COMPILE_BUDGET), compilation);
  }

  private compile(pattern: string): PatternTester {
    const compiled = this.cache.get(pattern) ?? this.compileNew(pattern);
    if (typeof compiled === 'string') {
      this.report(pattern, compiled);
      return { test: () => true, toString: () => `unenforced:${pattern}` };
    }
    const { re2, instructions } = compiled;
    return {
      test: (input) => {
        const cost = instructions * (input.length + 1);
        if (cost > this.remaining) {
          this.report(pattern, `matching ${input.length} characters exceeds the match budget`);
          return true;
        }
        this.remaining -= cost;
        return re2.test(input);
      },
      toString: () => `re2:${pattern}`,
    };
  }

  /** The compiled pattern, or why it is not enforced. */
  private compileNew(pattern: string): { re2: RE2JS; instructions: number } | string {
    if (needsBacktracking(pattern)) return 'needs a backtracking engine (backreference or lookaround)';
    if (pattern.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
    if (this.compileRemaining <= 0) return 'the schema exceeds the pattern compile budget';
    let re2: RE2JS;
    try {
      re2 = RE2JS.compile(RE2JS.translateRegExp(withJavaScriptMeaning(pattern)));
    } catch (error) {
      return error instanceof Error ? error.message : 'not a valid pattern';
    }
    const instructions = Math.max(1, (re2.re2().prog as { numInst(): number }).numInst());
    this.compileRemaining -= instructions;
    if (this.cache.size >= MAX_CACHED_PATTERNS) this.cache.clear();
    const compiled = { re2, instructions };
    this.cache.set(pattern, compiled);
    return compiled;
  }

  private report(pattern: string, reason: string): void {
    if (this.reported.has(pattern) || this.reported.size >= MAX_REPORTED_PATTERNS) return;
    this.reported.add(pattern);
    this.onUnenforced(pattern, reason);
  }
}

/** Runs `work` between two resets, so a budget never leaks from one run into the next. */
function withReset<T>(reset: () => void, work: () => T): T {
  reset();
  try {
    return work();
  } finally {
    reset();
  }
}
