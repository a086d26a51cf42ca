// The emulator as a webhook sender: admin mutations → Stripe Events → signed POSTs to a tiny
// receiver, checked with our verify() and with the official SDK's constructEvent.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import type { InvoiceModel } from '../sdk/models.ts';
import type { ChangeEvent } from '../sdk/types.ts';
import { startEmulator, type StripeEmulatorHandle, type StripeEmulatorOptions, type WebhookDelivery } from './emulator/index.ts';
import { stripe } from './index.ts';
import { TEST_KEY } from './test-support.ts';

const SECRET = 'whsec_emulator_e2e_secret';
const SCALE = { contacts: 5, invoices: 5, orders: 5 };
const sdk = new Stripe('sk_test_unused', { telemetry: false });
const webhooks = stripe.webhooks as NonNullable<typeof stripe.webhooks>;

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  event: { id: string; type: string; created: number; pending_webhooks: number; data: { object: { id: string; object: string } } };
}

interface Receiver {
  url: string;
  received: Received[];
  /** Resolves once `n` requests have arrived in total. */
  waitFor(n: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** A webhook endpoint on 127.0.0.1:0 answering each request with the next status from `statuses` (then 200). */
async function startReceiver(statuses: number[] = []): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: Array<{ n: number; resolve: (r: Received[]) => void }> = [];
  const queue = [...statuses];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ headers: req.headers, body, event: JSON.parse(body.toString('utf8')) as Received['event'] });
      res.writeHead(queue.shift() ?? 200, { 'content-type': 'text/plain' });
      res.end('ok');
      for (const w of waiters.filter((x) => received.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(received.slice());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    received,
    waitFor: (n) => (received.length >= n ? Promise.resolve(received.slice()) : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function receiver(statuses?: number[]): Promise<Receiver> {
  const r = await startReceiver(statuses);
  cleanups.push(() => r.close());
  return r;
}

async function emulator(options: Partial<StripeEmulatorOptions> = {}): Promise<StripeEmulatorHandle> {
  const e = await startEmulator({ credentials: [TEST_KEY], seed: 5, scale: SCALE, rateLimitPerSecond: 10_000, ...options });
  cleanups.push(() => e.stop());
  return e;
}

async function admin(e: StripeEmulatorHandle, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const res = await fetch(`${e.url}/__emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** Both verifiers accept the delivery as received. */
function expectSigned(r: Received, secret = SECRET): void {
  const header = r.headers['stripe-signature'];
  expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const verdict = webhooks.verify({
    rawBody: r.body,
    headers: { 'stripe-signature': header as string },
    url: 'http://127.0.0.1/webhooks/stripe',
    method: 'POST',
    secret,
    now: Date.now(),
  });
  expect(verdict).toEqual({ ok: true, value: undefined });
  const event = sdk.webhooks.constructEvent(r.body, header as string, secret);
  expect(event.id).toBe(r.event.id);
}

function changesOf(r: Received): ChangeEvent[] {
  const result = webhooks.toEvents(r.body);
  if (!result.ok) throw result.error;
  return result.value;
}

describe('Stripe emulator webhooks', () => {
  it('admin mutations deliver signed Events that verify with verify() and the official SDK', async () => {
    const hook = await receiver();
    const e = await emulator();
    expect((await admin(e, 'PUT', '/webhook', { url: hook.url, secret: SECRET, retryDelaysMs: [50, 50] })).status).toBe(200);

    const created = await admin(e, 'POST', '/records/customers', { name: 'Ada Lovelace', email: 'ada@example.com' });
    expect(created.status).toBe(201);
    const customerId = created.json?.['id'] as string;
    expect(customerId).toMatch(/^cus_/);
    expect(created.json).toMatchObject({ object: 'customer', name: 'Ada Lovelace', email: 'ada@example.com' });
    const patched = await admin(e, 'PATCH', `/records/customers/${customerId}`, { name: 'Ada King', metadata: { vip: 'true' } });
    expect(patched).toMatchObject({ status: 200, json: { name: 'Ada King', metadata: { vip: 'true' } } });

    const inv = await admin(e, 'POST', '/records/invoices', {
      customer: customerId,
      currency: 'usd',
      lines: [{ amount: 1999, description: 'Widget', quantity: 1 }],
    });
    expect(inv).toMatchObject({ status: 201, json: { object: 'invoice', status: 'draft', amount_due: 1999, currency: 'usd', customer: customerId } });
    const invoiceId = inv.json?.['id'] as string;
    const paid = await admin(e, 'PATCH', `/records/invoices/${invoiceId}`, { status: 'paid' });
    expect(paid).toMatchObject({ status: 200, json: { status: 'paid', amount_paid: 1999, amount_remaining: 0 } });

    await e.waitForIdle();
    const types = ['customer.created', 'customer.updated', 'invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded'];
    expect(hook.received.map((r) => r.event.type).sort()).toEqual([...types].sort());
    expect(e.count()).toBe(0); // admin calls are not API calls

    for (const r of hook.received) {
      expectSigned(r);
      expect(r.event.pending_webhooks).toBe(1);
      expect(r.body.toString('utf8')).toBe(JSON.stringify(JSON.parse(r.body.toString('utf8')), null, 2)); // Stripe's pretty JSON
    }
    // Events of one object arrive in the order they happened.
    const forObject = (id: string) => hook.received.filter((r) => r.event.data.object.id === id).map((r) => r.event.type);
    expect(forObject(customerId)).toEqual(['customer.created', 'customer.updated']);
    expect(forObject(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']);

    // The same Events /v1/events serves (after delivery, pending_webhooks drops to 0).
    const api = new Stripe(TEST_KEY, { host: '127.0.0.1', port: e.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
    for (const r of hook.received) {
      const stored = await api.events.retrieve(r.event.id);
      expect({ ...stored, pending_webhooks: 1 }).toEqual(JSON.parse(r.body.toString('utf8')));
      expect(stored.pending_webhooks).toBe(0);
    }
    const delivered = await api.events.list({ delivery_success: true, limit: 100 });
    expect(delivered.data.map((x) => x.id).sort()).toEqual(hook.received.map((r) => r.event.id).sort());
    expect((await api.events.list({ delivery_success: false })).data).toEqual([]);

    // The connector maps what arrived: updated customer, and the invoice in exact money.
    const updated = hook.received.find((r) => r.event.type === 'customer.updated') as Received;
    expect(changesOf(updated)).toEqual([
      expect.objectContaining({ eventId: updated.event.id, type: 'UPDATED', entity: 'Contact', remoteId: customerId, version: updated.event.created * 1000 }),
    ]);
    const paidEvent = hook.received.find((r) => r.event.type === 'invoice.paid') as Received;
    const [change] = changesOf(paidEvent);
    expect(change).toMatchObject({ type: 'UPDATED', entity: 'Invoice', remoteId: invoiceId });
    expect((change?.model as InvoiceModel).total).toEqual({ amount: '19.99', currency: 'USD' });
    expect((change?.model as InvoiceModel).status).toBe('PAID');

    expect(e.deliveries()).toHaveLength(types.length);
    expect(e.deliveries().every((d) => d.attempt === 1 && d.status === 200 && d.error === null)).toBe(true);
  });

  it('retries after a 500, re-signing each attempt, until a 2xx', async () => {
    const hook = await receiver([500]);
    const e = await emulator({ webhook: { url: hook.url, secret: SECRET, retryDelaysMs: [50, 50] } });
    const customer = e.createRecord('customers', { name: 'Grace Hopper' });
    await e.waitForIdle();
    expect(hook.received).toHaveLength(2);
    const [first, second] = hook.received as [Received, Received];
    expect(second.body.equals(first.body)).toBe(true);
    expect(first.event).toMatchObject({ type: 'customer.created', data: { object: { id: customer['id'] } } });
    expectSigned(first);
    expectSigned(second);
    expect(e.deliveries().map((d) => [d.eventId, d.attempt, d.status])).toEqual([
      [first.event.id, 1, 500],
      [first.event.id, 2, 200],
    ]);
  });

  it('signs every retry with a fresh timestamp', async () => {
    const hook = await receiver([503]);
    const e = await emulator({ webhook: { url: hook.url, secret: SECRET, retryDelaysMs: [1100] } });
    e.createRecord('customers', { email: 'fresh@example.com' });
    const [first, second] = (await hook.waitFor(2)) as [Received, Received];
    const t = (r: Received) => Number(/t=(\d+)/.exec(r.headers['stripe-signature'] as string)?.[1]);
    expect(t(second)).toBeGreaterThan(t(first));
    expect(second.headers['stripe-signature']).not.toBe(first.headers['stripe-signature']);
    await e.waitForIdle();
    expectSigned(second);
  });

  it('gives up after the last retry delay; network errors count as failures', async () => {
    const hook = await receiver([500, 500, 500]);
    const e = await emulator({ webhook: { url: hook.url, secret: SECRET, retryDelaysMs: [20, 20] } });
    e.createRecord('customers', { name: 'Never Delivered' });
    await e.waitForIdle();
    expect(e.deliveries().map((d) => d.status)).toEqual([500, 500, 500]);
    const api = new Stripe(TEST_KEY, { host: '127.0.0.1', port: e.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
    const failed = await api.events.list({ delivery_success: false });
    expect(failed.data.map((x) => [x.id, x.pending_webhooks])).toEqual([[hook.received[0]?.event.id, 1]]);

    // A closed port: connection refused, retried, then given up.
    const gone = await startReceiver();
    const deadUrl = gone.url;
    await gone.close();
    e.setWebhook({ url: deadUrl, secret: SECRET, retryDelaysMs: [10] });
    e.createRecord('customers', { name: 'Nobody Home' });
    await e.waitForIdle();
    const refused = e.deliveries().slice(3);
    expect(refused.map((d) => [d.attempt, d.status])).toEqual([
      [1, null],
      [2, null],
    ]);
    expect(refused[0]?.error).toMatch(/ECONNREFUSED/);
  });

  it('keeps FIFO order with concurrency 1, and many events with the default concurrency', async () => {
    const hook = await receiver();
    const e = await emulator({ webhookConcurrency: 1, webhook: { url: hook.url, secret: SECRET } });
    const ids = [1, 2, 3, 4, 5].map((i) => e.createRecord('customers', { name: `Person ${i}` })['id']);
    await e.waitForIdle();
    expect(hook.received.map((r) => r.event.data.object.id)).toEqual(ids);

    const many = await emulator({ seed: 6, webhook: { url: hook.url, secret: SECRET } });
    for (let i = 0; i < 40; i++) many.createRecord('customers', { name: `Bulk ${i}` });
    await many.waitForIdle();
    expect(hook.received).toHaveLength(45);
    expect(new Set(hook.received.map((r) => r.event.id)).size).toBe(45);
  });

  it('answers 404 / 400 for unknown types, ids and bad bodies; DELETE endpoints', async () => {
    const hook = await receiver();
    const e = await emulator();
    expect((await admin(e, 'PUT', '/webhook', { url: 'ftp://x', secret: SECRET })).status).toBe(400);
    expect((await admin(e, 'PUT', '/webhook', { url: hook.url })).status).toBe(400);
    expect((await admin(e, 'PUT', '/webhook', '{nope')).status).toBe(400);
    const set = await admin(e, 'PUT', '/webhook', { url: hook.url, secret: SECRET });
    expect(set.json).toMatchObject({ target: { url: hook.url, retryDelaysMs: [1000, 2000, 4000, 8000, 16000] } });
    expect(JSON.stringify(set.json)).not.toContain(SECRET);

    expect(await admin(e, 'POST', '/records/widgets', {})).toMatchObject({ status: 404 });
    expect(await admin(e, 'PATCH', '/records/customers/cus_missing', { name: 'x' })).toMatchObject({
      status: 404,
      json: { message: "No such customer: 'cus_missing'" },
    });
    expect(await admin(e, 'DELETE', '/records/invoices/in_missing')).toMatchObject({ status: 404 });
    expect(await admin(e, 'POST', '/records/customers', '{"name":')).toMatchObject({ status: 400 });
    expect(await admin(e, 'POST', '/records/customers', '[1]')).toMatchObject({ status: 400 });
    expect(await admin(e, 'POST', '/records/customers', { nickname: 'x' })).toMatchObject({
      status: 400,
      json: { message: expect.stringMatching(/unknown parameter: nickname/) },
    });
    expect(await admin(e, 'POST', '/records/invoices', { lines: [{ amount: 5 }] })).toMatchObject({
      status: 400,
      json: { message: 'Missing required param: customer' },
    });
    expect(await admin(e, 'POST', '/records/invoices', { customer: 'cus_nope', lines: [] })).toMatchObject({ status: 400 });

    const c = await admin(e, 'POST', '/records/customers', { name: 'Temp' });
    const id = c.json?.['id'] as string;
    const inv = await admin(e, 'POST', '/records/invoices', { customer: id, lines: [{ amount: 100 }], status: 'paid' });
    expect(await admin(e, 'PATCH', `/records/invoices/${inv.json?.['id'] as string}`, { status: 'draft' })).toMatchObject({ status: 400 });
    expect(await admin(e, 'DELETE', `/records/invoices/${inv.json?.['id'] as string}`)).toMatchObject({ status: 400 });
    expect(await admin(e, 'DELETE', `/records/customers/${id}`)).toEqual({ status: 200, json: { id, object: 'customer', deleted: true } });
    expect(await admin(e, 'DELETE', `/records/customers/${id}`)).toMatchObject({ status: 404 });
    await e.waitForIdle();
    const types = hook.received.map((r) => r.event.type);
    expect(types).toContain('customer.deleted');
    const deleted = hook.received.find((r) => r.event.type === 'customer.deleted') as Received;
    expect(changesOf(deleted)).toMatchObject([{ type: 'DELETED', entity: 'Contact', remoteId: id }]);

    // DELETE /webhook: nothing more is sent.
    expect((await admin(e, 'DELETE', '/webhook')).status).toBe(204);
    const before = hook.received.length;
    expect((await admin(e, 'POST', '/records/customers', { name: 'Silent' })).status).toBe(201);
    await e.waitForIdle();
    expect(hook.received).toHaveLength(before);
    expect((await admin(e, 'GET', '/webhook')).json).toMatchObject({ target: null, state: { queued: 0, inFlight: 0, retrying: 0 } });
  });

  it('checkout sessions: complete and expire through the admin API deliver checkout.session.* events', async () => {
    const hook = await receiver();
    const e = await emulator({ webhook: { url: hook.url, secret: SECRET } });
    const s = await admin(e, 'POST', '/records/checkout_sessions', {
      customer_email: 'buyer@example.com',
      currency: 'gbp',
      line_items: [{ unit_amount: 1500, quantity: 2, description: 'Mug' }],
    });
    expect(s).toMatchObject({ status: 201, json: { object: 'checkout.session', status: 'open', amount_total: 3000 } });
    const id = s.json?.['id'] as string;
    expect((await admin(e, 'PATCH', `/records/checkout_sessions/${id}`, { status: 'complete', customer_details: { name: 'Buyer One' } })).json).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      customer_details: { name: 'Buyer One', email: 'buyer@example.com' },
    });
    expect(await admin(e, 'PATCH', `/records/checkout_sessions/${id}`, { status: 'expired' })).toMatchObject({ status: 400 });
    expect(await admin(e, 'DELETE', `/records/checkout_sessions/${id}`)).toMatchObject({ status: 400 });
    const other = await admin(e, 'POST', '/records/checkout_sessions', { line_items: [{ amount: 700 }], status: 'expired' });
    await e.waitForIdle();
    expect(hook.received.map((r) => [r.event.type, r.event.data.object.id])).toEqual(
      expect.arrayContaining([
        ['checkout.session.completed', id],
        ['checkout.session.expired', other.json?.['id']],
      ]),
    );
    for (const r of hook.received) expectSigned(r);
    const completed = hook.received.find((r) => r.event.type === 'checkout.session.completed') as Received;
    expect(changesOf(completed)).toMatchObject([{ type: 'CREATED', entity: 'Order', remoteId: id, model: null }]);
  });

  it('stop() cancels pending retries and leaves no timers behind', async () => {
    const hook = await receiver([500]);
    const e = await startEmulator({ credentials: [TEST_KEY], seed: 5, scale: SCALE, webhook: { url: hook.url, secret: SECRET, retryDelaysMs: [60_000] } });
    const firstAttempt = new Promise<WebhookDelivery>((resolve) => {
      const off = e.onWebhookDelivery((d) => {
        off();
        resolve(d);
      });
    });
    e.createRecord('customers', { name: 'Pending Retry' });
    expect(await firstAttempt).toMatchObject({ attempt: 1, status: 500 });
    // The 60 s retry is scheduled. (Counting the process's timers instead was flaky: fetch's
    // keep-alive sockets and the test runner add and drop timers of their own.)
    expect(e.webhookState()).toMatchObject({ retrying: 1 });

    let idle = false;
    const idlePromise = e.waitForIdle().then(() => (idle = true));
    expect(idle).toBe(false);
    await e.stop();
    await idlePromise; // stop() settles waiters: nothing is pending any more
    expect(e.webhookState()).toEqual({ buffered: 0, queued: 0, inFlight: 0, retrying: 0, timers: 0 });
    expect(hook.received).toHaveLength(1);
    expect(e.deliveries()).toHaveLength(1);
  });
});
