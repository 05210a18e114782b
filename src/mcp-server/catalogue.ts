import type { ToolDefinition } from '../common/tool-definition.js';
import { aggregatedToolName, isValidToolName } from './tool-names.js';

/** One upstream tool as the gateway stored it (schemas and annotations verbatim). */
export interface StoredTool extends ToolDefinition {
  /** Tool governance held or denied it: never listed, but a call by name reaches the gateway and gets its tool error. */
  withheld?: boolean;
}

/** A live connection the caller may execute on, with its catalogue. */
export interface ExecutableConnection {
  connectionId: string;
  serverName: string;
  tools: readonly StoredTool[];
}

/** A tool as `/mcp` exposes it, and where calls to it go. */
export interface AggregatedTool {
  name: string;
  connectionId: string;
  serverName: string;
  tool: StoredTool;
}

export type SkipReason = 'invalid_name' | 'name_clash' | 'reserved_name';

export interface SkippedTool {
  name: string;
  connectionId: string;
  toolName: string;
  reason: SkipReason;
}

export interface AggregatedCatalogue {
  /** Sorted by name (UTF-16 code units): the same catalogue always lists in the same order. Withheld tools are not here. */
  tools: AggregatedTool[];
  /** Listed and withheld tools: a call to a withheld one is refused by the execution service, as a tool error. */
  byName: ReadonlyMap<string, AggregatedTool>;
  /** Left out, never shadowed: every tool whose name is invalid, reserved, or shared with another. */
  skipped: SkippedTool[];
}

/**
 * Merges the caller's connections into one namespace of tool names. A name
 * that breaks SEP-986 (e.g. too long once prefixed) is left out; a name that
 * two tools would share (`a__b` + `c` and `a` + `b__c`) leaves out both, so a
 * call can never reach a tool other than the one its name was listed for.
 */
export function aggregateCatalogue(
  connections: readonly ExecutableConnection[],
  reserved: ReadonlySet<string> = new Set(),
): AggregatedCatalogue {
  const candidates = new Map<string, AggregatedTool[]>();
  const skipped: SkippedTool[] = [];
  for (const connection of connections) {
    for (const tool of connection.tools) {
      const name = aggregatedToolName(connection.serverName, tool.name);
      const entry = { name, connectionId: connection.connectionId, serverName: connection.serverName, tool };
      if (!isValidToolName(name)) skipped.push(skip(entry, 'invalid_name'));
      else if (reserved.has(name)) skipped.push(skip(entry, 'reserved_name'));
      else candidates.set(name, [...(candidates.get(name) ?? []), entry]);
    }
  }
  const tools: AggregatedTool[] = [];
  for (const [, entries] of candidates) {
    if (entries.length === 1) tools.push(entries[0]!);
    else skipped.push(...entries.map((entry) => skip(entry, 'name_clash')));
  }
  tools.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return { tools: tools.filter((entry) => !entry.tool.withheld), byName, skipped };
}

function skip(entry: AggregatedTool, reason: SkipReason): SkippedTool {
  return { name: entry.name, connectionId: entry.connectionId, toolName: entry.tool.name, reason };
}

export interface CataloguePage<T> {
  items: T[];
  nextCursor?: string;
}

/**
 * One page of a name-sorted list. The cursor is the last name served
 * (base64url), so a page boundary stays put when tools before it come or go.
 * An unreadable cursor answers `undefined` (the caller reports invalid params).
 */
export function pageByName<T extends { name: string }>(
  sorted: readonly T[],
  cursor: string | undefined,
  pageSize: number,
): CataloguePage<T> | undefined {
  let start = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    if (after === undefined) return undefined;
    start = sorted.findIndex((item) => item.name > after);
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + pageSize);
  const last = items[items.length - 1];
  return start + pageSize < sorted.length && last ? { items, nextCursor: encodeCursor(last.name) } : { items };
}

function encodeCursor(name: string): string {
  return Buffer.from(`n:${name}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  return text.startsWith('n:') ? text.slice(2) : undefined;
}
