import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.js';
import { createLogger } from '../../src/observability/logger.js';
import { createEventBus } from '../../src/services/event-bus.js';
import type { McpGatewayPort } from '../../src/mcp-server/gateway-port.js';
import { InFlightCalls } from '../../src/mcp-server/in-flight-calls.js';

const principal: Principal = { agentId: 'a', namespace: 'n', role: 'agent' };

/** Two instances' registries on one (in-process) event bus; records which executions each cancelled. */
function instances() {
  const bus = createEventBus();
  const cancelled: string[] = [];
  const make = (label: string) =>
    new InFlightCalls({
      logger: createLogger('silent'),
      cancelCall: async (_p: Principal, executionId: string) => void cancelled.push(`${label}:${executionId}`),
      publishCancel: (payload) => bus.pubsub.publish('mcp-request-cancel', payload),
      onCancel: (listener) => {
        const iterator = bus.pubsub.subscribe('mcp-request-cancel')[Symbol.asyncIterator]();
        void (async () => {
          for (let next = await iterator.next(); !next.done; next = await iterator.next()) listener(next.value);
        })();
        return () => void iterator.return?.();
      },
    } as Partial<McpGatewayPort> as McpGatewayPort);
  return { a: make('A'), b: make('B'), cancelled, bus };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('InFlightCalls', () => {
  it('cancels a call running on another instance', async () => {
    const { a, b, cancelled } = instances();
    const key = InFlightCalls.keyOf('a', 'session-1', 7);
    a.add(key, { principal, executionId: 'exec-1' });
    b.cancel(key, 'stop');
    await settle();
    expect(cancelled).toEqual(['A:exec-1']);
  });

  it('cancels a call that registers just after its cancellation arrived (same session)', async () => {
    const { a, b, cancelled } = instances();
    const key = InFlightCalls.keyOf('a', 'session-1', 8);
    b.cancel(key, 'early');
    await settle();
    a.add(key, { principal, executionId: 'exec-2' });
    await settle();
    expect(cancelled).toEqual(['A:exec-2']);
  });

  it('does not keep early cancellations without a session, where request ids repeat', async () => {
    const { a, b, cancelled } = instances();
    const key = InFlightCalls.keyOf('a', undefined, 1);
    b.cancel(key, 'late');
    await settle();
    a.add(key, { principal, executionId: 'exec-3' });
    await settle();
    expect(cancelled).toEqual([]);
  });

  it('never cancels another agent’s call with the same session and request id', async () => {
    const { a, b, cancelled } = instances();
    a.add(InFlightCalls.keyOf('owner', 's', 1), { principal, executionId: 'exec-4' });
    b.cancel(InFlightCalls.keyOf('intruder', 's', 1), 'guess');
    await settle();
    expect(cancelled).toEqual([]);
  });
});
