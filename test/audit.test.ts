// The audit trail (issue 13): connection, API-key and connect-flow changes are recorded per tenant
// with actor, request id and outcome; auditLog needs admin, pages newest first and filters; the
// CLI exports the same entries; no secret of the flows ever reaches the stream.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord } from '../src/accounts/token-manager.ts';
import { HUBSPOT_APP, startAuthStack, type AuthStack } from './auth-support.ts';
import { REDIS_URL, TOKENS, cookieBrowser, startConnect } from './helpers.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
let s: AuthStack;

beforeAll(async () => {
  s = await startAuthStack();
});
afterAll(async () => {
  await s?.stack.stop();
});

interface Entry {
  id: string;
  at: string;
  action: string;
  actor: string;
  requestId: string | null;
  outcome: string;
  target: string | null;
  detail: Record<string, unknown>;
}
const AUDIT = `query($first: Int, $after: String, $filter: AuditLogFilter) { auditLog(first: $first, after: $after, filter: $filter) { entries { id at action actor requestId outcome target detail } endCursor } }`;

describe('audit log', () => {
  const secrets: string[] = [];
  let stripeConnection = '';
  let oauthConnection = '';
  let keyId = '';

  beforeAll(async () => {
    const stripe = await s.beta<{ connectWithApiKey: { id: string } }>(`mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id } }`, {
      k: TOKENS.stripe,
    });
    stripeConnection = stripe.data!.connectWithApiKey.id;
    const refused = await s.beta(`mutation { connectWithApiKey(connector: "stripe", apiKey: "sk_test_refusedKey00000000") { id } }`);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const key = await s.beta<{ createApiKey: { key: string; apiKey: { id: string } } }>(
      `mutation { createApiKey(scopes: [read], label: "ci") { key apiKey { id } } }`,
    );
    keyId = key.data!.createApiKey.apiKey.id;
    await s.beta(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: keyId });

    const browser = cookieBrowser();
    const made = await s.beta<{ createConnectSession: { url: string } }>(`mutation { createConnectSession(connector: "hubspot") { url } }`);
    const started = await startConnect(browser, made.data!.createConnectSession.url);
    const consent = await browser(started.headers.get('location')!);
    const done = await browser(consent.headers.get('location')!);
    oauthConnection = ((await done.json()) as { connectionId: string }).connectionId;
    const record = (await s.stack.gateway.services.vault.get<TokenRecord>('beta', oauthConnection))!;

    await s.beta(`mutation($id: ID!) { setConnectionEnabled(connectionId: $id, enabled: false) { id } }`, { id: oauthConnection });
    await s.beta(`mutation($id: ID!) { disconnect(connectionId: $id) { connectionId } }`, { id: oauthConnection });
    secrets.push(
      TOKENS.stripe,
      'sk_test_refusedKey00000000',
      key.data!.createApiKey.key,
      record.accessToken,
      record.refreshToken,
      HUBSPOT_APP.clientSecret,
      s.betaKey,
    );
  });

  it('records each change with actor, request id, target and outcome, newest first', async () => {
    const res = await s.beta<{ auditLog: { entries: Entry[] } }>(AUDIT, { first: 50 });
    expect(res.errors).toBeUndefined();
    const entries = res.data!.auditLog.entries;
    expect(entries.map((e) => [e.action, e.outcome, e.target])).toEqual([
      ['connection.disconnected', 'SUCCESS', oauthConnection],
      ['connection.disabled', 'SUCCESS', oauthConnection],
      ['connection.connected', 'SUCCESS', oauthConnection],
      ['apiKey.revoked', 'SUCCESS', keyId],
      ['apiKey.created', 'SUCCESS', keyId],
      ['connection.created', 'FAILURE', null],
      ['connection.created', 'SUCCESS', stripeConnection],
    ]);
    // Every one by beta's tenants-file admin key (the connect flow: by whoever created the link).
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['key:b1']));
    for (const e of entries) expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries.find((e) => e.action === 'apiKey.created')!.detail).toMatchObject({ scopes: ['read'], expiresAt: expect.any(String) });
    expect(entries.find((e) => e.action === 'connection.connected')!.detail).toMatchObject({ provider: 'hubspot' });
  });

  it('pages with after, filters by action, and needs the admin scope; other tenants see none of it', async () => {
    const first = await s.beta<{ auditLog: { entries: Entry[]; endCursor: string } }>(AUDIT, { first: 3 });
    expect(first.data!.auditLog.entries).toHaveLength(3);
    const second = await s.beta<{ auditLog: { entries: Entry[]; endCursor: string | null } }>(AUDIT, { first: 10, after: first.data!.auditLog.endCursor });
    expect(second.data!.auditLog.entries.map((e) => e.action)).toEqual(['apiKey.revoked', 'apiKey.created', 'connection.created', 'connection.created']);
    expect(second.data!.auditLog.endCursor).toBeNull();
    const keys = await s.beta<{ auditLog: { entries: Entry[] } }>(AUDIT, { filter: { actions: ['apiKey.created', 'apiKey.revoked'] } });
    expect(keys.data!.auditLog.entries.map((e) => e.action)).toEqual(['apiKey.revoked', 'apiKey.created']);
    expect((await s.beta(AUDIT, { after: 'not-a-cursor' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const reader = await s.stack.query(AUDIT, {}, s.readOnlyKey);
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const acme = await s.stack.query<{ auditLog: { entries: Entry[] } }>(AUDIT, {});
    expect(acme.data!.auditLog.entries).toEqual([]);
  });

  it('holds no secret: every token, key and client secret of these flows is absent from the stream', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const rows = await redis.xrange(`${s.stack.gateway.services.config.keyPrefix}:audit:beta`, '-', '+');
      expect(rows.length).toBe(7);
      const text = JSON.stringify(rows);
      for (const secret of secrets) expect(text).not.toContain(secret);
    } finally {
      redis.disconnect();
    }
  });

  it('npm run audit -- export writes the same entries, oldest first, as JSON lines', async () => {
    const env = { ...process.env, REDIS_URL, SWITCHBOARD_KEY_PREFIX: s.stack.gateway.services.config.keyPrefix };
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/audit/cli.ts', 'export', '--tenant', 'beta'],
        { cwd: REPO, env, timeout: 90_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(lines.map((e) => e.action)).toEqual([
      'connection.created',
      'connection.created',
      'apiKey.created',
      'apiKey.revoked',
      'connection.connected',
      'connection.disabled',
      'connection.disconnected',
    ]);
    for (const secret of secrets) expect(out.stdout).not.toContain(secret);
  }, 120_000);
});
