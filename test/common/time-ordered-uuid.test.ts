import { describe, expect, it } from 'vitest';
import { timeOrderedUuid, timeOrderedUuids } from '../../src/common/time-ordered-uuid.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedUuid', () => {
  it('is a UUID version 7 whose first 48 bits are the Unix milliseconds', () => {
    const at = Date.UTC(2026, 11, 5, 12, 0, 0, 123);
    const id = timeOrderedUuids()(at);
    expect(id).toMatch(V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts in creation order, within one millisecond too, and never repeats', () => {
    const next = timeOrderedUuids();
    const start = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(next(start + Math.floor(i / 5_000)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 50)) expect(id).toMatch(V7);
  });

  it('stays in order when the clock steps back', () => {
    const next = timeOrderedUuids();
    const ahead = next(Date.now() + 600_000);
    const after = next(Date.now());
    expect(after > ahead).toBe(true);
  });

  it('is what the process uses: ids made one after another sort in that order', () => {
    const first = timeOrderedUuid();
    const second = timeOrderedUuid();
    expect(first).toMatch(V7);
    expect(second > first).toBe(true);
  });
});
