// A connection's polls keep to their share of its rate windows (`polling.budgetShare`, default 0.5):
// after a poll that made many calls, the next one waits longer than the configured interval, so
// webhook-less providers are polled often without eating the allowance the connection's queries need.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../connectors/registry.ts';
import type { SalesforceEmulatorHandle } from '../connectors/salesforce/emulator/index.ts';
import type { ConnectionConfig } from '../src/config.ts';
import { DEFAULT_POLL_BUDGET_SHARE, pollBudgetGapMs } from '../src/events/poller.ts';
import { salesforcePollingTenant, startStack, type Stack } from './helpers.ts';

const connector = (id: string) => CONNECTORS.find((c) => c.connector.manifest.id === id)!.connector;
const connection = (provider: string, extra: Partial<ConnectionConfig> = {}): ConnectionConfig => ({
  id: `c-${provider}`,
  provider,
  credentials: { type: 'static', token: 't' },
  settings: {},
  ...extra,
});

describe('pollBudgetGapMs', () => {
  it("spaces polls by the tightest of the connection's windows at the given share", () => {
    // Salesforce: 25 per second. 10 calls at half of it: 10 × 1000 / 12.5 = 800 ms.
    expect(pollBudgetGapMs(connector('salesforce'), connection('salesforce'), 10, 0.5)).toBe(800);
    // Xero: 60 a minute and 5,000 a day; the day window decides: 2 × 86,400,000 / 2,500 = 69,120 ms.
    expect(pollBudgetGapMs(connector('xero'), connection('xero'), 2, DEFAULT_POLL_BUDGET_SHARE)).toBe(69_120);
    // A connection's own rateLimit replaces the connector's windows (as in the budget): 4 per second → 3 × 1000 / 2 = 1,500 ms.
    expect(pollBudgetGapMs(connector('stripe'), connection('stripe', { rateLimit: { requests: 4, windowMs: 1000 } }), 3, 0.5)).toBe(1_500);
    // ...also when it is larger than the connector's default (a bigger plan): 1,000 per second → 6 ms, not Stripe's 100/s.
    expect(pollBudgetGapMs(connector('stripe'), connection('stripe', { rateLimit: { requests: 1000, windowMs: 1000 } }), 3, 0.5)).toBe(6);
    // No calls, no wait beyond the interval.
    expect(pollBudgetGapMs(connector('xero'), connection('xero'), 0, 0.5)).toBe(0);
  });
});

describe('a polled connection with a small allowance', () => {
  const KEY = `sb_pollbudget_${randomUUID()}`;
  const CONN = 'pollbudget-salesforce';
  const ALLOWANCE = { requests: 4, windowMs: 1_000 };
  let stack: Stack;
  let em: SalesforceEmulatorHandle;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 6, invoices: 1, orders: 2 },
      extraTenants: ({ emulators }) => [
        // Asked to poll every 200 ms; each poll makes a few calls.
        salesforcePollingTenant(
          emulators,
          { id: 'pollbudget', apiKey: KEY, connectionId: CONN },
          { rateLimit: ALLOWANCE, polling: { intervalMs: 200, budgetShare: 0.5 } },
        ),
      ],
    });
    em = stack.emulators.get('salesforce') as SalesforceEmulatorHandle;
  });
  afterAll(() => stack?.stop());

  it('polls no faster than half of its allowance on average, whatever the interval says', async () => {
    const poller = stack.gateway.services.poller;
    const status = () => poller.status(connector('salesforce'), connection('salesforce', { id: CONN, polling: { intervalMs: 200 } }));
    await expect.poll(async () => (await status()).lastPolledAt, { timeout: 15_000, interval: 50 }).not.toBeNull();
    em.resetRequests();
    const started = Date.now();
    // Watch three seconds of polling (an event: the third poll after the reset; the window is measured, not slept).
    let polls = 0;
    let last = (await status()).lastPolledAt;
    while (polls < 3) {
      await expect.poll(async () => (await status()).lastPolledAt !== last, { timeout: 15_000, interval: 25 }).toBe(true);
      last = (await status()).lastPolledAt;
      polls++;
    }
    const seconds = (Date.now() - started) / 1000;
    const calls = em.requests().length;
    expect(calls).toBeGreaterThan(0);
    // Half of 4 per second, plus one poll's calls that may have started just before the window ended.
    const perPoll = calls / polls;
    expect(calls).toBeLessThanOrEqual(0.5 * ALLOWANCE.requests * seconds + perPoll);
    // At the configured 200 ms the three polls would have taken about 0.6 s.
    expect(seconds).toBeGreaterThan(1);
  });
});
