// A webhook provider's connection switched to polling (the per-connection option `polling`): a
// HubSpot contact changed in the emulator reaches a graphql-ws subscriber through the poller, as
// the same change arrives by webhook for a webhook connection (test/events.test.ts), and the
// connection says it is polled.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotDemo } from '../connectors/hubspot/demo.ts';
import type { HubSpotEmulatorHandle } from '../connectors/hubspot/emulator/index.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { graphql, startStack, subscribe, type Stack } from './helpers.ts';

const INTERVAL_MS = 400;
const KEY = `sb_hspoll_${randomUUID()}`;
const CONN = 'hspoll-hubspot';

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
    } finally {
      await sub.close();
    }
  });
});
