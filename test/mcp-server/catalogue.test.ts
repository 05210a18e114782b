import { describe, expect, it } from 'vitest';
import { aggregateCatalogue, pageByName, type ExecutableConnection } from '../../src/mcp-server/catalogue.js';
import { isValidToolName } from '../../src/mcp-server/tool-names.js';

const tool = (name: string) => ({ name, description: null, inputSchema: { type: 'object' } });
const connection = (connectionId: string, serverName: string, names: string[]): ExecutableConnection => ({
  connectionId,
  serverName,
  tools: names.map(tool),
});

describe('SEP-986 tool names', () => {
  it.each(['a', 'getUser', 'DATA_EXPORT_v2', 'admin.tools.list', 'x-y', 'a'.repeat(128)])('accepts %s', (name) => {
    expect(isValidToolName(name)).toBe(true);
  });
  it.each(['', 'a'.repeat(129), 'with space', 'comma,name', 'user/profile', 'émoji', 'tab\t'])('refuses %j', (name) => {
    expect(isValidToolName(name)).toBe(false);
  });
});

describe('aggregateCatalogue', () => {
  it('prefixes every tool with its server name and sorts by name', () => {
    const { tools, skipped } = aggregateCatalogue([connection('c2', 'zeta', ['b', 'a']), connection('c1', 'alpha', ['z'])]);
    expect(tools.map((t) => t.name)).toEqual(['alpha__z', 'zeta__a', 'zeta__b']);
    expect(tools[1]).toMatchObject({ connectionId: 'c2', serverName: 'zeta', tool: { name: 'a' } });
    expect(skipped).toEqual([]);
  });

  it('leaves out both tools of a clashing name, never one shadowing the other', () => {
    const { tools, byName, skipped } = aggregateCatalogue([connection('c1', 'a__b', ['c', 'ok']), connection('c2', 'a', ['b__c'])]);
    expect(tools.map((t) => t.name)).toEqual(['a__b__ok']);
    expect(byName.has('a__b__c')).toBe(false);
    expect(skipped).toEqual([
      { name: 'a__b__c', connectionId: 'c1', toolName: 'c', reason: 'name_clash' },
      { name: 'a__b__c', connectionId: 'c2', toolName: 'b__c', reason: 'name_clash' },
    ]);
  });

  it('leaves out names that break SEP-986 once prefixed, and reserved names', () => {
    const long = 'x'.repeat(124); // valid alone, 129 characters once prefixed with 'srv__'
    const { tools, skipped } = aggregateCatalogue(
      [connection('c1', 'srv', ['fine', 'has space', 'path/like', long])],
      new Set(['srv__fine']),
    );
    expect(tools).toEqual([]);
    expect(skipped.map((s) => [s.toolName, s.reason])).toEqual([
      ['fine', 'reserved_name'],
      ['has space', 'invalid_name'],
      ['path/like', 'invalid_name'],
      [long, 'invalid_name'],
    ]);
  });

  it('is deterministic whatever order the connections and tools come in', () => {
    const a = aggregateCatalogue([connection('1', 's1', ['b', 'a']), connection('2', 's2', ['c'])]);
    const b = aggregateCatalogue([connection('2', 's2', ['c']), connection('1', 's1', ['a', 'b'])]);
    expect(a.tools.map((t) => t.name)).toEqual(b.tools.map((t) => t.name));
  });
});

describe('pageByName', () => {
  const items = Array.from({ length: 25 }, (_, i) => ({ name: `t${String(i).padStart(2, '0')}` }));

  it('walks every item exactly once through the cursors', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = pageByName(items, cursor, 10)!;
      seen.push(...page.items.map((i) => i.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((i) => i.name));
  });

  it('keeps its place when items before the cursor disappear', () => {
    const first = pageByName(items, undefined, 10)!;
    const shrunk = items.filter((i) => i.name !== 't03');
    expect(pageByName(shrunk, first.nextCursor, 10)!.items[0]!.name).toBe('t10');
  });

  it('refuses a cursor it did not make', () => {
    expect(pageByName(items, 'not a cursor!', 10)).toBeUndefined();
    expect(pageByName(items, Buffer.from('x:t01').toString('base64url'), 10)).toBeUndefined();
  });

  it('gives no cursor on the last page', () => {
    expect(pageByName(items, undefined, 25)!.nextCursor).toBeUndefined();
  });
});
