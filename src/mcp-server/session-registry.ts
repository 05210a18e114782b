import { SessionIds, type McpSessionState } from './session-id.js';
import type { McpGatewayPort } from './gateway-port.js';

/** Ended sessions remembered per instance; above this, the oldest are forgotten first. */
const MAX_ENDED_SESSIONS = 100_000;

/**
 * Downstream sessions: minted and opened from their sealed ids (no storage),
 * ended by DELETE on any instance (the event bus tells the others), and the GET
 * streams open here per session, so an ended session's stream closes everywhere.
 */
export class SessionRegistry {
  readonly ids: SessionIds;
  private readonly ended = new Set<string>();
  private readonly streams = new Map<string, Set<() => void>>();
  private readonly stop: () => void;

  constructor(private readonly port: McpGatewayPort) {
    this.ids = new SessionIds(port.secretKey);
    this.stop = port.onSessionClosed((sessionId) => this.markEnded(sessionId));
  }

  /** The session's state when `sessionId` is genuine, current, not ended, and `agentId`'s. */
  open(sessionId: string, agentId: string): McpSessionState | undefined {
    if (this.ended.has(sessionId)) return undefined;
    const state = this.ids.open(sessionId);
    return state && state.agentId === agentId ? state : undefined;
  }

  end(sessionId: string): void {
    this.markEnded(sessionId);
    this.port.publishSessionClosed(sessionId);
  }

  /** Registers a GET stream of a session; `close` runs when the session ends. Returns the unregister function. */
  addStream(sessionId: string, close: () => void): () => void {
    const set = this.streams.get(sessionId) ?? new Set();
    set.add(close);
    this.streams.set(sessionId, set);
    return () => {
      set.delete(close);
      if (set.size === 0 && this.streams.get(sessionId) === set) this.streams.delete(sessionId);
    };
  }

  close(): void {
    this.stop();
  }

  private markEnded(sessionId: string): void {
    if (this.ended.size >= MAX_ENDED_SESSIONS) {
      const oldest = this.ended.values().next();
      if (!oldest.done) this.ended.delete(oldest.value);
    }
    this.ended.add(sessionId);
    for (const close of [...(this.streams.get(sessionId) ?? [])]) close();
  }
}
