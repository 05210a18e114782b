/**
 * What the audit trail stores and what the gateway sends on: NUL and lone surrogates are found wherever they
 * are (and replaced before a write), and a number JSON cannot carry (1e400) is told apart from them.
 */
import { describe, expect, it } from 'vitest';
import { containsUnstorableText, storableJson, unsendableIn } from '../../src/common/storable-text.js';

describe('unsendableIn', () => {
  it.each([
    ['nothing wrong', { a: 1, b: ['x', { c: null }] }, undefined],
    ['NUL in a value', { a: 'x\u0000' }, 'text'],
    ['NUL in a key', { 'k\u0000': 1 }, 'text'],
    ['a lone surrogate', ['\uD800'], 'text'],
    ['a number out of range', { a: JSON.parse('1e400') as number }, 'number'],
    ['both, the number first', { a: JSON.parse('1e400') as number, b: 'x\u0000' }, 'text'],
  ])('%s', (_label, value, expected) => {
    expect(unsendableIn(value)).toBe(expected);
  });
});

describe('storableJson', () => {
  it('replaces NUL after a number out of range too (an upstream result may hold both)', () => {
    const result = JSON.parse('{"n":1e400,"text":"a\\u0000b"}') as unknown;
    expect(containsUnstorableText(result)).toBe(true);
    expect(storableJson(result)).toBe('{"n":null,"text":"a\uFFFDb"}');
  });
});
