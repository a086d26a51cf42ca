import { describe, expect, it } from 'vitest';
import { MemoryChangeQueue, RetryLater, type QueueSettings } from './queue.ts';
import type { QueuedChange } from './model.ts';

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
