// HubSpot search's own 5 requests per second per account (issue 13: search drew 429s even when
// idle): a manifest window scoped to the search operations, enforced by the shared budget on Redis,
// for search requests only.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { hubspotManifest } from '../connectors/hubspot/manifest.ts';
import { localBudgets, sharedBudgets } from '../src/upstream/rate-budget.ts';
import { REDIS_URL, RUN_PREFIX } from './helpers.ts';

const redis = new Redis(REDIS_URL);
afterAll(() => redis.quit());

const signal = new AbortController().signal;

describe('operation-scoped windows (HubSpot search: 5 per second)', () => {
  it('the manifest declares the window for the search operations only', () => {
    const search = hubspotManifest.rateLimits.windows.find((w) => 'operations' in w);
    expect(search).toMatchObject({ requests: 5, windowMs: 1_000 });
    expect((search as { operations: string[] }).operations).toContain('contacts.search');
  });

  for (const [name, factory] of [
    ['shared (Redis)', sharedBudgets(redis, `${RUN_PREFIX}:budget`, 1_000)],
    ['local', localBudgets],
  ] as const) {
    it(`${name}: searches are spaced evenly (5 per second, no burst): the next within 1/5 s waits past a short deadline; other calls do not`, async () => {
      const budget = factory(`hubspot:search-${name.length}-${Date.now()}`, hubspotManifest.rateLimits);
      const deadline = () => Date.now() + 100;
      // Five searches take about a second (one every ~220 ms: 200 ms plus the jitter margin).
      const started = Date.now();
      for (let i = 0; i < 5; i++) (await budget.acquire(signal, Date.now() + 2_000, 'contacts.search'))();
      expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 200 - 50);
      await expect(budget.acquire(signal, deadline(), 'invoices.search')).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' });
      // Not a search: only the 190 per 10 s window applies.
      for (let i = 0; i < 20; i++) (await budget.acquire(signal, deadline(), 'contacts.batchRead'))();
      // After a second the search window has room again.
      (await budget.acquire(signal, Date.now() + 2_000, 'contacts.search'))();
    });
  }
});
