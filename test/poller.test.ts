// The polling event source end to end: a change in the Salesforce emulator reaches a graphql-ws
// subscriber within one (short) interval; two replicas on one Redis poll a connection with exactly
// one leader; killing the leader hands over within about one interval without losing or repeating
// changes; records changed in the same second are each delivered once; deletions arrive.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceEmulatorHandle } from '../connectors/salesforce/emulator/index.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { graphql, salesforcePollingTenant, startStack, subscribe, type Stack } from './helpers.ts';

const INTERVAL_MS = 400;
const KEY = `sb_poll_${randomUUID()}`;
const CONN = 'pollco-salesforce';

interface Change {
  contactChanged: { type: string; contact: { id: string; name: string | null } | null; remoteId?: string };
}

describe('polling event source (Salesforce)', () => {
  let stack: Stack;
  let replica: Gateway | null = null;
  let em: SalesforceEmulatorHandle;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 12, invoices: 2, orders: 3 },
      extraTenants: ({ emulators }) => [
        salesforcePollingTenant(emulators, { id: 'pollco', apiKey: KEY, connectionId: CONN }, { polling: { intervalMs: INTERVAL_MS } }),
      ],
    });
    em = stack.emulators.get('salesforce') as SalesforceEmulatorHandle;
  });
  afterAll(async () => {
    await replica?.stop();
    await stack?.stop();
  });

  const status = async (gateway: Gateway) => {
    const poller = gateway.services.poller;
    return {
      leads: poller.leads(CONN),
      status: await poller.status(stack.gateway.services.connectors.get('salesforce')!, {
        id: CONN,
        provider: 'salesforce',
        credentials: { type: 'static', token: 'x' },
        settings: {},
        polling: { intervalMs: INTERVAL_MS },
      }),
    };
  };
  const firstPoll = async () => expect.poll(async () => (await status(stack.gateway)).status.lastPolledAt, { timeout: 15_000, interval: 50 }).not.toBeNull();
  const rename = (id: string, first: string) => em.records.update('Contact', id, { FirstName: first });
  const contactIds = () => [...em.store.records.Contact.values()].filter((r) => !r.IsDeleted).map((r) => r.Id);

  it('shows the connection as polled in GraphQL (mode, lastPolledAt, lag)', async () => {
    await firstPoll();
    const res = await graphql<{
      connections: Array<{ id: string; events: { mode: string; lastPolledAt: string | null; lag: number | null; intervalMs: number | null } }>;
    }>(stack.gateway.url, KEY, '{ connections { id events { mode lastPolledAt lag intervalMs } } }');
    expect(res.errors).toBeUndefined();
    const events = res.data!.connections.find((c) => c.id === CONN)!.events;
    expect(events).toMatchObject({ mode: 'POLLING', intervalMs: INTERVAL_MS });
    expect(events.lastPolledAt).not.toBeNull();
    expect(events.lag).toBeLessThan(30);
  });

  it('delivers a change made in the emulator to a graphql-ws subscriber within about one interval', async () => {
    await firstPoll();
    const sub = await subscribe<Change>(stack.gateway.url, KEY, 'subscription { contactChanged { type contact { name } } }');
    try {
      const id = contactIds()[0] as string;
      const started = Date.now();
      rename(id, 'Polled');
      const [event] = await sub.waitFor(1, 20_000);
      const took = Date.now() - started;
      expect(event!.contactChanged).toMatchObject({ type: 'UPDATED', contact: { name: expect.stringMatching(/^Polled /) } });
      // One interval (+ jitter) plus the pipeline; generous for a loaded 2-core machine.
      expect(took).toBeLessThan(INTERVAL_MS * 10);
    } finally {
      await sub.close();
    }
  });

  it('delivers every record changed in the same second exactly once, and deletions', async () => {
    await firstPoll();
    const sub = await subscribe<Change>(stack.gateway.url, KEY, 'subscription { contactChanged { type contact { name } } }');
    try {
      const ids = contactIds().slice(1, 6);
      const tie = Math.floor(Date.now() / 1000) * 1000 + 500;
      const clock = em.store.now;
      em.store.now = () => tie;
      try {
        // Two polls in between would split them; the cursor's id tie-break keeps each once.
        for (const [i, id] of ids.entries()) {
          rename(id, `Tie${i}`);
          if (i === 2) await new Promise((r) => setTimeout(r, INTERVAL_MS * 2));
        }
      } finally {
        em.store.now = clock;
      }
      const gone = contactIds()[8] as string;
      em.records.delete('Contact', gone);
      const events = await sub.waitFor(6, 20_000);
      const names = events.map((e) => e.contactChanged.contact?.name?.split(' ')[0] ?? null);
      expect(names.filter((n) => n?.startsWith('Tie')).sort()).toEqual(['Tie0', 'Tie1', 'Tie2', 'Tie3', 'Tie4']);
      expect(events.filter((e) => e.contactChanged.type === 'DELETED')).toHaveLength(1);
      // Nothing more arrives over two more intervals: no repeats.
      await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
      expect(sub.received).toHaveLength(6);
    } finally {
      await sub.close();
    }
  });

  it('two replicas poll a connection with exactly one leader; killing it hands over without loss or repeat', async () => {
    await firstPoll();
    replica = await createGateway(stack.gateway.services.config);
    await expect.poll(async () => (await status(replica!)).status.lastPolledAt, { timeout: 15_000 }).not.toBeNull();
    // Never both, however often we look; one of them leads. (On a loaded machine a renewal tick can
    // come after the 400 ms lease lapsed, leaving none for a moment, never two: the fence decides.)
    const leaders = () => [stack.gateway.services.poller.leads(CONN), replica!.services.poller.leads(CONN)].filter(Boolean).length;
    await expect.poll(leaders, { timeout: 15_000, interval: 20 }).toBe(1);
    for (let i = 0; i < 10; i++) {
      expect(leaders()).toBeLessThanOrEqual(1);
      await new Promise((r) => setTimeout(r, INTERVAL_MS / 4));
    }
    await expect.poll(leaders, { timeout: 15_000, interval: 20 }).toBe(1);
    const sub = await subscribe<Change>(replica.url, KEY, 'subscription { contactChanged { type contact { name } } }');
    try {
      const [leader, follower] = stack.gateway.services.poller.leads(CONN) ? [stack.gateway, replica] : [replica, stack.gateway];
      // The leader dies without giving the lease back; a change lands meanwhile.
      await leader.services.poller.close({ release: false });
      const killedAt = Date.now();
      rename(contactIds()[9] as string, 'Takeover');
      await expect.poll(() => follower.services.poller.leads(CONN), { timeout: 15_000, interval: 20 }).toBe(true);
      const tookOver = Date.now() - killedAt;
      const [event] = await sub.waitFor(1, 20_000);
      expect(event!.contactChanged.contact?.name).toMatch(/^Takeover /);
      expect(tookOver).toBeLessThan(INTERVAL_MS * 6);
      await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
      expect(sub.received).toHaveLength(1);
    } finally {
      await sub.close();
    }
  });
  it('backs off when the daily share is spent: the error shows in the connection events status and the org is not called every interval', async () => {
    await firstPoll();
    em.setApiUsage(14_000); // of 15,000: past the default 80 % share
    try {
      await expect
        .poll(async () => (await status(stack.gateway)).status.lastError ?? (await status(replica ?? stack.gateway)).status.lastError, { timeout: 15_000 })
        .toMatch(/^UPSTREAM_RATE_LIMITED/);
      em.resetRequests();
      await new Promise((r) => setTimeout(r, INTERVAL_MS * 5));
      // Without back-off, five intervals would be at least five polls of two entities (and deletions).
      expect(em.requests().length).toBeLessThanOrEqual(2);
    } finally {
      em.setApiUsage(0);
    }
  });
});
