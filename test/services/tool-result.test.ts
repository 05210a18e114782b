import { describe, expect, it } from 'vitest';
import { primaryResultValue } from '../../src/services/tool-result.js';

const text = (value: string) => ({ content: [{ type: 'text', text: value }], isError: false });

describe('primaryResultValue (the v2.3 result.result field)', () => {
  it('gives plain text as it is', () => {
    expect(primaryResultValue(text('Echo: hello'))).toBe('Echo: hello');
    expect(primaryResultValue(text('the end'))).toBe('the end');
    expect(primaryResultValue(text('{ not json'))).toBe('{ not json');
    expect(primaryResultValue(text(''))).toBe('');
  });

  it('parses a single text block that is JSON, whatever JSON value it holds', () => {
    expect(primaryResultValue(text('{"sum": 5}'))).toEqual({ sum: 5 });
    expect(primaryResultValue(text('  \n[1, 2]'))).toEqual([1, 2]);
    expect(primaryResultValue(text('-1.5'))).toBe(-1.5);
    expect(primaryResultValue(text('"quoted"'))).toBe('quoted');
    expect(primaryResultValue(text('true'))).toBe(true);
    expect(primaryResultValue(text('null'))).toBeNull();
  });

  it('prefers structuredContent, and gives several blocks as the content array', () => {
    expect(primaryResultValue({ ...text('5'), structuredContent: { sum: 5 } })).toEqual({ sum: 5 });
    const content = [
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
    ];
    expect(primaryResultValue({ content, isError: false })).toBe(content);
  });
});
