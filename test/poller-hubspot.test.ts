// A webhook provider's connection switched to polling (the per-connection option `polling`): a
// HubSpot contact changed in the emulator reaches a graphql-ws subscriber through the poller (the
// emulator sends no webhook here), as the same change arrives by webhook for a webhook connection
// (test/events.test.ts), and the connection says it is polled. A poll cut short by its record limit
// resumes where it stopped: it lists oldest change first (HubSpot search sorted by
// lastmodifieddate), not in search's own id order, which let the cursor jump past older changes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotDemo } from '../connectors/hubspot/demo.ts';
import type { HubSpotEmulatorHandle } from '../connectors/hubspot/emulator/index.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import type { TenantConfig } from '../src/config.ts';
import { Poller } from '../src/events/poller.ts';
import { graphql, startStack, subscribe, type Stack } from './helpers.ts';

const INTERVAL_MS = 400;
const KEY = `sb_hspoll_${randomUUID()}`;
const CONN = 'hspoll-hubspot';
const ORDER_KEY = `sb_hsorder_${randomUUID()}`;
const ORDER_CONN = 'hsorder-hubspot';

describe('a HubSpot connection switched to polling', () => {
  let stack: Stack;
  let em: HubSpotEmulatorHandle;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 6, invoices: 1, orders: 1 },
      extraTenants: ({ hubspot }) => [
        {
          id: 'hspoll',
          apiKeys: [{ id: 'k', sha256: hashApiKey(KEY) }],
          connections: [
            {
              id: CONN,
              provider: 'hubspot',
              baseUrl: hubspot.url,
              credentials: { type: 'static', token: hubspotDemo.testToken },
              settings: { ...hubspotDemo.settings },
              polling: { enabled: true, intervalMs: INTERVAL_MS },
            },
          ],
        },
        {
          // Polled only by the test's own small-page poller below, not by the gateway's.
          id: 'hsorder',
          apiKeys: [{ id: 'k', sha256: hashApiKey(ORDER_KEY) }],
          connections: [
            {
              id: ORDER_CONN,
              provider: 'hubspot',
              baseUrl: hubspot.url,
              credentials: { type: 'static', token: hubspotDemo.testToken },
              settings: { ...hubspotDemo.settings },
              polling: { enabled: false },
            },
          ],
        },
      ],
    });
    em = stack.hubspot as HubSpotEmulatorHandle;
  });
  afterAll(() => stack?.stop());

  it('is shown as polled and delivers a contact change to a graphql-ws subscriber', async () => {
    type Events = { connections: Array<{ id: string; events: { mode: string; lastPolledAt: string | null; intervalMs: number | null } }> };
    const events = async () =>
      (await graphql<Events>(stack.gateway.url, KEY, '{ connections { id events { mode lastPolledAt intervalMs } } }')).data!.connections.find(
        (c) => c.id === CONN,
      )!.events;
    // The first poll sets the cursor at the present; changes after it are delivered.
    await expect.poll(async () => (await events()).lastPolledAt, { timeout: 15_000, interval: 100 }).not.toBeNull();
    expect(await events()).toMatchObject({ mode: 'POLLING', intervalMs: INTERVAL_MS });

    const sub = await subscribe<{ contactChanged: { type: string; contact: { name: string | null; source: { connectionId: string } } | null } }>(
      stack.gateway.url,
      KEY,
      'subscription { contactChanged { type contact { name source { connectionId } } } }',
    );
    try {
      const contact = em.store.all('contacts')[0]!;
      em.mutate.update('contacts', contact.id, { firstname: 'Polled', lastname: 'Hubspot' });
      const [event] = await sub.waitFor(1, 20_000);
      expect(event!.contactChanged).toMatchObject({ type: 'UPDATED', contact: { name: 'Polled Hubspot', source: { connectionId: CONN } } });
      // Through the poller: the emulator has no webhook target, so it sent nothing.
      expect(em.deliveries()).toEqual([]);
    } finally {
      await sub.close();
    }
  });

  it('a poll cut short by its record limit loses nothing: changes made against the id order all arrive, once each', async () => {
    const services = stack.gateway.services;
    const tenant = services.config.tenants.find((t) => t.id === 'hsorder')!;
    const connection = { ...tenant.connections[0]!, polling: { enabled: true, intervalMs: INTERVAL_MS } };
    const tenants: TenantConfig[] = [{ ...tenant, connections: [connection] }];
    // Pages of 2 and at most 2 records per poll: five changes need several polls.
    const poller = new Poller({
      config: { ...services.config, tenants },
      connectors: services.connectors,
      contexts: services.contexts,
      queue: services.events.queue,
      redis: null,
      log: services.log,
      pageSize: 2,
      maxRecordsPerPoll: 2,
    });
    type Changed = { contactChanged: { type: string; contact: { name: string | null; source: { connectionId: string } } | null } };
    const sub = await subscribe<Changed>(stack.gateway.url, ORDER_KEY, 'subscription { contactChanged { type contact { name source { connectionId } } } }');
    try {
      poller.start();
      const hubspot = services.connectors.get('hubspot')!;
      await expect.poll(async () => (await poller.status(hubspot, connection)).lastPolledAt, { timeout: 15_000, interval: 50 }).not.toBeNull();
      // Changed from the highest id down: search's own (id) order is newest change first.
      const ids = em.store
        .all('contacts')
        .map((c) => c.id)
        .sort((a, b) => Number(a) - Number(b))
        .slice(0, 5)
        .reverse();
      for (const [i, id] of ids.entries()) em.mutate.update('contacts', id, { firstname: `Order${i}`, lastname: 'Poll' });
      // The first poll's cursor starts at the whole second, so the previous test's change may also
      // arrive here when it fell in that second: only this test's changes are counted.
      const ours = () => sub.received.filter((e) => e.contactChanged.contact?.name?.startsWith('Order'));
      await expect.poll(() => ours().length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(ids.length);
      expect(sub.errors).toEqual([]);
      const names = ours().map((e) => e.contactChanged.contact?.name ?? null);
      expect(names.sort()).toEqual(ids.map((_, i) => `Order${i} Poll`));
      expect(ours().every((e) => e.contactChanged.contact?.source.connectionId === ORDER_CONN)).toBe(true);
      // And nothing twice: a later poll brings no further event.
      const polled = (await poller.status(hubspot, connection)).lastPolledAt;
      await expect.poll(async () => (await poller.status(hubspot, connection)).lastPolledAt !== polled, { timeout: 10_000, interval: 50 }).toBe(true);
      expect(ours()).toHaveLength(ids.length);
    } finally {
      await sub.close();
      await poller.close();
    }
  });
});
