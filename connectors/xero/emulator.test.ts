// The Xero emulator answers like Xero: its bodies validate (strictly) against our extracts of Xero's
// official OpenAPI specs, the official xero-node SDK reads invoices and contacts from it, and it
// refuses what Xero refuses (no tenant header, a foreign organisation, a bad token), pages and
// filters as Xero does, and enforces the per-organisation minute window with Xero's headers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XeroClient } from 'xero-node';
import { startEmulator, type XeroEmulatorHandle } from './emulator/index.ts';
import { TEST_TOKEN, specValidator } from './test-support.ts';

const accounting = specValidator('accounting');
const identity = specValidator('identity');
const webhooksSpec = specValidator('webhooks');

let emu: XeroEmulatorHandle;
let us: string;
let uk: string;
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${emu.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, accept: 'application/json', 'xero-tenant-id': us, ...headers } });

beforeAll(async () => {
  emu = await startEmulator({ credentials: [TEST_TOKEN], seed: 3, scale: { contacts: 30, invoices: 40 }, limits: { perMinute: 1000 } });
  [us, uk] = emu.tenantIds() as [string, string];
});
afterAll(() => emu?.stop());

describe("responses validate against Xero's official spec (our extract)", () => {
  it('GET /Invoices?page=1 (with line items and payments) is an Invoices document', async () => {
    const res = await get('/api.xro/2.0/Invoices?page=1&pageSize=40');
    expect(res.status).toBe(200);
    const text = await res.text();
    // Amounts are written as Xero writes them: two decimals.
    expect(text).toMatch(/"Total":\d+\.\d{2}[,}]/);
    const body = JSON.parse(text) as { Invoices: Array<{ Payments: unknown[]; LineItems: unknown[] }> };
    expect(accounting.problems('Invoices', body)).toEqual([]);
    expect(body.Invoices.some((i) => i.Payments.length > 1)).toBe(true);
    expect(body.Invoices.every((i) => i.LineItems.length > 0)).toBe(true);
  });

  it('GET /Contacts?page=1, /Contacts/{id}, /Invoices/{id} and /Organisation validate', async () => {
    const contacts = (await (await get('/api.xro/2.0/Contacts?page=1&includeArchived=true')).json()) as { Contacts: Array<{ ContactID: string }> };
    expect(accounting.problems('Contacts', contacts)).toEqual([]);
    expect(accounting.problems('Contacts', await (await get(`/api.xro/2.0/Contacts/${contacts.Contacts[0]!.ContactID}`)).json())).toEqual([]);
    const invoice = [...emu.store.org(us).invoices.values()][0]!;
    expect(accounting.problems('Invoices', await (await get(`/api.xro/2.0/Invoices/${invoice.InvoiceID}`)).json())).toEqual([]);
    expect(accounting.problems('Organisations', await (await get('/api.xro/2.0/Organisation')).json())).toEqual([]);
  });

  it('the strict check catches a field Xero does not have', () => {
    expect(accounting.problems('Contact', { ContactID: '5b7a5d0e-3c1f-4a8e-9d2b-6f0c1e2a3b4c', Nickname: 'x' }).join()).toMatch(/additional properties/);
  });

  it('a webhook delivery is a WebhookEvent document', async () => {
    const bodies: string[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      emu.setWebhook({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret: 'k' });
      const contact = [...emu.store.org(uk).contacts.values()][0]!;
      emu.records.update('contacts', contact.ContactID, { Name: 'Webhook shape' });
      const invoice = [...emu.store.org(us).invoices.values()].find((i) => i.Status === 'AUTHORISED')!;
      emu.records.update('invoices', invoice.InvoiceID, { Status: 'VOIDED' });
      await emu.waitForIdle();
      const payload = JSON.parse(bodies.join('').length ? bodies[0]! : '{}') as { events: Array<{ eventCategory: string; tenantId: string }> };
      // Xero writes eventDateUtc without a zone (its own examples do too) where the spec says date-time: checked as UTC.
      const relaxed = JSON.parse(JSON.stringify(payload).replace(/"eventDateUtc":"([^"]+)"/g, '"eventDateUtc":"$1Z"')) as unknown;
      expect(webhooksSpec.problems('WebhookEvent', relaxed)).toEqual([]);
      expect(payload.events.map((e) => [e.eventCategory, e.tenantId])).toEqual([
        ['CONTACT', uk],
        ['INVOICE', us],
      ]);
    } finally {
      emu.setWebhook(null);
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('the official xero-node SDK against the emulator', () => {
  const sdk = () => {
    const client = new XeroClient({ clientId: 'x', clientSecret: 'y', redirectUris: ['http://localhost/cb'], scopes: ['accounting.invoices.read'] });
    client.setTokenSet({ access_token: TEST_TOKEN, token_type: 'Bearer', expires_at: Math.floor(Date.now() / 1000) + 1800 });
    client.accountingApi.basePath = `${emu.url}/api.xro/2.0`;
    return client;
  };

  it('reads invoices by IDs with line items, payments, MS dates and amounts', async () => {
    const org = emu.store.org(us);
    const wanted = [...org.invoices.values()].filter((i) => i.payments.length > 0).slice(0, 3);
    const { body } = await sdk().accountingApi.getInvoices(
      us,
      undefined,
      undefined,
      undefined,
      wanted.map((i) => i.InvoiceID),
      undefined,
      undefined,
      undefined,
      1,
    );
    expect(body.invoices?.map((i) => i.invoiceID).sort()).toEqual(wanted.map((i) => i.InvoiceID).sort());
    for (const inv of body.invoices ?? []) {
      const seeded = org.invoices.get(inv.invoiceID!)!;
      const amounts = emu.store.amounts(seeded);
      expect(inv.total).toBe(amounts.totalCents / 100);
      expect(inv.amountPaid).toBe(amounts.paidCents / 100);
      expect(inv.lineItems?.length).toBe(seeded.lines.length);
      expect(inv.payments?.length).toBe(seeded.payments.length);
      // The SDK turns /Date(ms+0000)/ into a Date.
      expect(new Date(inv.updatedDateUTC as unknown as string).getTime()).toBe(seeded.updatedMs);
    }
  });

  it('pages contacts and honours If-Modified-Since as the SDK sends it (ISO with Z)', async () => {
    const all = await sdk().accountingApi.getContacts(us, undefined, undefined, undefined, undefined, 1, true, undefined, undefined, 10);
    expect(all.body.contacts).toHaveLength(10);
    expect(all.body.pagination).toMatchObject({ page: 1, pageSize: 10, itemCount: 30, pageCount: 3 });
    const contact = [...emu.store.org(us).contacts.values()][7]!;
    emu.records.update('contacts', contact.ContactID, { Name: 'Changed for the SDK' });
    const since = new Date(contact.updatedMs);
    const changed = await sdk().accountingApi.getContacts(us, since, undefined, undefined, undefined, 1, true);
    expect(changed.body.contacts?.map((c) => c.name)).toEqual(['Changed for the SDK']);
  });

  it('surfaces the emulator’s 403 for an organisation the token does not reach as the SDK’s error', async () => {
    // xero-node rejects with its error serialized as JSON text (ApiError.redactError).
    const err: unknown = await sdk()
      .accountingApi.getContacts('00000000-0000-4000-8000-000000000000')
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((JSON.parse(String(err)) as { response: { statusCode: number } }).response.statusCode).toBe(403);
  });
});

describe('answers like Xero', () => {
  it('401 problem document for a bad token, 403 without xero-tenant-id or for an organisation the token does not reach', async () => {
    const bad = await get('/api.xro/2.0/Contacts', { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ Title: 'Unauthorized', Status: 401, Detail: 'AuthenticationUnsuccessful' });
    const noTenant = await fetch(`${emu.url}/api.xro/2.0/Contacts`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(noTenant.status).toBe(403);
    expect((await get('/api.xro/2.0/Contacts', { 'xero-tenant-id': '00000000-0000-4000-8000-000000000000' })).status).toBe(403);
  });

  it('404 in plain text for an unknown invoice; unpaged lists leave line items out', async () => {
    const missing = await get('/api.xro/2.0/Invoices/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("The resource you're looking for cannot be found");
    const unpaged = (await (await get('/api.xro/2.0/Invoices')).json()) as { pagination?: unknown; Invoices: Array<{ LineItems: unknown[] }> };
    expect(unpaged.pagination).toBeUndefined();
    expect(unpaged.Invoices.every((i) => i.LineItems.length === 0)).toBe(true);
  });

  it('filters by IDs, ContactIDs and Statuses, and keeps organisations apart', async () => {
    const ukInvoice = [...emu.store.org(uk).invoices.values()][0]!;
    const mine = (await (await get(`/api.xro/2.0/Invoices?IDs=${ukInvoice.InvoiceID}`)).json()) as { Invoices: unknown[] };
    expect(mine.Invoices).toEqual([]);
    const theirs = (await (await get(`/api.xro/2.0/Invoices?IDs=${ukInvoice.InvoiceID}`, { 'xero-tenant-id': uk })).json()) as {
      Invoices: Array<{ InvoiceID: string }>;
    };
    expect(theirs.Invoices.map((i) => i.InvoiceID)).toEqual([ukInvoice.InvoiceID]);
    const paid = (await (await get('/api.xro/2.0/Invoices?Statuses=PAID')).json()) as { Invoices: Array<{ Status: string }> };
    expect(paid.Invoices.length).toBeGreaterThan(0);
    expect(paid.Invoices.every((i) => i.Status === 'PAID')).toBe(true);
  });

  it('counts calls per organisation per minute, with X-MinLimit-Remaining, and answers 429 with Retry-After and X-Rate-Limit-Problem', async () => {
    const tight = await startEmulator({ credentials: [TEST_TOKEN], seed: 3, scale: { contacts: 3, invoices: 3 }, limits: { perMinute: 2 } });
    try {
      const [a, b] = tight.tenantIds() as [string, string];
      const call = (tenant: string) =>
        fetch(`${tight.url}/api.xro/2.0/Contacts`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, 'xero-tenant-id': tenant } });
      const first = await call(a);
      expect(first.headers.get('x-minlimit-remaining')).toBe('1');
      expect(first.headers.get('x-daylimit-remaining')).toBe('4999');
      expect(first.headers.get('x-appminlimit-remaining')).toBe('9999');
      expect((await call(a)).headers.get('x-minlimit-remaining')).toBe('0');
      const refused = await call(a);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('x-rate-limit-problem')).toBe('minute');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another organisation has its own window.
      expect((await call(b)).status).toBe(200);
    } finally {
      await tight.stop();
    }
  });
});

describe('Xero Identity', () => {
  it('GET /connections lists the grant’s organisations (identity spec), DELETE /connections/{id} removes one', async () => {
    const oauth = await startEmulator({
      credentials: [],
      seed: 3,
      scale: { contacts: 2, invoices: 2 },
      oauthClients: [{ clientId: 'app', clientSecret: 'secret', redirectUris: ['http://localhost/cb'] }],
    });
    try {
      const authorize = await fetch(
        `${oauth.url}/identity/connect/authorize?response_type=code&client_id=app&redirect_uri=${encodeURIComponent('http://localhost/cb')}&scope=openid%20offline_access%20accounting.contacts.read&state=s`,
        { redirect: 'manual' },
      );
      const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
      const token = await fetch(`${oauth.url}/connect/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('app:secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'http://localhost/cb' }).toString(),
      });
      const tokens = (await token.json()) as { access_token: string; refresh_token: string; expires_in: number };
      expect(tokens.expires_in).toBe(1800);
      const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { authentication_event_id: string };
      const listed = await fetch(`${oauth.url}/connections?authEventId=${claims.authentication_event_id}`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      const connections = (await listed.json()) as Array<{ id: string; tenantId: string }>;
      expect(connections).toHaveLength(2);
      // Xero writes these instants without a zone (its own spec example too) where the spec says date-time: checked as UTC.
      for (const c of connections)
        expect(identity.problems('Connection', JSON.parse(JSON.stringify(c).replace(/"(\w+DateUtc)":"([^"]+)"/g, '"$1":"$2Z"')))).toEqual([]);
      const del = await fetch(`${oauth.url}/connections/${connections[0]!.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(del.status).toBe(204);
      // The token no longer reaches the removed organisation.
      const after = await fetch(`${oauth.url}/api.xro/2.0/Contacts`, {
        headers: { authorization: `Bearer ${tokens.access_token}`, 'xero-tenant-id': connections[0]!.tenantId },
      });
      expect(after.status).toBe(403);
    } finally {
      await oauth.stop();
    }
  });
});
