import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionProgressDocument, StartExecutionDocument, type ExecutionProgressSubscription } from '../gql/graphql.js';
import { startLoggingUpstream, type LoggingUpstream } from '../fixtures/logging-upstream.js';
import { startGateway, type TestAgent, type TestGateway } from '../helpers/gateway.js';
import { collect, data, sse, type GraphQLPayload } from './client.js';
import { createConnection } from './fixtures.js';

/** Upstream `notifications/message` during a call reaches executionProgress subscribers as LOG events (SPEC §14 bound). */

let gw: TestGateway;
let upstream: LoggingUpstream;
let agent: TestAgent;
let connectionId: string;

beforeAll(async () => {
  [gw, upstream] = await Promise.all([startGateway(), startLoggingUpstream()]);
  agent = await gw.agent('log-events-agent', 'log-events-ns');
  connectionId = await createConnection(gw, agent, 'logging', upstream.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.stop();
});

type Event = ExecutionProgressSubscription['executionProgress'];
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Starts `log` and subscribes to it; `events()` then reads every event up to the terminal one. */
async function startLogging(args: { lines: unknown[]; repeat?: number }): Promise<{ events(): Promise<Event[]> }> {
  const input = { connectionId, toolName: 'log', arguments: args };
  const execution = (await data(gw, StartExecutionDocument, { input }, agent.token)).startExecution!;
  const subscription = await sse(gw, ExecutionProgressDocument, { executionId: execution.id }, agent.token);
  expect(subscription.status).toBe(200);
  return {
    async events() {
      const payloads: GraphQLPayload<ExecutionProgressSubscription>[] = await collect(subscription.events, (p) =>
        TERMINAL.has(p.data?.executionProgress.type ?? ''),
      );
      return payloads.map((p) => {
        if (p.errors?.length || !p.data) throw new Error(`subscription error: ${JSON.stringify(p.errors)}`);
        return p.data.executionProgress;
      });
    },
  };
}

/** One call: starts it, lets the upstream log, returns its events and when logging began. */
async function logRun(args: { lines: unknown[]; repeat?: number }): Promise<{ events: Event[]; releasedAt: number }> {
  const run = await startLogging(args);
  const releasedAt = Date.now();
  upstream.release();
  return { events: await run.events(), releasedAt };
}

const logMessages = (events: Event[]) => events.filter((e) => e.type === 'LOG').map((e) => e.message);

describe('LOG execution events', () => {
  it('relays each upstream log message (level, logger, data) before the terminal event', async () => {
    const { events } = await logRun({ lines: ['warming up', { step: 2, note: 'half way' }] });
    const logs = events.filter((e) => e.type === 'LOG');
    expect(logs.map((e) => e.message)).toEqual(['[info] fixture: warming up', '[info] fixture: {"step":2,"note":"half way"}']);
    expect(logs.map((e) => e.execution.status)).toEqual(['RUNNING', 'RUNNING']);
    expect(events.at(-1)).toMatchObject({ type: 'COMPLETED', execution: { status: 'COMPLETED', isError: false } });
  });

  it('gives each of two concurrent calls on one upstream session its own log messages, read from its own stream', async () => {
    const first = await startLogging({ lines: ['from the first call'] });
    const second = await startLogging({ lines: ['from the second call'] });
    // Both calls are in flight on the same session when the upstream logs.
    upstream.release();
    const [firstEvents, secondEvents] = await Promise.all([first.events(), second.events()]);
    expect(logMessages(firstEvents)).toEqual(['[info] fixture: from the first call']);
    expect(logMessages(secondEvents)).toEqual(['[info] fixture: from the second call']);
    expect(firstEvents.at(-1)?.type).toBe('COMPLETED');
    expect(secondEvents.at(-1)?.type).toBe('COMPLETED');
  });

  it('bounds a flood of 500 log messages to about 10 a second, and still delivers the terminal event', async () => {
    const { events, releasedAt } = await logRun({ lines: ['flood line'], repeat: 500 });
    const elapsedSeconds = (Date.now() - releasedAt) / 1000;
    const logs = events.filter((e) => e.type === 'LOG');
    expect(logs.length).toBeGreaterThanOrEqual(1);
    // One budget of 10 per started second (the window the flood began in, and each one after).
    expect(logs.length).toBeLessThanOrEqual(10 * (Math.ceil(elapsedSeconds) + 1));
    expect(logs.length).toBeLessThan(500);
    expect(logs.every((e) => e.message === '[info] fixture: flood line')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'COMPLETED', execution: { status: 'COMPLETED' } });
  });
});
