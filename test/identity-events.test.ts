// Person lookups are cached and invalidated by change events (issue 15 part 2): a person asked
// twice costs its e-mail lookups once; when a provider's webhook says one of its contacts now has
// the address, the next answer includes that contact (its connection's lookup is read again),
// without waiting for a TTL.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startStack, subscribe, type Stack, sendStripeWebhooksToAcme } from './helpers.ts';

const STRIPE_SECRET = 'whsec_switchboard_identity_events_000';
const PERSON = 'query ($e: EmailAddress!) { person(email: $e) { primaryEmail contacts { id source { provider remoteId } } matchedOn { on } } }';

type PersonView = { primaryEmail: string; contacts: Array<{ id: string; source: { provider: string; remoteId: string } }>; matchedOn: Array<{ on: string[] }> };

describe('Person lookups and change events', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ scale: { contacts: 8, invoices: 2, orders: 2 } });
    await sendStripeWebhooksToAcme(stack, STRIPE_SECRET);
  }, 60_000);
  afterAll(() => stack?.stop());

  const totalCalls = () => [...stack.emulators.values()].reduce((sum, e) => sum + e.count(), 0);
  const person = async (email: string) => {
    const res = await stack.query<{ person: PersonView | null }>(PERSON, { e: email });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.person;
  };

  it('a cached lookup answers until a change event gives a contact the address; then that contact joins the person', async () => {
    const email = `joins-${randomUUID().slice(0, 8)}@example.com`;
    stack.emulators.forEach((e) => e.resetRequests());
    expect(await person(email)).toBeNull();
    // One lookup per connection serving contacts.
    expect(totalCalls()).toBe(stack.emulators.size);
    stack.emulators.forEach((e) => e.resetRequests());
    expect(await person(email)).toBeNull();
    expect(totalCalls()).toBe(0);

    const customer = (
      await stack.query<{ contacts: { nodes: Array<{ source: { remoteId: string } }> } }>(
        '{ contacts(first: 1, filter: { provider: "stripe" }) { nodes { source { remoteId } } } }',
      )
    ).data!.contacts.nodes[0]!.source.remoteId;
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const sub = await subscribe<{ contactChanged: { contact: { source: { remoteId: string } } } }>(
      stack.gateway.url,
      stack.apiKey,
      'subscription ($after: String) { contactChanged(after: $after) { contact { source { remoteId } } } }',
      { after: data!.changeCursor },
    );
    try {
      // The provider changes the customer's address and tells the gateway (customer.updated).
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { email });
      const [event] = await sub.waitFor(1);
      expect(event!.contactChanged.contact.source.remoteId).toBe(customer);
    } finally {
      await sub.close();
    }
    stack.emulators.forEach((e) => e.resetRequests());
    const joined = await person(email);
    expect(joined?.primaryEmail).toBe(email);
    expect(joined?.contacts.map((c) => c.source)).toEqual([{ provider: 'stripe', remoteId: customer }]);
    expect(joined?.matchedOn[0]?.on).toContain('EMAIL');
    // Stripe's lookup was read again; the other connections' cached answers still held.
    expect(stack.stripe.count()).toBeGreaterThanOrEqual(1);
    expect(totalCalls() - stack.stripe.count()).toBe(0);
  }, 60_000);
});
