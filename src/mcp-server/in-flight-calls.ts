import type { Principal } from '../auth/principal.js';
import type { McpGatewayPort } from './gateway-port.js';

/**
 * A cancellation may overtake its call: the client cancels while the call is
 * still being recorded (it runs only once its row is written). For this long
 * a cancellation of an unknown request is kept, and the call it names is
 * cancelled as soon as it registers.
 */
export const EARLY_CANCEL_MS = 10_000;
/** Early cancellations remembered at most; the oldest go first. */
const MAX_EARLY_CANCELS = 10_000;

interface InFlight {
  principal: Principal;
  executionId: string;
}

/**
 * `tools/call` requests running on this instance, by request key. A client's
 * `notifications/cancelled` arrives as its own POST, possibly on another
 * instance: it is published on the event bus, and the instance running the
 * request cancels its execution (which aborts the upstream call).
 */
export class InFlightCalls {
  private readonly calls = new Map<string, InFlight>();
  private readonly early = new Map<string, { reason: string; until: number }>();
  private readonly stop: () => void;

  constructor(private readonly port: McpGatewayPort) {
    this.stop = port.onCancel(({ requestKey, reason }) => void this.cancelLocal(requestKey, reason));
  }

  /**
   * The key of one downstream request: the agent, its session (if any) and the JSON-RPC id.
   * The agent is part of it, so nobody can cancel another agent's call by guessing ids.
   */
  static keyOf(agentId: string, sessionId: string | undefined, requestId: string | number): string {
    return JSON.stringify([agentId, sessionId ?? null, requestId]);
  }

  add(requestKey: string, call: InFlight): () => void {
    this.calls.set(requestKey, call);
    const early = this.early.get(requestKey);
    if (early) {
      this.early.delete(requestKey);
      if (early.until > Date.now()) void this.cancelLocal(requestKey, early.reason);
    }
    return () => {
      if (this.calls.get(requestKey) === call) this.calls.delete(requestKey);
    };
  }

  /** Cancels here when it runs here, else asks every instance. */
  cancel(requestKey: string, reason: string): void {
    if (this.calls.has(requestKey)) void this.cancelLocal(requestKey, reason);
    else this.port.publishCancel({ requestKey, reason });
  }

  close(): void {
    this.stop();
  }

  /**
   * Only within a session are request ids unique; without one, a late cancellation
   * could meet a later call that reuses the id, so it is not kept.
   */
  private keepEarly(requestKey: string, reason: string): void {
    const [, sessionId] = JSON.parse(requestKey) as [string, string | null, unknown];
    if (sessionId === null) return;
    if (this.early.size >= MAX_EARLY_CANCELS) {
      const oldest = this.early.keys().next();
      if (!oldest.done) this.early.delete(oldest.value);
    }
    this.early.set(requestKey, { reason, until: Date.now() + EARLY_CANCEL_MS });
  }

  private async cancelLocal(requestKey: string, reason: string): Promise<void> {
    const call = this.calls.get(requestKey);
    if (!call) return this.keepEarly(requestKey, reason);
    this.calls.delete(requestKey);
    await this.port.cancelCall(call.principal, call.executionId, reason).catch((err: unknown) => {
      this.port.logger.warn({ err, executionId: call.executionId }, 'could not cancel an MCP tool call');
    });
  }
}
