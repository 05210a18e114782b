import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { WriteQueue } from '../../src/vectors/write-queue.js';
import { eventually } from '../helpers/eventually.js';

class Down extends Error {}

function queueWith(apply: (op: string) => Promise<string | void>) {
  return new WriteQueue<string>({
    apply,
    isTransient: (e) => e instanceof Down,
    logger: createLogger('silent'),
    backoffMs: { initial: 20, max: 40 },
  });
}

describe('index write queue', () => {
  it('counts the write being applied as pending until it is done', async () => {
    let release: () => void = () => {};
    const queue = queueWith(() => new Promise<void>((r) => (release = r)));
    const submitted = queue.submit('ns', 'conn-1', 'replace');
    await eventually(() => queue.snapshot().length === 1, 2_000, 'one write in the queue');
    expect(queue.size).toBe(1);
    expect(queue.snapshot()).toEqual(['replace']);
    release();
    await submitted;
    expect(queue.size).toBe(0);
  });

  it('keeps writes while the store is down, lets a newer write replace an older one, and replays in order', async () => {
    let up = false;
    const applied: string[] = [];
    const queue = queueWith(async (op) => {
      if (!up) throw new Down('store down');
      applied.push(op);
    });

    await expect(queue.submit('ns', 'conn-1', 'replace v1')).resolves.toBeUndefined();
    await queue.submit('ns', 'conn-2', 'remove');
    await queue.submit('ns', 'conn-1', 'replace v2');
    expect(queue.snapshot()).toEqual(['remove', 'replace v2']);

    up = true;
    await eventually(() => queue.size === 0, 2_000, 'the queue to empty');
    expect(applied).toEqual(['remove', 'replace v2']);
    queue.close();
  });

  it('drops a write that fails for a reason retrying cannot fix', async () => {
    const dropped: string[] = [];
    const queue = new WriteQueue<string>({
      apply: async (op) => {
        if (op === 'bad') throw new Error('invalid record');
      },
      isTransient: () => false,
      onDropped: (op) => dropped.push(op),
      logger: createLogger('silent'),
    });
    await queue.submit('ns', 'a', 'bad');
    await queue.submit('ns', 'b', 'good');
    expect(dropped).toEqual(['bad']);
    expect(queue.size).toBe(0);
  });

  it('takes turns between namespaces one bounded step at a time, finishing a write before the next of its namespace', async () => {
    const applied: string[] = [];
    // "big:N" is a write of N steps; each step returns the rest of the work.
    const queue = queueWith(async (op) => {
      applied.push(op);
      const [name, steps] = op.split(':');
      return Number(steps) > 1 ? `${name}:${Number(steps) - 1}` : undefined;
    });
    const big = queue.submit('ns-a', 'conn-big', 'big:4');
    const second = queue.submit('ns-a', 'conn-next', 'next:1');
    const other = queue.submit('ns-b', 'conn-b', 'other:1');
    await Promise.all([big, second, other]);
    // ns-b waited for one step of ns-a's large write, not for all of it.
    expect(applied).toEqual(['big:4', 'other:1', 'big:3', 'big:2', 'big:1', 'next:1']);
  });

  it('lets a newer write of a connection replace the rest of one in progress', async () => {
    const applied: string[] = [];
    let release: () => void = () => {};
    const queue = queueWith(async (op) => {
      applied.push(op);
      if (op === 'v1:3') await new Promise<void>((r) => (release = r));
      const [name, steps] = op.split(':');
      return Number(steps) > 1 ? `${name}:${Number(steps) - 1}` : undefined;
    });
    const first = queue.submit('ns', 'conn', 'v1:3');
    await eventually(() => applied.length === 1, 2_000, 'one write applied');
    const second = queue.submit('ns', 'conn', 'v2:1');
    release();
    await Promise.all([first, second]);
    expect(applied).toEqual(['v1:3', 'v2:1']);
    expect(queue.size).toBe(0);
  });
});
