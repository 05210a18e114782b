import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { WriteQueue } from '../../src/vectors/write-queue.js';

class Down extends Error {}

function queueWith(apply: (op: string) => Promise<void>) {
  return new WriteQueue<string>({
    apply,
    isTransient: (e) => e instanceof Down,
    logger: createLogger('silent'),
    backoffMs: { initial: 20, max: 40 },
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('index write queue', () => {
  it('counts the write being applied as pending until it is done', async () => {
    let release: () => void = () => {};
    const queue = queueWith(() => new Promise<void>((r) => (release = r)));
    const submitted = queue.submit('conn-1', 'replace');
    await until(() => queue.snapshot().length === 1);
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

    await expect(queue.submit('conn-1', 'replace v1')).resolves.toBeUndefined();
    await queue.submit('conn-2', 'remove');
    await queue.submit('conn-1', 'replace v2');
    expect(queue.snapshot()).toEqual(['remove', 'replace v2']);

    up = true;
    await until(() => queue.size === 0);
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
    await queue.submit('a', 'bad');
    await queue.submit('b', 'good');
    expect(dropped).toEqual(['bad']);
    expect(queue.size).toBe(0);
  });
});
