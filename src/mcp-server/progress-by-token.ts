import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ProgressCoalescer, type CoalescerPace } from '../services/progress-coalescer.js';

/** Progress tokens relayed at once on one stream; progress for a token past them is dropped. */
export const MAX_LIVE_PROGRESS_TOKENS = 32;

/** A token is forgotten (its last progress delivered) once none of its progress came for this long. */
const TOKEN_IDLE_MS = 1_000;

interface LiveToken {
  coalescer: ProgressCoalescer<JSONRPCMessage>;
  lastAt: number;
}

/**
 * Progress that an upstream sends on one stream — a request's answer stream or
 * its standalone GET stream — relayed to the client at `pace` per progress
 * token (SPEC §14: the latest kept, the last delivered on `close`). The tokens
 * are the client's, but the upstream writes them: at most
 * MAX_LIVE_PROGRESS_TOKENS are relayed at once, or an upstream that invents a
 * new token per notification would be relayed as fast as it sends.
 */
export class ProgressByToken {
  private readonly tokens = new Map<unknown, LiveToken>();
  private closed = false;

  constructor(
    private readonly relay: (message: JSONRPCMessage) => void,
    private readonly pace: CoalescerPace,
  ) {}

  /** Returns false when the notification was dropped (too many live tokens, or the stream is over). */
  push(message: JSONRPCMessage & { params?: { progressToken?: unknown } }): boolean {
    if (this.closed) return false;
    const token = message.params?.progressToken;
    const now = Date.now();
    let live = this.tokens.get(token);
    if (!live) {
      this.forgetIdle(now);
      if (this.tokens.size >= MAX_LIVE_PROGRESS_TOKENS) return false;
      live = { coalescer: new ProgressCoalescer(this.relay, this.pace), lastAt: now };
      this.tokens.set(token, live);
    }
    live.lastAt = now;
    live.coalescer.push(message);
    return true;
  }

  /** The stream is over: what is pending goes out (if it still can), nothing later does, no timer is left. */
  async close(): Promise<void> {
    this.closed = true;
    const live = [...this.tokens.values()];
    this.tokens.clear();
    await Promise.all(live.map(({ coalescer }) => coalescer.drain()));
  }

  private forgetIdle(now: number): void {
    for (const [token, live] of this.tokens) {
      if (now - live.lastAt < TOKEN_IDLE_MS) continue;
      this.tokens.delete(token);
      void live.coalescer.drain();
    }
  }
}
