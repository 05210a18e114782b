import type { ToolRecordMetadata } from './chroma-store.js';
import {
  catalogueCounts,
  type CatalogueEntry,
  type IndexedConnection,
  type IndexWriter,
  type PruneOptions,
  type ReplaceProgress,
} from './index-writer.js';
import type { IndexableTool } from './tool-document.js';

/** A full rebuild from a catalogue listing, written connection by connection in bounded steps. */
export interface RebuildOp {
  kind: 'rebuild';
  entries: CatalogueEntry[];
  reuseEmbeddings: boolean;
  prune: PruneOptions | false;
  /** Shared by every step of this rebuild: the counts once it is done, or why it failed. */
  settle: { done?: { connections: number; tools: number }; reject: (e: unknown) => void };
  /** The entry being written, and what is left of it. */
  next: number;
  progress?: ReplaceProgress;
  /** Connections written or removed by a newer write since the listing: the rebuild leaves them alone. */
  superseded: Set<string>;
}

/** What the index write queue holds: each runs in bounded steps (see `applyWriteStep`). */
export type WriteOp =
  | { kind: 'replace'; connection: IndexedConnection; tools: IndexableTool[]; progress?: ReplaceProgress }
  | { kind: 'remove'; connection: Pick<IndexedConnection, 'id' | 'namespace'> }
  | RebuildOp;

/** One bounded step of `op`; returns the rest of the work, or undefined when it is done. */
export async function applyWriteStep(writer: IndexWriter, op: WriteOp): Promise<WriteOp | undefined> {
  if (op.kind === 'replace') {
    const progress = await writer.replaceConnectionStep(op.connection, op.tools, op.progress);
    return progress ? { ...op, progress } : undefined;
  }
  if (op.kind === 'remove') {
    await writer.removeConnection(op.connection);
    return undefined;
  }
  return rebuildStep(writer, op);
}

/** Writes (a step of) the next listed connection; once all are written, prunes and records the counts. */
async function rebuildStep(writer: IndexWriter, op: RebuildOp): Promise<RebuildOp | undefined> {
  let { next, progress } = op;
  while (next < op.entries.length && op.superseded.has(op.entries[next]!.connection.id)) {
    next += 1;
    progress = undefined;
  }
  const entry = op.entries[next];
  if (entry) {
    const rest = await writer.replaceConnectionStep(entry.connection, entry.tools, progress, op.reuseEmbeddings);
    return rest ? { ...op, next, progress: rest } : { ...op, next: next + 1, progress: undefined };
  }
  if (op.prune) await writer.pruneUnlistedEverywhere(op.entries, op.prune, op.superseded);
  op.settle.done = catalogueCounts(op.entries);
  return undefined;
}

/**
 * Hides search results that queued (not yet applied) writes are about to delete.
 * A pending rebuild hides nothing: what it will prune is what the caller's live filter refuses.
 */
export function visibleDespitePendingWrites(pending: readonly WriteOp[]): (m: ToolRecordMetadata) => boolean {
  if (pending.length === 0) return () => true;
  const removed = new Set<string>();
  const replaced = new Map<string, Set<string>>();
  for (const op of pending) {
    if (op.kind === 'remove') removed.add(op.connection.id);
    else if (op.kind === 'replace') replaced.set(op.connection.id, new Set(op.tools.map((t) => t.name)));
  }
  return (m) => {
    if (removed.has(m.connection_id)) return false;
    const tools = replaced.get(m.connection_id);
    return tools ? tools.has(m.tool_name) : true;
  };
}
