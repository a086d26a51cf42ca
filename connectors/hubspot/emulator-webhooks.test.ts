// The emulator's webhooks end to end: admin mutations → batched, signed POSTs to a real receiver
// → verified and mapped by the connector; retries, concurrency, cancellation.
import { Signature } from '@hubspot/api-client';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type HubSpotEmulatorHandle, type HubSpotEmulatorOptions, type HubSpotWebhookEvent } from './emulator/index.ts';
import { specValidator } from './test-support.ts';
import { toEvents, verify } from './webhooks.ts';

const TOKEN = 'pat-na1-webhook-test';
const SECRET = 'client-secret-for-tests';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  events: HubSpotWebhookEvent[];
}

/**
 * A tiny webhook receiver. `answer` decides each reply (status, or a function that gets the
 * response to finish later); requests are also emitted so tests can await them.
 */
class Receiver {
  readonly received: Received[] = [];
  private readonly server: Server;
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  answer: (req: Received, res: ServerResponse) => number | 'hold' = () => 200;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks);
        const got: Received = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawBody,
          events: JSON.parse(rawBody.toString('utf8')) as HubSpotWebhookEvent[],
        };
        this.received.push(got);
        const status = this.answer(got, res);
        if (status !== 'hold') res.writeHead(status).end();
        for (const w of this.waiters.filter((x) => this.received.length >= x.count)) w.resolve();
        this.waiters = this.waiters.filter((x) => this.received.length < x.count);
      });
    });
  }

  async start(path = '/webhooks/hubspot?connection=conn_1'): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
    return this;
  }

  /** Resolves once `count` requests have arrived in total. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** What the gateway would hand to verify(): the URL as called, rebuilt from Host + request line. */
  verifyInput(r: Received, secret = SECRET, now = Date.now()) {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { rawBody: r.rawBody, headers, url: `http://${r.headers.host}${r.url}`, method: r.method, secret, now };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const started: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of started.splice(0).reverse()) await s.stop();
});

async function receiver(path?: string): Promise<Receiver> {
  const r = await new Receiver().start(path);
  started.push(r);
  return r;
}

async function emulator(options: Partial<HubSpotEmulatorOptions> = {}): Promise<HubSpotEmulatorHandle> {
  const em = await startEmulator({
    credentials: [TOKEN],
    scale: { contacts: 5, invoices: 3, orders: 2 },
    searchRateLimit: null,
    webhookBatchWindowMs: 20,
    ...options,
  });
  started.push(em);
  return em;
}

async function admin(em: HubSpotEmulatorHandle, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${em.url}/__emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Ref'd timers keeping the event loop alive. */

describe('emulator webhooks', () => {
  it('delivers one batched, signed POST that verify() accepts and toEvents() maps', async () => {
    const rx = await receiver();
    const em = await emulator({ webhook: { url: rx.url, secret: SECRET }, portalId: 777, appId: 4242 });
    const created = em.mutate.create('contacts', { properties: { email: 'ada@example.com', firstname: 'Ada' } });
    em.mutate.update('contacts', created.id, { lastname: 'Lovelace', firstname: 'Ada', phone: '+44 20 7946 0000' });
    await em.waitForIdle();

    expect(rx.received).toHaveLength(1);
    const [post] = rx.received;
    if (!post) throw new Error('no POST');
    expect(post.method).toBe('POST');
    expect(post.url).toBe('/webhooks/hubspot?connection=conn_1');
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['x-hubspot-signature-version']).toBe('v1');
    const ts = Number(post.headers['x-hubspot-request-timestamp']);
    expect(Math.abs(Date.now() - ts)).toBeLessThan(5000);

    // Our verifier, and the official SDK's (v3 and the legacy v1 header).
    expect(verify(rx.verifyInput(post))).toEqual({ ok: true, value: undefined });
    expect(verify(rx.verifyInput(post, 'another-secret')).ok).toBe(false);
    const sdk = { clientSecret: SECRET, requestBody: post.rawBody.toString('utf8'), method: 'POST', url: rx.url };
    expect(Signature.isValid({ ...sdk, signature: String(post.headers['x-hubspot-signature-v3']), signatureVersion: 'v3', timestamp: ts })).toBe(true);
    expect(Signature.isValid({ ...sdk, signature: String(post.headers['x-hubspot-signature']), signatureVersion: 'v1' })).toBe(true);

    // creation + one propertyChange per changed property (firstname did not change).
    expect(post.events.map((e) => [e.subscriptionType, e.propertyName, e.propertyValue])).toEqual([
      ['contact.creation', undefined, undefined],
      ['contact.propertyChange', 'lastname', 'Lovelace'],
      ['contact.propertyChange', 'phone', '+44 20 7946 0000'],
    ]);
    const first = post.events[0]!;
    expect(Object.keys(first)).toEqual([
      'eventId',
      'subscriptionId',
      'portalId',
      'appId',
      'occurredAt',
      'subscriptionType',
      'attemptNumber',
      'objectId',
      'changeSource',
      'changeFlag',
    ]);
    expect(first).toMatchObject({ portalId: 777, appId: 4242, attemptNumber: 0, objectId: Number(created.id), changeFlag: 'NEW' });
    expect(post.events.map((e) => e.eventId)).toEqual([first.eventId, first.eventId + 1, first.eventId + 2]);
    expect(new Set(post.events.map((e) => e.subscriptionId)).size).toBe(2);

    const mapped = toEvents(post.rawBody);
    if (!mapped.ok) throw mapped.error;
    expect(mapped.value.map((e) => [e.type, e.entity, e.remoteId])).toEqual([
      ['CREATED', 'Contact', created.id],
      ['UPDATED', 'Contact', created.id],
      ['UPDATED', 'Contact', created.id],
    ]);
    expect(mapped.value[0]?.eventId).toBe(`777:${first.subscriptionId}:${first.eventId}`);
    expect(mapped.value[1]!.version!).toBeGreaterThan(mapped.value[0]!.version!);
    expect(em.deliveries()).toEqual([
      expect.objectContaining({ delivery: 1, attempt: 1, status: 200, error: null, eventIds: post.events.map((e) => e.eventId) }),
    ]);
  });

  it('admin routes: configure the target, create, update and archive records (not counted as API calls)', async () => {
    const rx = await receiver('/hook');
    const em = await emulator();
    expect((await admin(em, 'GET', '/webhook')).body.target).toBeNull();
    const put = await admin(em, 'PUT', '/webhook', { url: rx.url, secret: SECRET, retryDelaysMs: [10] });
    expect(put).toEqual({
      status: 200,
      body: { target: { url: rx.url, retryDelaysMs: [10], maxConcurrentRequests: 10 }, state: expect.objectContaining({ queued: 0 }) },
    });

    const contact = em.store.all('contacts')[0]!;
    const created = await admin(em, 'POST', '/records/invoices', {
      properties: { hs_currency: 'EUR', hs_invoice_status: 'open', hs_amount_billed: 120.5, hs_number: 'INV-9' },
      associations: { contacts: [contact.id] },
    });
    expect(created.status).toBe(201);
    expect(specValidator('invoices').problems('SimplePublicObject', created.body)).toEqual([]);
    expect(created.body.properties).toMatchObject({ hs_currency: 'EUR', hs_amount_billed: '120.5', hs_object_id: created.body.id });
    expect(em.store.associated('invoices', created.body.id, 'contacts')).toEqual([contact.id]);

    const patched = await admin(em, 'PATCH', `/records/invoices/${created.body.id}`, { properties: { hs_invoice_status: 'paid' } });
    expect(patched.status).toBe(200);
    expect(patched.body.properties.hs_invoice_status).toBe('paid');
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
    expect(patched.body.properties.hs_lastmodifieddate).toBe(patched.body.updatedAt);

    const contactPatch = await admin(em, 'PATCH', `/records/contacts/${contact.id}`, { properties: { jobtitle: 'Chief Webhook Officer' } });
    expect(contactPatch.body.properties.lastmodifieddate).toBe(contactPatch.body.updatedAt);

    const archivedByAdmin = await admin(em, 'DELETE', `/records/invoices/${created.body.id}`);
    expect(archivedByAdmin).toMatchObject({ status: 200, body: { id: created.body.id, archived: true, archivedAt: expect.any(String) } });
    const gone = await fetch(`${em.url}/crm/v3/objects/invoices/${created.body.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(gone.status).toBe(404);
    const archived = await fetch(`${em.url}/crm/v3/objects/invoices/${created.body.id}?archived=true`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await archived.json()) as { archived: boolean }).archived).toBe(true);
    expect(em.count()).toBe(2);
    expect(em.requests().every((r) => !r.path.startsWith('/__emulator'))).toBe(true);

    await em.waitForIdle();
    // Batches may be in flight together: order by eventId.
    const posts = [...rx.received].sort((a, b) => a.events[0]!.eventId - b.events[0]!.eventId);
    const events = posts.flatMap((r) => r.events);
    expect(events.map((e) => [e.subscriptionType, e.objectTypeId, e.propertyName])).toEqual([
      ['object.creation', '0-53', undefined],
      ['object.propertyChange', '0-53', 'hs_invoice_status'],
      ['contact.propertyChange', undefined, 'jobtitle'],
      ['object.deletion', '0-53', undefined],
    ]);
    for (const r of rx.received) expect(verify(rx.verifyInput(r)).ok).toBe(true);
    const mapped = posts.flatMap((r) => {
      const m = toEvents(r.rawBody);
      return m.ok ? m.value : [];
    });
    expect(mapped.map((e) => [e.type, e.entity])).toEqual([
      ['CREATED', 'Invoice'],
      ['UPDATED', 'Invoice'],
      ['UPDATED', 'Contact'],
      ['DELETED', 'Invoice'],
    ]);

    const state = await admin(em, 'GET', '/webhook');
    expect(state.body.deliveries.length).toBe(rx.received.length);
    expect(state.body.target).toEqual({ url: rx.url, retryDelaysMs: [10], maxConcurrentRequests: 10 });
    expect(JSON.stringify(state.body)).not.toContain(SECRET);
  });

  it('admin routes validate their input', async () => {
    const em = await emulator();
    const contact = em.store.all('contacts')[0]!;
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/records/line_items', { properties: {} }, 404],
      ['POST', '/records/companies', { properties: {} }, 404],
      ['PATCH', '/records/contacts/999999', { properties: { firstname: 'x' } }, 404],
      ['DELETE', '/records/orders/1', undefined, 404],
      ['POST', '/records/contacts', '{"properties":', 400],
      ['POST', '/records/contacts', [], 400],
      ['POST', '/records/contacts', {}, 400],
      ['POST', '/records/contacts', { properties: { shoe_size: '42' } }, 400],
      ['POST', '/records/contacts', { properties: { email: { nested: true } } }, 400],
      ['POST', '/records/contacts', { properties: { lastmodifieddate: '2024-01-01T00:00:00Z' } }, 400],
      ['POST', '/records/invoices', { properties: {}, associations: { contacts: ['424242'] } }, 400],
      ['POST', '/records/invoices', { properties: {}, associations: { deals: ['1'] } }, 400],
      ['POST', '/records/contacts', { properties: {}, associations: { contacts: [contact.id] } }, 400],
      ['PATCH', `/records/contacts/${contact.id}`, { props: {} }, 400],
      ['PUT', '/webhook', { url: 'ftp://example.com', secret: 's' }, 400],
      ['PUT', '/webhook', { url: 'http://127.0.0.1:1/x', secret: '' }, 400],
      ['PUT', '/webhook', { url: 'http://127.0.0.1:1/x', secret: 's', retryDelaysMs: [-1] }, 400],
      ['PUT', '/webhook', { url: 'http://127.0.0.1:1/x', secret: 's', maxConcurrentRequests: 0 }, 400],
      ['PUT', '/webhook', 'nope', 400],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await admin(em, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body).toEqual({ error: status === 404 ? 'not_found' : 'bad_request', message: expect.any(String) });
    }
    expect(() => em.mutate.update('contacts', '999999', {})).toThrow(/No contact/);
    // Archived records are gone for the admin routes too.
    em.mutate.archive('contacts', contact.id);
    expect((await admin(em, 'DELETE', `/records/contacts/${contact.id}`)).status).toBe(404);
    expect(em.count()).toBe(0);
  });

  it('batches up to 100 events per POST with increasing eventIds', async () => {
    const rx = await receiver();
    const em = await emulator({ webhook: { url: rx.url, secret: SECRET }, webhookBatchWindowMs: 300 });
    for (let i = 0; i < 150; i++) em.mutate.create('contacts', { properties: { email: `bulk${i}@example.com` } });
    // The first 100 go at once, without waiting for the window.
    await rx.waitFor(1);
    expect(rx.received[0]?.events).toHaveLength(100);
    await em.waitForIdle();
    expect(rx.received.map((r) => r.events.length)).toEqual([100, 50]);
    const ids = rx.received.flatMap((r) => r.events.map((e) => e.eventId));
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i));
    for (const r of rx.received) expect(verify(rx.verifyInput(r)).ok).toBe(true);
  });

  it('retries after a 500 with attemptNumber incremented and a fresh signature', async () => {
    const rx = await receiver();
    let calls = 0;
    rx.answer = () => (++calls === 1 ? 500 : 200);
    const em = await emulator({ webhook: { url: rx.url, secret: SECRET, retryDelaysMs: [50, 50] } });
    const c = em.mutate.create('contacts', { properties: { email: 'retry@example.com' } });
    await em.waitForIdle();

    expect(rx.received).toHaveLength(2);
    const [first, second] = rx.received as [Received, Received];
    expect(first.events.map((e) => e.attemptNumber)).toEqual([0]);
    expect(second.events.map((e) => e.attemptNumber)).toEqual([1]);
    expect(second.events[0]?.eventId).toBe(first.events[0]?.eventId);
    expect(second.events[0]?.objectId).toBe(Number(c.id));
    expect(Number(second.headers['x-hubspot-request-timestamp'])).toBeGreaterThanOrEqual(Number(first.headers['x-hubspot-request-timestamp']) + 50);
    expect(second.headers['x-hubspot-signature-v3']).not.toBe(first.headers['x-hubspot-signature-v3']);
    for (const r of rx.received) expect(verify(rx.verifyInput(r)).ok).toBe(true);
    // The connector dedupes both attempts to one event id.
    const ids = rx.received.map((r) => {
      const m = toEvents(r.rawBody);
      return m.ok ? m.value[0]?.eventId : null;
    });
    expect(ids[0]).toBe(ids[1]);
    expect(em.deliveries().map((d) => [d.delivery, d.attempt, d.status])).toEqual([
      [1, 1, 500],
      [1, 2, 200],
    ]);
  });

  it('gives up after the last retry, does not retry 400/401/403/404/405, and retries network errors', async () => {
    const rx = await receiver();
    rx.answer = (r) => (r.events[0]?.propertyValue === 'reject' ? 401 : 503);
    const em = await emulator({ webhook: { url: rx.url, secret: SECRET, retryDelaysMs: [20, 20] } });
    const c = em.mutate.create('contacts', { properties: { email: 'down@example.com' } });
    await em.waitForIdle();
    expect(em.deliveries().map((d) => [d.attempt, d.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
    ]);
    em.mutate.update('contacts', c.id, { firstname: 'reject' });
    await em.waitForIdle();
    expect(
      em
        .deliveries()
        .slice(3)
        .map((d) => [d.attempt, d.status]),
    ).toEqual([[1, 401]]);

    // Nothing listens on a port that was just closed: a connection error, retried.
    const closed = await new Receiver().start();
    await closed.stop();
    em.setWebhook({ url: closed.url, secret: SECRET, retryDelaysMs: [10] });
    em.mutate.update('contacts', c.id, { firstname: 'Again' });
    await em.waitForIdle();
    const failed = em.deliveries().slice(4);
    expect(failed.map((d) => [d.attempt, d.status])).toEqual([
      [1, null],
      [2, null],
    ]);
    expect(failed[0]?.error).toMatch(/ECONNREFUSED/);
  });

  it('keeps at most maxConcurrentRequests POSTs in flight', async () => {
    const rx = await receiver();
    const held: ServerResponse[] = [];
    let open = 0;
    let maxOpen = 0;
    const total = 5;
    rx.answer = (_r, res) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      res.on('finish', () => (open -= 1));
      held.push(res);
      // Release when the limit is reached (or nothing more can come): proves requests overlap.
      if (held.length === 2 || rx.received.length === total) for (const h of held.splice(0)) h.writeHead(200).end();
      return 'hold';
    };
    const em = await emulator({ webhook: { url: rx.url, secret: SECRET, maxConcurrentRequests: 2 } });
    for (let i = 0; i < total * 100; i++) em.mutate.create('contacts', { properties: { email: `c${i}@example.com` } });
    await em.waitForIdle();
    expect(rx.received).toHaveLength(total);
    expect(maxOpen).toBe(2);
  });

  it('DELETE /__emulator/webhook cancels pending retries and stops sending', async () => {
    const rx = await receiver();
    rx.answer = () => 500;
    const em = await emulator({ webhook: { url: rx.url, secret: SECRET, retryDelaysMs: [60_000] } });
    const delivered = new Promise((resolve) => em.onWebhookDelivery(resolve));
    const c = em.mutate.create('contacts', { properties: { email: 'cancel@example.com' } });
    await delivered;
    expect(em.webhookState()).toMatchObject({ retrying: 1, timers: 1 });
    expect((await admin(em, 'DELETE', '/webhook')).status).toBe(204);
    expect(em.webhookState()).toEqual({ buffered: 0, queued: 0, inFlight: 0, retrying: 0, timers: 0 });
    await em.waitForIdle();
    em.mutate.update('contacts', c.id, { firstname: 'Unsent' });
    expect(em.webhookState().buffered).toBe(0);
    await em.waitForIdle();
    expect(rx.received).toHaveLength(1);
  });

  it('stop() cancels pending retries and batch timers and leaves no timers behind', async () => {
    const rx = await receiver();
    rx.answer = () => 500;
    const em = await startEmulator({
      credentials: [TOKEN],
      scale: { contacts: 3, invoices: 1, orders: 1 },
      webhook: { url: rx.url, secret: SECRET, retryDelaysMs: [60_000] },
      webhookBatchWindowMs: 60_000,
    });
    started.push(em);
    const delivered = new Promise((resolve) => em.onWebhookDelivery(resolve));
    // 100 events go at once; the 101st waits for the (long) batch window.
    for (let i = 0; i < 101; i++) em.mutate.create('contacts', { properties: { email: `s${i}@example.com` } });
    await delivered;
    expect(em.webhookState()).toMatchObject({ buffered: 1, retrying: 1, timers: 2 });
    const idle = em.waitForIdle();
    await em.stop();
    await idle;
    expect(em.webhookState()).toEqual({ buffered: 0, queued: 0, inFlight: 0, retrying: 0, timers: 0 });
    expect(rx.received).toHaveLength(1);
  });
});
