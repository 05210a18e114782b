import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ProgressCoalescer, type CoalescerPace } from '../services/progress-coalescer.js';

/** Progress tokens relayed at once on one GET stream; progress for a token past them is dropped. */
export const MAX_LIVE_STREAM_TOKENS = 32;

/** A token is forgotten (its last progress delivered) once none of its progress came for this long. */
const TOKEN_IDLE_MS = 1_000;

interface LiveToken {
  coalescer: ProgressCoalescer<JSONRPCMessage>;
  lastAt: number;
}

/**
 * Progress that an upstream sends on its standalone GET stream, relayed on the
 * client's GET stream at the pace of a request's own stream (SPEC §14: per
 * progress token, the latest kept, `pace`). The stream cannot tell which tokens
 * belong to the client's requests — those may run on another instance — so it
 * relays at most MAX_LIVE_STREAM_TOKENS at once: otherwise an upstream that
 * invents a new token per notification would be relayed as fast as it sends.
 */
export class StreamProgress {
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
      if (this.tokens.size >= MAX_LIVE_STREAM_TOKENS) return false;
      live = { coalescer: new ProgressCoalescer(this.relay, this.pace), lastAt: now };
      this.tokens.set(token, live);
    }
    live.lastAt = now;
    live.coalescer.push(message);
    return true;
  }

  /** The stream ended: what is pending goes out (if it still can) and no timer is left behind. */
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
