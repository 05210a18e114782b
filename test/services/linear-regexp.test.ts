import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinearPatterns, MATCH_BUDGET } from '../../src/services/linear-regexp.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_205);

/** An Ajv like the tool catalogue's, recording what it did not enforce. */
function ajvWithLinearPatterns() {
  const unenforced: string[] = [];
  const patterns = new LinearPatterns((pattern, reason) => unenforced.push(`${pattern}: ${reason}`));
  const ajv = new Ajv({ strict: false, validateSchema: false, code: { regExp: patterns.engine } });
  const validator = (pattern: string) => {
    const validate = patterns.withinCompileBudget(() => ajv.compile({ type: 'string', pattern }));
    return (value: string) => patterns.withinBudget(() => validate(value));
  };
  return { validator, unenforced };
}

/** Small regular expressions over a tiny alphabet: every one is regular, so RE2 and V8 must agree. */
const regular = fc.letrec<{ re: string }>((tie) => ({
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', '.', '[ab]', '[^a]'),
    fc.tuple(tie('re'), tie('re')).map(([x, y]) => `${x}${y}`),
    fc.tuple(tie('re'), tie('re')).map(([x, y]) => `(?:${x}|${y})`),
    fc.tuple(tie('re'), fc.constantFrom('*', '+', '?', '{2}', '{1,3}')).map(([x, q]) => `(?:${x})${q}`),
  ),
})).re;

describe('LinearPatterns (RE2 for tool schema patterns)', () => {
  it('agrees with JavaScript on regular patterns', () => {
    const { validator } = ajvWithLinearPatterns();
    fc.assert(
      fc.property(regular, fc.boolean(), fc.boolean(), fc.stringMatching(/^[ab]{0,8}$/), (re, start, end, input) => {
        const pattern = `${start ? '^' : ''}${re}${end ? '$' : ''}`;
        expect(validator(pattern)(input)).toBe(new RegExp(pattern, 'u').test(input));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps the JavaScript meaning of ., \\s and \\S', () => {
    const { validator } = ajvWithLinearPatterns();
    const atoms = fc.constantFrom('.', '\\s', '\\S', '[\\s]', '[a\\s]', 'a', '\\d', '\\w');
    const text = fc.string({
      unit: fc.constantFrom('a', '1', ' ', '\t', '\n', '\r', '\u000b', '\u00a0', '\u2028', '\u3000', '\ufeff', 'é', '_'),
      maxLength: 4,
    });
    fc.assert(
      fc.property(fc.array(atoms, { minLength: 1, maxLength: 4 }), text, (parts, input) => {
        const pattern = `^${parts.join('')}$`;
        expect(validator(pattern)(input)).toBe(new RegExp(pattern, 'u').test(input));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('never throws, whatever the pattern and the input', () => {
    const { validator } = ajvWithLinearPatterns();
    const patternText = fc.string({ unit: fc.constantFrom(...'ab()[]{}|*+?^$\\.-,:=!<>kudpPwWsS0123456789'.split('')), maxLength: 24 });
    fc.assert(
      fc.property(patternText, fc.string({ maxLength: 40 }), (pattern, input) => {
        expect(typeof validator(pattern)(input)).toBe('boolean');
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('leaves to the upstream what it cannot run, and says so once', () => {
    const { validator, unenforced } = ajvWithLinearPatterns();
    expect(validator('^(a)\\1$')('ab')).toBe(true);
    expect(validator('^(?=a)b$')('b')).toBe(true);
    expect(validator('^(?<n>a)\\k<n>$')('ab')).toBe(true);
    validator('^(a)\\1$');
    expect(unenforced).toHaveLength(3);
  });

  it('stops matching when one validation would exceed the match budget', () => {
    const { validator, unenforced } = ajvWithLinearPatterns();
    const validate = validator('\\w{1000}'.repeat(50));
    expect(validate('short')).toBe(false);
    // 50,000 instructions × 10,000 characters is 50 budgets: accepted without matching (it would take seconds).
    expect(validate('a'.repeat(MATCH_BUDGET / 1_000))).toBe(true);
    expect(unenforced.some((line) => line.includes('match budget'))).toBe(true);
  });

  it('stops compiling a schema past the compile budget', () => {
    const unenforced: string[] = [];
    const patterns = new LinearPatterns((pattern, reason) => unenforced.push(reason));
    const ajv = new Ajv({ strict: false, validateSchema: false, code: { regExp: patterns.engine } });
    const properties = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`p${i}`, { type: 'string', pattern: `^${'[a-z]{1000}'.repeat(4)}${i}$` }]),
    );
    patterns.withinCompileBudget(() => ajv.compile({ type: 'object', properties }));
    expect(unenforced.some((reason) => reason.includes('compile budget'))).toBe(true);
  });
});
