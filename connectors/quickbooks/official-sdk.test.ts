// The emulator checked with Intuit's official OAuth client (intuit-oauth: authorize URL, code
// exchange with the realmId from the callback, refresh with rotation, revocation) and with the
// community API client node-quickbooks (query with IN and an escaped apostrophe, read by id, its
// form-encoded refresh and revocation). Both talk to the emulator exactly as they talk to Intuit.
import OAuthClient from 'intuit-oauth';
import QuickBooksModule from 'node-quickbooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type QboEmulatorHandle } from './emulator/index.ts';

// The package is CommonJS with `module.exports = QuickBooks`; its typings declare it as a default export.
const QuickBooks = QuickBooksModule as unknown as typeof QuickBooksModule.default;

const APP = { clientId: 'ABofficialSdkClient000000000000000000', clientSecret: 'official-sdk-secret-000000000000' };
const REDIRECT = 'https://app.example/quickbooks/callback';

let emulator: QboEmulatorHandle;
const saved = {
  authorize: OAuthClient.authorizeEndpoint,
  token: OAuthClient.tokenEndpoint,
  revoke: OAuthClient.revokeEndpoint,
  v3: QuickBooks.V3_ENDPOINT_BASE_URL,
  qbToken: (QuickBooks as unknown as { TOKEN_URL: string }).TOKEN_URL,
  qbRevoke: (QuickBooks as unknown as { REVOKE_URL: string }).REVOKE_URL,
};

beforeAll(async () => {
  emulator = await startEmulator({
    credentials: [],
    seed: 3,
    scale: { contacts: 12, invoices: 20, orders: 4 },
    oauthClients: [{ ...APP, redirectUris: [REDIRECT] }],
  });
  QuickBooks.V3_ENDPOINT_BASE_URL = `${emulator.url}/v3/company/`;
  (QuickBooks as unknown as { TOKEN_URL: string }).TOKEN_URL = `${emulator.url}/oauth2/v1/tokens/bearer`;
  (QuickBooks as unknown as { REVOKE_URL: string }).REVOKE_URL = `${emulator.url}/v2/oauth2/tokens/revoke`;
});
afterAll(async () => {
  OAuthClient.authorizeEndpoint = saved.authorize;
  OAuthClient.tokenEndpoint = saved.token;
  OAuthClient.revokeEndpoint = saved.revoke;
  QuickBooks.V3_ENDPOINT_BASE_URL = saved.v3;
  (QuickBooks as unknown as { TOKEN_URL: string }).TOKEN_URL = saved.qbToken;
  (QuickBooks as unknown as { REVOKE_URL: string }).REVOKE_URL = saved.qbRevoke;
  await emulator?.stop();
});

function oauthClient(): OAuthClient {
  const client = new OAuthClient({ clientId: APP.clientId, clientSecret: APP.clientSecret, environment: 'sandbox', redirectUri: REDIRECT });
  client.setAuthorizeURLs({
    authorizeEndpoint: `${emulator.url}/connect/oauth2`,
    tokenEndpoint: `${emulator.url}/oauth2/v1/tokens/bearer`,
    revokeEndpoint: `${emulator.url}/v2/oauth2/tokens/revoke`,
    userInfoEndpoint: `${emulator.url}/v1/openid_connect/userinfo`,
  });
  return client;
}

/** Runs the authorize step as a browser would: the emulator approves and redirects with code, state, realmId. */
async function authorize(client: OAuthClient): Promise<string> {
  const res = await fetch(client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: 'state-123' }), { redirect: 'manual' });
  expect(res.status).toBe(302);
  return res.headers.get('location')!;
}

const call = <T>(fn: (cb: (err: unknown, data?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));

describe('intuit-oauth against the emulator', () => {
  it('exchanges the code (realmId from the callback), refreshes with rotation, and revokes the grant', async () => {
    const client = oauthClient();
    const callback = await authorize(client);
    const back = new URL(callback);
    expect(back.searchParams.get('state')).toBe('state-123');
    expect(back.searchParams.get('realmId')).toBe(emulator.realmId);

    const created = await client.createToken(callback);
    const token = created.getToken();
    expect(token).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8_726_400, realmId: emulator.realmId });
    expect(client.isAccessTokenValid()).toBe(true);

    const first = token.refresh_token!;
    await client.refresh();
    const rotated = client.getToken().refresh_token!;
    expect(rotated).not.toBe(first);
    // The old refresh token is dead the moment the new one is issued.
    await expect(client.refreshUsingToken(first)).rejects.toMatchObject({ authResponse: expect.anything() });
    const afterFailed = await oauthClient().refreshUsingToken(rotated);
    const access = afterFailed.getToken().access_token!;

    const query = await fetch(
      `${emulator.url}/v3/company/${emulator.realmId}/query?minorversion=75&query=${encodeURIComponent('select count(*) from Customer')}`,
      {
        headers: { authorization: `Bearer ${access}`, accept: 'application/json' },
      },
    );
    expect(query.status).toBe(200);
    expect(await query.json()).toMatchObject({ QueryResponse: { totalCount: expect.any(Number) } });

    // intuit-oauth revokes with a JSON body; the whole grant ends, access tokens included.
    const revoker = oauthClient();
    await revoker.revoke({ refresh_token: afterFailed.getToken().refresh_token });
    const after = await fetch(`${emulator.url}/v3/company/${emulator.realmId}/customer/1?minorversion=75`, {
      headers: { authorization: `Bearer ${access}`, accept: 'application/json' },
    });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ fault: { error: [{ code: '3200' }], type: 'AUTHENTICATION' } });
    const revokes = (emulator.oauth.grants() as Array<{ endpoint: string; contentType: string | null; error: string | null }>).filter(
      (g) => g.endpoint === 'revoke',
    );
    expect(revokes.at(-1)).toMatchObject({ error: null, contentType: expect.stringMatching(/json/) });
  });

  it('refuses a wrong client secret (401 invalid_client) and a replayed code (400 invalid_grant)', async () => {
    const client = oauthClient();
    const callback = await authorize(client);
    await client.createToken(callback);
    await expect(oauthClient().createToken(callback)).rejects.toMatchObject({ authResponse: expect.anything() });
    const wrong = new OAuthClient({ clientId: APP.clientId, clientSecret: 'nope', environment: 'sandbox', redirectUri: REDIRECT });
    const again = await authorize(client);
    await expect(wrong.createToken(again)).rejects.toBeDefined();
    const failures = (emulator.oauth.grants() as Array<{ error: string | null }>).map((g) => g.error).filter(Boolean);
    expect(failures).toEqual(expect.arrayContaining(['invalid_grant', 'invalid_client']));
  });
});

describe('node-quickbooks against the emulator', () => {
  it('queries with IN and an escaped apostrophe, reads by id, refreshes and revokes with forms', async () => {
    const client = oauthClient();
    const token = (await client.createToken(await authorize(client))).getToken();
    const qbo = new QuickBooks(APP.clientId, APP.clientSecret, token.access_token!, false, emulator.realmId, true, false, '75', '2.0', token.refresh_token!);

    const found = await call<{ QueryResponse: { Customer?: Array<{ Id: string }> } }>((cb) =>
      qbo.findCustomers([{ field: 'Id', value: ['1', '3', '999'], operator: 'IN' }], cb as never),
    );
    expect(found.QueryResponse.Customer?.map((c) => c.Id)).toEqual(['1', '3']);

    const customer = emulator.store.customers.get('2')!;
    customer.DisplayName = "O'Brien & Sons";
    const quoted = await call<{ QueryResponse: { Customer?: Array<{ Id: string }> } }>((cb) =>
      qbo.findCustomers({ DisplayName: "O'Brien & Sons" }, cb as never),
    );
    expect(quoted.QueryResponse.Customer?.map((c) => c.Id)).toEqual(['2']);

    const invoice = await call<{ Id: string; TotalAmt: number }>((cb) => qbo.getInvoice('1001', cb as never));
    expect(invoice).toMatchObject({ Id: '1001', TotalAmt: expect.any(Number) });
    // node-quickbooks pins minorversion 75 by default, like this connector.
    expect(emulator.minorVersions().every((v) => v === '75')).toBe(true);

    const refreshed = await call<{ refresh_token: string }>((cb) => qbo.refreshAccessToken(cb as never));
    expect(refreshed.refresh_token).not.toBe(token.refresh_token);
    const access = qbo.token;
    await call((cb) => qbo.revokeAccess(true, cb as never));
    const revokes = (emulator.oauth.grants() as Array<{ endpoint: string; contentType: string | null; error: string | null }>).filter(
      (g) => g.endpoint === 'revoke',
    );
    expect(revokes.at(-1)).toMatchObject({ error: null, contentType: expect.stringMatching(/x-www-form-urlencoded/) });
    const after = await fetch(`${emulator.url}/v3/company/${emulator.realmId}/invoice/1001?minorversion=75`, {
      headers: { authorization: `Bearer ${access}`, accept: 'application/json' },
    });
    expect(after.status).toBe(401);
  });
});
