// The emulator against the official-in-practice client, jsforce (pinned 3.10.16, the last release
// for Node 20): queries with paging, queryAll with deleted records, sObject Collections retrieve,
// the errors array, the limits header, and the OAuth web-server flow with PKCE, refresh and
// revocation — each as jsforce sends and parses them.
import { createHash, randomBytes } from 'node:crypto';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type SalesforceEmulatorHandle } from './emulator/index.ts';
import { SESSION_TOKEN } from './test-support.ts';

const VERSION = '66.0';
const client = { clientId: '3MVG9test.consumer.key', clientSecret: 'test-consumer-secret', redirectUris: ['http://127.0.0.1:9/callback'] };
let em: SalesforceEmulatorHandle;

beforeAll(async () => {
  em = await startEmulator({ credentials: [SESSION_TOKEN], seed: 3, scale: { contacts: 30, orders: 5 }, queryBatchSize: 10, oauthClients: [client] });
});
afterAll(async () => {
  await em?.stop();
});

const connection = (accessToken = SESSION_TOKEN) => new jsforce.Connection({ instanceUrl: em.url, accessToken, version: VERSION });

describe('salesforce emulator with jsforce', () => {
  it('answers a query in batches that jsforce follows through nextRecordsUrl', async () => {
    const conn = connection();
    const first = await conn.query<{ Id: string; Email: string }>('SELECT Id, Email FROM Contact ORDER BY Id');
    expect(first.totalSize).toBe(30);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(10);
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v66\.0\/query\/\w+-10$/);
    const second = await conn.queryMore<{ Id: string }>(first.nextRecordsUrl as string);
    expect(second.records).toHaveLength(10);
    const all = await conn.query<{ Id: string }>('SELECT Id FROM Contact').run({ autoFetch: true, maxFetch: 100 });
    expect(all.records ?? []).toHaveLength(30);
    expect(first.records[0]).toMatchObject({
      attributes: { type: 'Contact', url: expect.stringMatching(/^\/services\/data\/v66\.0\/sobjects\/Contact\/003/) },
    });
  });

  it('retrieves by ids through sObject Collections (POST), null for a missing or malformed id', async () => {
    const conn = connection();
    const ids = [...em.store.records.Contact.keys()].slice(0, 2);
    const records = (await conn
      .sobject('Contact')
      .retrieve([ids[0] as string, '0035g00000ZZZZZAAA', 'not-an-id', ids[1] as string], { fields: ['Id', 'LastName'] })) as unknown as Array<{
      Id: string;
    } | null>;
    expect(records.map((r) => r?.Id ?? null)).toEqual([ids[0], null, null, ids[1]]);
  });

  it('shows deleted records to queryAll (scanAll) only', async () => {
    const conn = connection();
    const id = [...em.store.records.Contact.keys()][5] as string;
    await fetch(`${em.url}/__emulator/records/Contact/${id}`, { method: 'DELETE' });
    const soql = `SELECT Id, IsDeleted FROM Contact WHERE Id = '${id}'`;
    expect((await conn.query(soql)).records).toHaveLength(0);
    const all = await conn.query<{ Id: string; IsDeleted: boolean }>(soql, { scanAll: true });
    expect(all.records).toEqual([expect.objectContaining({ Id: id, IsDeleted: true })]);
  });

  it('refuses what Salesforce refuses, in its errors array, which jsforce turns into errorCode', async () => {
    const conn = connection();
    await expect(conn.query('SELECT Id, Nope FROM Contact')).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
    await expect(conn.query('SELECT Id FROM Widget')).rejects.toMatchObject({ errorCode: 'INVALID_TYPE' });
    await expect(conn.query("SELECT Id FROM Contact WHERE SystemModstamp > '2026-01-01T00:00:00Z'")).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
    await expect(conn.query("SELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b' AND LastName = 'c'")).rejects.toMatchObject({
      errorCode: 'MALFORMED_QUERY',
    });
    await expect(conn.query("SELECT Id FROM Contact WHERE Email = 'it\\'s")).rejects.toMatchObject({ errorCode: 'MALFORMED_QUERY' });
    await expect(conn.query("SELECT Id FROM Contact WHERE Email = 'a\\qb'")).rejects.toMatchObject({ errorCode: 'MALFORMED_QUERY' });
    await expect(connection('00Dnot!valid').query('SELECT Id FROM Contact')).rejects.toMatchObject({ errorCode: 'INVALID_SESSION_ID' });
  });

  it('reports the daily allocation on every answer and refuses past it with 403 REQUEST_LIMIT_EXCEEDED', async () => {
    const res = await fetch(`${em.url}/services/data/v66.0/query?q=${encodeURIComponent('SELECT Id FROM Contact LIMIT 1')}`, {
      headers: { authorization: `Bearer ${SESSION_TOKEN}` },
    });
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/15000$/);
    em.setApiUsage(15_000);
    try {
      await expect(connection().query('SELECT Id FROM Contact')).rejects.toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED' });
    } finally {
      em.setApiUsage(0);
    }
  });

  it('runs the OAuth web-server flow with PKCE, refreshes and revokes like Salesforce', async () => {
    const oauth2 = new jsforce.OAuth2({
      loginUrl: em.url,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      redirectUri: client.redirectUris[0] as string,
    });
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = new URL(
      oauth2.getAuthorizationUrl({ scope: 'api refresh_token', state: 's1', code_challenge: challenge, code_challenge_method: 'S256' } as never),
    );
    const redirect = await fetch(authorize, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const callback = new URL(redirect.headers.get('location') as string);
    expect(callback.searchParams.get('state')).toBe('s1');
    const code = callback.searchParams.get('code') as string;

    // Without the verifier the code is refused (and burnt).
    const noVerifier = await fetch(`${em.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uri: client.redirectUris[0] as string,
      }),
    });
    expect(noVerifier.status).toBe(400);
    expect(await noVerifier.json()).toEqual({ error: 'invalid_grant', error_description: 'invalid code verifier' });

    const again = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location') as string).searchParams.get('code') as string;
    const tokens = await oauth2.requestToken(again, { code_verifier: verifier });
    expect(tokens).toMatchObject({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      instance_url: em.url,
      token_type: 'Bearer',
      id: expect.any(String),
      issued_at: expect.any(String),
      signature: expect.any(String),
    });
    expect(tokens).not.toHaveProperty('expires_in');
    const conn = new jsforce.Connection({
      oauth2,
      instanceUrl: tokens.instance_url,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      version: VERSION,
    });
    expect((await conn.query('SELECT Id FROM Contact LIMIT 1')).records).toHaveLength(1);

    const refreshed = await oauth2.refreshToken(tokens.refresh_token as string);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed).not.toHaveProperty('refresh_token');

    await oauth2.revokeToken(tokens.refresh_token as string);
    await expect(oauth2.refreshToken(tokens.refresh_token as string)).rejects.toThrow(/invalid_grant|expired/);
  });
});
