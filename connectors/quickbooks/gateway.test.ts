// QuickBooks through the real gateway (createGateway, real Redis): the read-path benchmark
// (invoices(first: 100) { contact { name } } upstream calls cold and warm against the naive 1 + N),
// tenant isolation between two companies, signed notifications in both formats from the emulator
// through POST /webhooks/quickbooks/<connection> to graphql-ws subscribers, and the OAuth connect
// flow end to end: realmId from the callback and the home currency read by auth.afterConnect, the
// new connection serving data with its OAuth token, a 401 AuthenticationFailed renewing the token
// (rotating the refresh token), and disconnect revoking the grant at Intuit.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/callers/tenants.ts';
import type { TenantConfig } from '../../src/config.ts';
import { encodeId } from '../../src/ids.ts';
import { cookieBrowser, freePort, graphql, startConnect, startStack, subscribe, type Stack } from '../../test/helpers.ts';
import { EMULATOR_REALM_ID, startEmulator, type QboEmulatorHandle } from './emulator/index.ts';
import { HOME_CURRENCY_SETTING } from './index.ts';
import { REALM_SETTING, SIGNATURE_HEADER } from './webhooks.ts';

const BOOKS_KEY = `sb_test_books_${randomUUID()}`;
const OTHER_KEY = `sb_test_otherbooks_${randomUUID()}`;
const TOKEN = 'qbo-gateway-test-token-000000000000';
const VERIFIER = 'qbo-gateway-verifier-token';
const APP = { clientId: 'ABgatewayTestClient0000000000000000', clientSecret: 'gateway-test-secret-0000000000000' };

const INVOICES_WITH_CONTACTS = /* GraphQL */ `
  {
    invoices(first: 100, filter: { provider: "quickbooks" }) {
      nodes {
        id
        number
        status
        balance {
          amount
          currency
        }
        payments {
          amount {
            amount
          }
          date
          method
        }
        contact {
          name
        }
        source {
          connectionId
        }
      }
    }
  }
`;
type InvoicesResult = {
  invoices: {
    nodes: Array<{
      id: string;
      number: string;
      status: string;
      balance: { amount: string; currency: string } | null;
      payments: Array<{ amount: { amount: string } }> | null;
      contact: { name: string | null } | null;
      source: { connectionId: string };
    }>;
  };
};
type InvoiceChange = {
  invoiceChanged: {
    type: string;
    id: string;
    invoice: { status: string; balance: { amount: string } | null; payments: Array<{ amount: { amount: string } }> | null } | null;
  };
};
type ContactChange = { contactChanged: { type: string; id: string; contact: { name: string | null } | null } };

function tenant(id: string, apiKey: string, emulator: QboEmulatorHandle): TenantConfig {
  return {
    id,
    apiKeys: [{ id: `${id}-key`, sha256: hashApiKey(apiKey) }],
    connections: [
      {
        id: `${id}-qbo`,
        provider: 'quickbooks',
        baseUrl: emulator.url,
        credentials: { type: 'static', token: TOKEN },
        settings: { [REALM_SETTING]: emulator.realmId, [HOME_CURRENCY_SETTING]: 'USD' },
        webhookSecret: { type: 'static', token: VERIFIER },
      },
    ],
  };
}

describe('QuickBooks through the gateway', () => {
  let books: QboEmulatorHandle;
  let other: QboEmulatorHandle;
  let stack: Stack;
  let callback: string;
  const q = <T>(apiKey: string, query: string, variables?: Record<string, unknown>) => graphql<T>(stack.gateway.url, apiKey, query, variables);

  beforeAll(async () => {
    books = await startEmulator({ credentials: [TOKEN], seed: 5, scale: { contacts: 40, invoices: 150, orders: 5 }, rateLimitPerSecond: 1000 });
    other = await startEmulator({ credentials: [TOKEN], seed: 6, realmId: '4620816365111222', scale: { contacts: 5, invoices: 12, orders: 2 } });
    const port = await freePort();
    callback = `http://127.0.0.1:${port}/connect/quickbooks/callback`;
    stack = await startStack({
      scale: { contacts: 5, invoices: 5, orders: 5 },
      config: { port, allowInsecureOAuth: true },
      oauthClients: { quickbooks: [{ ...APP, redirectUris: [callback] }] },
      extraTenants: () => [tenant('books', BOOKS_KEY, books), tenant('otherbooks', OTHER_KEY, other)],
    });
    const emulator = stack.emulators.get('quickbooks')!;
    stack.gateway.services.config.providers.quickbooks = {
      baseUrl: emulator.url,
      oauth: {
        clientId: APP.clientId,
        clientSecret: { type: 'static', token: APP.clientSecret },
        authorizationUrl: `${emulator.url}/connect/oauth2`,
        tokenUrl: `${emulator.url}/oauth2/v1/tokens/bearer`,
        revocationUrl: `${emulator.url}/v2/oauth2/tokens/revoke`,
      },
    };
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([books?.stop(), other?.stop()]);
  });

  it('answers invoices(first: 100) { contact { name } } with 3 upstream calls instead of 1 + N', async () => {
    books.resetRequests();
    const started = performance.now();
    const cold = await q<InvoicesResult>(BOOKS_KEY, INVOICES_WITH_CONTACTS);
    const coldMs = performance.now() - started;
    expect(cold.errors).toBeUndefined();
    const nodes = cold.data!.invoices.nodes;
    expect(nodes).toHaveLength(100);
    expect(nodes.every((n) => n.contact?.name)).toBe(true);
    expect(nodes.some((n) => n.status === 'PARTIALLY_PAID' && (n.payments?.length ?? 0) > 0)).toBe(true);
    // One invoices page, one query of the payments they link, one Id IN read of their customers.
    const coldCalls = books.count();
    expect(coldCalls).toBe(3);
    expect(books.requests().every((r) => r.operation === 'query')).toBe(true);
    const naive = 1 + nodes.length;
    books.resetRequests();
    const warmStarted = performance.now();
    const warm = await q<InvoicesResult>(BOOKS_KEY, INVOICES_WITH_CONTACTS);
    const warmMs = performance.now() - warmStarted;
    expect(warm.data!.invoices.nodes.map((n) => n.id)).toEqual(nodes.map((n) => n.id));
    const warmCalls = books.count();
    expect(warmCalls).toBeLessThanOrEqual(2);
    console.info(
      `quickbooks invoices(first:100){contact{name}}: ${coldCalls} upstream calls cold (${coldMs.toFixed(0)} ms), ${warmCalls} warm (${warmMs.toFixed(0)} ms); naive 1 + N = ${naive}`,
    );
  });

  it("keeps companies apart: each tenant sees only its own books and cannot read the other's by id", async () => {
    const mine = await q<InvoicesResult>(OTHER_KEY, INVOICES_WITH_CONTACTS);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.invoices.nodes).toHaveLength(12);
    expect(new Set(mine.data!.invoices.nodes.map((n) => n.source.connectionId))).toEqual(new Set(['otherbooks-qbo']));
    const stolen = await q<{ node: unknown }>(OTHER_KEY, 'query ($id: ID!) { node(id: $id) { id } }', { id: encodeId('Invoice', 'books-qbo', '1001') });
    expect(stolen.data?.node ?? null).toBeNull();
  });

  it('turns a payment into invoiceChanged (PARTIALLY_PAID, new balance, the payment) for the tenant only, and refuses a bad signature', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    books.setWebhook({ url: `${base}/webhooks/quickbooks/books-qbo`, secret: VERIFIER });
    const cursor = async (key: string) => (await q<{ changeCursor: string }>(key, '{ changeCursor }')).data!.changeCursor;
    const sub =
      'subscription ($after: String) { invoiceChanged(after: $after, filter: { provider: "quickbooks" }) { type id invoice { status balance { amount } payments { amount { amount } } } } }';
    const mine = await subscribe<InvoiceChange>(stack.gateway.url, BOOKS_KEY, sub, { after: await cursor(BOOKS_KEY) });
    const theirs = await subscribe<InvoiceChange>(stack.gateway.url, OTHER_KEY, sub, { after: await cursor(OTHER_KEY) });
    try {
      const invoice = [...books.store.invoices.values()].find((i) => (i.LinkedTxn ?? []).length === 0 && (i.Balance ?? 0) > 10)!;
      const balanceCents = Math.round(invoice.Balance! * 100);
      books.records.create('payments', { invoiceId: invoice.Id, amount: 10 });
      const [event] = await mine.waitFor(1);
      expect(event!.invoiceChanged).toMatchObject({
        type: 'UPDATED',
        id: encodeId('Invoice', 'books-qbo', invoice.Id),
        invoice: { status: 'PARTIALLY_PAID', balance: { amount: ((balanceCents - 1000) / 100).toFixed(2) }, payments: [{ amount: { amount: '10.00' } }] },
      });
      await books.waitForIdle();
      expect(books.deliveries().at(-1)).toMatchObject({ status: 200, changes: [{ name: 'Payment' }, { name: 'Invoice', operation: 'Update' }] });
      expect(theirs.received).toHaveLength(0);

      const body = JSON.stringify({ eventNotifications: [{ realmId: EMULATOR_REALM_ID, dataChangeEvent: { entities: [] } }] });
      const refused = await fetch(`${base}/webhooks/quickbooks/books-qbo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: 'AAAA' },
        body,
      });
      expect(refused.status).toBe(401);
    } finally {
      await mine.close();
      await theirs.close();
      books.setWebhook(null);
    }
  });

  it('takes the CloudEvents format too (customer renamed → contactChanged)', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    books.setWebhookFormat('cloudevents');
    books.setWebhook({ url: `${base}/webhooks/quickbooks/books-qbo`, secret: VERIFIER });
    const after = (await q<{ changeCursor: string }>(BOOKS_KEY, '{ changeCursor }')).data!.changeCursor;
    const sub = 'subscription ($after: String) { contactChanged(after: $after, filter: { provider: "quickbooks" }) { type id contact { name } } }';
    const mine = await subscribe<ContactChange>(stack.gateway.url, BOOKS_KEY, sub, { after });
    try {
      const name = `Renamed ${randomUUID().slice(0, 6)}`;
      books.records.update('customers', '3', { DisplayName: name });
      const [event] = await mine.waitFor(1);
      expect(event!.contactChanged).toMatchObject({ type: 'UPDATED', id: encodeId('Contact', 'books-qbo', '3'), contact: { name } });
    } finally {
      await mine.close();
      books.setWebhook(null);
      books.setWebhookFormat('legacy');
    }
  });

  it('connects through OAuth: realmId from the callback, home currency read after connecting, data served, disconnect revokes at Intuit', async () => {
    const emulator = stack.emulators.get('quickbooks') as QboEmulatorHandle;
    const browser = cookieBrowser();
    const session = await stack.query<{ createConnectSession: { url: string } }>('mutation { createConnectSession(connector: "quickbooks") { url } }');
    expect(session.errors).toBeUndefined();
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    expect(start.status).toBe(303);
    const consent = await browser(start.headers.get('location')!);
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    expect(back.searchParams.get('realmId')).toBe(emulator.realmId);
    const done = await browser(back);
    expect(done.status).toBe(200);
    const { connectionId } = (await done.json()) as { connectionId: string };
    const managed = await stack.gateway.services.connections.get(connectionId);
    expect(managed?.settings).toMatchObject({ [REALM_SETTING]: emulator.realmId, [HOME_CURRENCY_SETTING]: 'USD' });

    emulator.resetRequests();
    const read = await stack.query<{ node: { id: string; name: string | null } | null }>('query ($id: ID!) { node(id: $id) { id ... on Contact { name } } }', {
      id: encodeId('Contact', connectionId, '1'),
    });
    expect(read.errors).toBeUndefined();
    expect(read.data!.node?.name).toBeTruthy();
    // The call carried the OAuth access token, not the stack's static one.
    expect(emulator.requests().some((r) => r.credential !== null && r.credential !== 'qbo_test_access_token_switchboard_0000000000')).toBe(true);

    // An expired access token: QuickBooks answers 401 AuthenticationFailed (3200); the gateway
    // renews with the refresh token (which rotates) and re-sends once.
    emulator.oauth.configure({ expireAllAccessTokens: true });
    const refreshesBefore = emulator.oauth.book.successfulGrants('refresh_token');
    const renewed = await stack.query<{ node: { id: string; name: string | null } | null }>(
      'query ($id: ID!) { node(id: $id) { id ... on Contact { name } } }',
      {
        id: encodeId('Contact', connectionId, '2'),
      },
    );
    expect(renewed.errors).toBeUndefined();
    expect(renewed.data!.node?.name).toBeTruthy();
    expect(emulator.oauth.book.successfulGrants('refresh_token')).toBe(refreshesBefore + 1);
    expect(emulator.requests().some((r) => r.status === 401)).toBe(true);

    const disconnected = await stack.query<{ disconnect: { revokedAtProvider: boolean } }>(
      'mutation ($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider } }',
      { id: connectionId },
    );
    expect(disconnected.errors).toBeUndefined();
    expect(disconnected.data!.disconnect.revokedAtProvider).toBe(true);
    const revokes = (emulator.oauth.grants() as Array<{ endpoint: string; error: string | null }>).filter((g) => g.endpoint === 'revoke');
    expect(revokes.at(-1)).toMatchObject({ error: null });
    expect(emulator.oauth.book.state().liveRefreshTokens).toBe(0);
  });
});
