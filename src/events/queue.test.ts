import { describe, expect, it } from 'vitest';
import { MemoryChangeQueue, RetryLater, type QueueSettings } from './queue.ts';
import { compareCursors, type QueuedChange } from './model.ts';

const SETTINGS: QueueSettings = { concurrency: 2, maxAttempts: 2, retryBaseDelayMs: 1, dedupeTtlSeconds: 60 };

function change(receivedAt: string): QueuedChange {
  return {
    tenantId: 't',
    connectionId: 'c',
    provider: 'stripe',
    receivedAt,
    change: { eventId: `evt_${Math.random()}`, type: 'UPDATED', entity: 'Contact', remoteId: 'cus_1', occurredAt: receivedAt, version: 1, model: null },
  };
}

const rateLimited = () => new RetryLater(5, new Error('UPSTREAM_RATE_LIMITED: try later'));

describe('MemoryChangeQueue and RetryLater', () => {
  it('stamps each change with an increasing arrival when it is queued', async () => {
    const queue = new MemoryChangeQueue(SETTINGS);
    const arrivals = new Map<string, string>();
    const done = new Promise<void>((resolve) => {
      queue.start(
        async (item) => {
          arrivals.set(item.change.eventId, item.arrival as string);
          if (arrivals.size === 3) resolve();
        },
        async () => undefined,
      );
    });
    const now = new Date().toISOString();
    const queued = [change(now), change(now), change(now)];
    await queue.enqueue(queued.slice(0, 2));
    await queue.enqueue(queued.slice(2));
    await done;
    const [a, b, c] = queued.map((q) => arrivals.get(q.change.eventId) as string);
    expect(compareCursors(a!, b!)).toBeLessThan(0);
    expect(compareCursors(b!, c!)).toBeLessThan(0);
    await queue.close();
  });

  it('puts a rate-limited change off without using its attempts, then processes it', async () => {
    const queue = new MemoryChangeQueue(SETTINGS);
    const attempts: number[] = [];
    const letters: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      queue.start(
        async (_item, attempt) => {
          attempts.push(attempt);
          if (attempts.length <= 4) throw rateLimited();
          resolve();
        },
        async (item) => void letters.push(item),
      );
    });
    await queue.enqueue([change(new Date().toISOString())]);
    await done;
    // Four deferrals (twice maxAttempts) and the success: all as attempt 1.
    expect(attempts).toEqual([1, 1, 1, 1, 1]);
    expect(letters).toEqual([]);
    await queue.close();
  });

  it('counts RetryLater as a failed attempt once the change is older than deferMaxAgeMs', async () => {
    const queue = new MemoryChangeQueue({ ...SETTINGS, deferMaxAgeMs: 60_000 });
    const attempts: number[] = [];
    const dead = new Promise<{ attempts: number; error: string }>((resolve) => {
      queue.start(
        async (_item, attempt) => {
          attempts.push(attempt);
          throw rateLimited();
        },
        async (_item, error, n) => resolve({ attempts: n, error }),
      );
    });
    // Received two minutes ago: past the one-minute window for deferrals.
    await queue.enqueue([change(new Date(Date.now() - 120_000).toISOString())]);
    expect(await dead).toEqual({ attempts: 2, error: 'UPSTREAM_RATE_LIMITED: try later' });
    expect(attempts).toEqual([1, 2]);
    await queue.close();
  });
});
