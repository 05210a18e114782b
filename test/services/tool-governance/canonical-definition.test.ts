import { describe, expect, it } from 'vitest';
import { definitionHash } from '../../../src/common/tool-definition.js';
import { definitionDiff } from '../../../src/services/tool-governance/definition-diff.js';
import { globMatches } from '../../../src/services/tool-governance/tool-policy.js';

const TOOL = {
  name: 'add',
  description: 'Adds two numbers.',
  inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
};

describe('definition hash', () => {
  it('ignores key order and absent-versus-null parts', () => {
    const reordered = {
      inputSchema: { required: ['a', 'b'], properties: { b: { type: 'number' }, a: { type: 'number' } }, type: 'object' },
      description: 'Adds two numbers.',
      name: 'add',
      title: null,
      annotations: null,
    };
    expect(definitionHash(reordered)).toBe(definitionHash(TOOL));
  });

  it('changes with any part a model reads or sends', () => {
    const base = definitionHash(TOOL);
    expect(definitionHash({ ...TOOL, description: 'Adds two numbers' })).not.toBe(base);
    expect(definitionHash({ ...TOOL, title: 'Add' })).not.toBe(base);
    expect(definitionHash({ ...TOOL, annotations: { destructiveHint: true } })).not.toBe(base);
    expect(definitionHash({ ...TOOL, outputSchema: { type: 'object' } })).not.toBe(base);
    expect(definitionHash({ ...TOOL, inputSchema: { ...TOOL.inputSchema, required: ['b', 'a'] } })).not.toBe(base);
  });
});

describe('definition diff', () => {
  it('shows removed and added lines with a little context', () => {
    const diff = definitionDiff({ ...TOOL, title: null, outputSchema: null, annotations: null }, { ...TOOL, description: 'Adds.' });
    expect(diff.split('\n')).toEqual([
      '  {',
      '    "annotations": null,',
      '-   "description": "Adds two numbers.",',
      '+   "description": "Adds.",',
      '    "inputSchema": {',
      '      "properties": {',
      '…',
    ]);
  });
});

describe('policy globs', () => {
  it.each([
    ['files/*', 'files/read_file', true],
    ['files/*', 'web/read_file', false],
    ['*/delete_*', 'files/delete_file', true],
    ['*/e?ho', 'web/echo', true],
    ['*/e?ho', 'web/eecho', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
  ])('%s against %s: %s', (glob, subject, expected) => {
    expect(globMatches(glob, subject)).toBe(expected);
  });

  it('stays fast on a pathological glob', () => {
    const started = performance.now();
    expect(globMatches(`${'*a'.repeat(100)}b`, 'a'.repeat(300))).toBe(false);
    // Linear-time matching: far below any test timeout even on a loaded machine (a backtracking regex would not finish).
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
