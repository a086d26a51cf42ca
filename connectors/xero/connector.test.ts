// The Xero connector against its emulator, beyond the shared suite: Retry-After honoured on a 429,
// the minute and day problems told apart, IDs= chunks of 50, If-Modified-Since, the contact and
// e-mail filters, cursors when `first` changes, and afterConnect turning one grant into one
// connection per organisation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import type { InvoiceModel } from '../sdk/models.ts';
import { createTestContext } from '../sdk/testing.ts';
import { TENANT_SETTING } from './client.ts';
import { startEmulator, type XeroEmulatorHandle } from './emulator/index.ts';
import { SETTINGS, authEventOf, pageFor, xero } from './index.ts';
import { TEST_TOKEN } from './test-support.ts';

let emu: XeroEmulatorHandle;
let us: string;
const ctx = (extra: Parameters<typeof createTestContext>[0] extends infer O ? Partial<O> : never = {}) =>
  createTestContext({ connector: xero, baseUrl: emu.url, token: TEST_TOKEN, settings: { [TENANT_SETTING]: us, baseCurrency: 'USD' }, ...extra });

beforeAll(async () => {
  emu = await startEmulator({
    credentials: [TEST_TOKEN],
    seed: 11,
    scale: { contacts: 120, invoices: 60 },
    limits: { perMinute: 10_000 },
    oauthClients: [{ clientId: 'app', clientSecret: 'secret', redirectUris: ['http://localhost/cb'] }],
  });
  us = emu.tenantIds()[0]!;
});
afterAll(() => emu?.stop());

describe('rate limits', () => {
  it('waits out a 429 Retry-After and then succeeds (one retry, not before the delay)', async () => {
    const id = [...emu.store.org(us).contacts.values()][0]!.ContactID;
    emu.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 1, times: 1 });
    emu.resetRequests();
    const started = performance.now();
    const [contact] = await xero.loaders.Contact!.byIds([id], ctx());
    const elapsed = performance.now() - started;
    expect(contact).not.toBeInstanceOf(ConnectorError);
    expect(emu.requests().map((r) => r.status)).toEqual([429, 200]);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
  });

  it("tells the minute allowance (retryable, with its Retry-After) from the day's (not retryable)", async () => {
    const tight = await startEmulator({ credentials: [TEST_TOKEN], seed: 11, scale: { contacts: 3, invoices: 3 }, limits: { perMinute: 1, perDay: 1000 } });
    const daily = await startEmulator({ credentials: [TEST_TOKEN], seed: 11, scale: { contacts: 3, invoices: 3 }, limits: { perDay: 1 } });
    try {
      const on = (e: XeroEmulatorHandle) =>
        createTestContext({ connector: xero, baseUrl: e.url, token: TEST_TOKEN, settings: { [TENANT_SETTING]: e.tenantIds()[0] }, deadlineMs: 3000 });
      await xero.loaders.Contact!.list({ first: 1, filter: {} }, on(tight));
      const minute = await xero.loaders.Contact!.list({ first: 1, filter: {} }, on(tight)).catch((e: unknown) => e);
      expect(minute).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryable: true, upstreamStatus: 429 });
      expect((minute as ConnectorError).message).toContain('60 calls per minute');
      expect((minute as ConnectorError).retryAfterMs).toBeGreaterThan(1000);
      await xero.loaders.Contact!.list({ first: 1, filter: {} }, on(daily));
      const day = await xero.loaders.Contact!.list({ first: 1, filter: {} }, on(daily)).catch((e: unknown) => e);
      expect(day).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryable: false });
      expect((day as ConnectorError).message).toContain('daily call allowance');
    } finally {
      await Promise.all([tight.stop(), daily.stop()]);
    }
  });
});

describe('reads', () => {
  it('reads 120 contacts by id in ceil(120 / 50) = 3 IDs= calls, in input order', async () => {
    const ids = [...emu.store.org(us).contacts.values()].map((c) => c.ContactID).reverse();
    emu.resetRequests();
    const slots = await xero.loaders.Contact!.byIds(ids, ctx());
    expect(emu.count('contacts.list')).toBe(3);
    expect(slots.map((s) => (s as { source: { remoteId: string } }).source.remoteId)).toEqual(ids);
  });

  it('sends the IDs= chunks of one batch read together (one round trip), never more than maxConcurrency at once', async () => {
    const ids = [...emu.store.org(us).contacts.values()].map((c) => c.ContactID);
    let inFlight = 0;
    let most = 0;
    // Counts requests between send and answer: concurrent chunks overlap, sequential ones never do.
    const counting: typeof fetch = async (input, init) => {
      most = Math.max(most, ++inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    };
    emu.resetRequests();
    const slots = await xero.loaders.Contact!.byIds(ids, ctx({ fetchImpl: counting }));
    expect(emu.count('contacts.list')).toBe(3);
    expect(slots.every((s) => !(s instanceof ConnectorError))).toBe(true);
    expect(most).toBe(3);
    expect(most).toBeLessThanOrEqual(xero.manifest.maxConcurrency!);
  });

  it('answers a batch read of invoices with line items (page=1) and an ACCPAY bill as PAYABLE', async () => {
    const invoices = [...emu.store.org(us).invoices.values()];
    const bill = invoices.find((i) => i.Type === 'ACCPAY')!;
    const [model] = (await xero.loaders.Invoice!.byIds([bill.InvoiceID], ctx())) as InvoiceModel[];
    expect(model).toMatchObject({ kind: 'PAYABLE', number: bill.InvoiceNumber });
    expect(model!.lineItems).toHaveLength(bill.lines.length);
  });

  it('lists only what changed since updatedSince (If-Modified-Since), in UpdatedDateUTC order', async () => {
    const since = new Date(Date.now() - 500).toISOString();
    const [a, b] = [...emu.store.org(us).contacts.values()].slice(5, 7);
    emu.records.update('contacts', b!.ContactID, { Name: 'Second change' });
    emu.records.update('contacts', a!.ContactID, { Name: 'Third change' });
    const page = await xero.loaders.Contact!.list({ first: 10, filter: { updatedSince: since } }, ctx());
    expect(page.nodes.map((n) => n.name)).toEqual(['Second change', 'Third change']);
    expect(page.hasNextPage).toBe(false);
  });

  it('filters invoices by contact (ContactIDs) and contacts by exact e-mail (searchTerm, then an exact match)', async () => {
    const invoice = [...emu.store.org(us).invoices.values()][0]!;
    const byContact = await xero.loaders.Invoice!.list({ first: 100, filter: { contactRemoteId: invoice.ContactID } }, ctx());
    expect(byContact.nodes.length).toBeGreaterThan(0);
    expect(byContact.nodes.every((n) => n.contactRemoteId === invoice.ContactID)).toBe(true);
    const contact = emu.store.org(us).contacts.get(invoice.ContactID)!;
    const byEmail = await xero.loaders.Contact!.list({ first: 10, filter: { email: contact.EmailAddress!.toUpperCase() } }, ctx());
    expect(byEmail.nodes.map((n) => n.source.remoteId)).toEqual([contact.ContactID]);
    const prefix = await xero.loaders.Contact!.list({ first: 10, filter: { email: contact.EmailAddress!.slice(0, 6) } }, ctx());
    expect(prefix.nodes).toEqual([]);
  });

  it('keeps cursors valid when `first` changes between pages (page size divides the offset)', async () => {
    expect(pageFor(7, 0)).toEqual({ page: 1, pageSize: 7 });
    expect(pageFor(7, 14)).toEqual({ page: 3, pageSize: 7 });
    expect(pageFor(10, 14)).toEqual({ page: 3, pageSize: 7 });
    expect(pageFor(10, 13)).toEqual({ page: 14, pageSize: 1 });
    expect(pageFor(5000, 0)).toEqual({ page: 1, pageSize: 1000 });
    const first = await xero.loaders.Invoice!.list({ first: 7, filter: {} }, ctx());
    const second = await xero.loaders.Invoice!.list({ first: 10, after: first.endCursor, filter: {} }, ctx());
    const all = await xero.loaders.Invoice!.list({ first: 60, filter: {} }, ctx());
    expect([...first.nodes, ...second.nodes].map((n) => n.source.remoteId)).toEqual(
      all.nodes.slice(0, first.nodes.length + second.nodes.length).map((n) => n.source.remoteId),
    );
    expect(all.totalCount).toBe(60);
  });

  it('refuses a connection that names no organisation', async () => {
    await expect(xero.loaders.Contact!.list({ first: 1, filter: {} }, ctx({ settings: {} }))).rejects.toMatchObject({ code: 'UPSTREAM_FORBIDDEN' });
  });
});

describe('auth.afterConnect', () => {
  it("makes one connection per organisation of the grant's auth event, with its tenant, connection id and base currency", async () => {
    const authorize = await fetch(
      `${emu.url}/identity/connect/authorize?response_type=code&client_id=app&redirect_uri=${encodeURIComponent('http://localhost/cb')}&scope=openid%20offline_access&state=s`,
      { redirect: 'manual' },
    );
    const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
    const tokens = (await (
      await fetch(`${emu.url}/connect/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('app:secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'http://localhost/cb' }).toString(),
      })
    ).json()) as Record<string, unknown>;
    const authEvent = authEventOf(tokens.access_token);
    expect(authEvent).toMatch(/^[0-9a-f-]{36}$/);
    emu.resetRequests();
    const granted = await xero.auth!.afterConnect!(
      { tokenResponse: tokens, callbackParams: {}, settings: {} },
      createTestContext({ connector: xero, baseUrl: emu.url, token: tokens.access_token as string }),
    );
    expect(emu.requests().find((r) => r.operation === 'connections.list')?.path).toBe('/connections');
    expect(granted.map((g) => g.settings[TENANT_SETTING]).sort()).toEqual([...emu.tenantIds()].sort());
    expect(granted.map((g) => g.settings[SETTINGS.baseCurrency]).sort()).toEqual(['GBP', 'USD']);
    expect(granted.every((g) => g.settings[SETTINGS.authEvent] === authEvent && g.settings[SETTINGS.connection])).toBe(true);
    expect(granted.map((g) => g.label).sort()).toEqual(['Switchboard Demo (UK)', 'Switchboard Demo (US)']);
  });

  it('reads no claim from an opaque token', () => {
    expect(authEventOf('opaque')).toBeNull();
    expect(authEventOf(`a.${Buffer.from('{"authentication_event_id":"not-a-guid"}').toString('base64url')}.c`)).toBeNull();
  });
});
