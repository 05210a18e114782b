import type { Principal } from '../auth/principal.js';
import type { McpGatewayPort } from './gateway-port.js';

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

  private async cancelLocal(requestKey: string, reason: string): Promise<void> {
    const call = this.calls.get(requestKey);
    if (!call) return;
    this.calls.delete(requestKey);
    await this.port.cancelCall(call.principal, call.executionId, reason).catch((err: unknown) => {
      this.port.logger.warn({ err, executionId: call.executionId }, 'could not cancel an MCP tool call');
    });
  }
}
