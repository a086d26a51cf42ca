// Refresh stampede across two real OS processes: this test process and a child started with
// `node --import tsx src/accounts/testing/refresh-worker.ts`, each with its own Redis connections,
// vault and TokenManager, sharing only Redis (vault records, lock and fence keys) and the HubSpot
// emulator's token endpoint. 25 + 25 concurrent accessToken() calls on an expired credential must
// cause exactly 1 refresh_token grant, hand all 50 callers the same new token and leave it in the
// vault; with rotating refresh tokens the rotated one is stored and the old one is dead.
// (token-manager.test.ts covers the same lock with two TokenManagers inside one process.)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type HubSpotEmulatorHandle } from '../../connectors/hubspot/emulator/index.ts';
import type { WorkerConfig, WorkerMessage, WorkerResult } from './testing/refresh-worker.ts';
import { emulatorOAuthAdmin, emulatorTokens } from './testing/emulator-oauth.ts';
import { CredentialVault, createVaultStore, parseMasterKeys, type VaultStore } from './vault.ts';
import { TokenManager, type OAuthClientConfig, type TokenRecord } from './token-manager.ts';
import { REDIS_URL } from '../../test/test-redis.ts';

const RUN = `tmproc-${randomUUID().slice(0, 8)}`;
const VAULT_NAMESPACE = `${RUN}:vault`;
const TOKEN_PREFIX = `${RUN}:token`;
const APP = { clientId: 'tm-proc-client', clientSecret: 'tm-proc-secret', redirectUris: ['http://127.0.0.1:9/callback'] };
const TENANT = 'acme';
const PER_PROCESS = 25;
/** Both processes parse this same SWITCHBOARD_MASTER_KEYS value (the child gets it in its env). */
const MASTER_KEYS = `k1:${randomBytes(32).toString('base64')}`;
const keyring = parseMasterKeys(MASTER_KEYS, undefined);
const WORKER = fileURLToPath(new URL('./testing/refresh-worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let em: HubSpotEmulatorHandle;
let oauthClient: OAuthClientConfig;
let store: VaultStore;
let vault: CredentialVault;
let redis: Redis;
const workers: ChildProcess[] = [];

interface Worker {
  ready: Promise<void>;
  result: Promise<WorkerResult>;
  exitCode: Promise<number | null>;
  go(): void;
}

/** Spawns the child; it connects to Redis, says ready, and waits for "go" on stdin. */
function startWorker(connectionId: string): Worker {
  const config: WorkerConfig = {
    redisUrl: REDIS_URL,
    vaultNamespace: VAULT_NAMESPACE,
    tokenKeyPrefix: TOKEN_PREFIX,
    tokenEndpoint: oauthClient.tokenEndpoint,
    clientId: APP.clientId,
    clientSecret: APP.clientSecret,
    tenantId: TENANT,
    connectionId,
    callers: PER_PROCESS,
    waitTimeoutMs: 5_000,
    timeoutMs: 20_000,
  };
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHBOARD_MASTER_KEYS: MASTER_KEYS, REFRESH_WORKER_CONFIG: JSON.stringify(config) };
  delete env.SWITCHBOARD_MASTER_KEY_ID;
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  workers.push(child);
  child.stdin!.on('error', () => undefined); // EPIPE if it died; the exit is reported below
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-10_000)));
  // 'close', not 'exit': by then stdout is drained, so a result line is never overtaken by the exit.
  const exitCode = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const died = (what: string) =>
    new Promise<never>((_, reject) => {
      child.once('error', reject);
      void exitCode.then((code) => reject(new Error(`refresh worker exited (${code ?? child.signalCode}) before ${what}:\n${stderr}`)));
    });
  const messages = createInterface({ input: child.stdout! });
  const message = <T extends WorkerMessage['type']>(type: T) =>
    new Promise<Extract<WorkerMessage, { type: T }>>((resolve) =>
      messages.on('line', (line) => {
        let m: WorkerMessage | undefined;
        try {
          m = JSON.parse(line) as WorkerMessage;
        } catch {
          return; // not ours
        }
        if (m.type === type) resolve(m as Extract<WorkerMessage, { type: T }>);
      }),
    );
  const ready = Promise.race([message('ready'), died('it was ready')]).then(() => undefined);
  const result = Promise.race([message('result'), died('it sent its result')]);
  ready.catch(() => undefined);
  result.catch(() => undefined);
  return { ready, result, exitCode, go: () => void child.stdin!.end('go\n') };
}

const emulatorAdmin = (body: unknown) => emulatorOAuthAdmin(em.url, body);
const connect = () => emulatorTokens(em.url, APP);

/** Connects and stores the credential in the vault as already expired: every caller must refresh. */
async function storeExpired(connectionId: string): Promise<TokenRecord> {
  const t = await connect();
  await emulatorAdmin({ expireAllAccessTokens: true });
  const record: TokenRecord = {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    expiresAt: Date.now() - 1000,
    scopes: ['crm.objects.contacts.read'],
  };
  await vault.put(TENANT, connectionId, record);
  return record;
}

const apiStatus = async (accessToken: string) =>
  (await fetch(`${em.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

const refreshGrant = (refreshToken: string) =>
  fetch(oauthClient.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: refreshToken }),
  });

/**
 * The stampede: the child is ready (connected, waiting), the credential is expired; "go" is
 * written to the child and this process's 25 calls start in the same tick.
 */
async function stampede(connectionId: string) {
  const worker = startWorker(connectionId);
  const [old] = await Promise.all([storeExpired(connectionId), worker.ready]);
  let parentRequests = 0;
  const manager = new TokenManager({
    vault,
    redis,
    keyPrefix: TOKEN_PREFIX,
    waitTimeoutMs: 5_000,
    fetch: ((url: string, init: RequestInit) => {
      parentRequests++;
      return fetch(url, init);
    }) as never,
  });
  em.oauth.resetGrants();
  em.setLatency(200); // the refresh takes ≥ 200 ms: the child's callers start while it is in flight
  worker.go();
  const parent = await Promise.all(Array.from({ length: PER_PROCESS }, () => manager.accessToken(TENANT, connectionId, oauthClient)));
  const child = await worker.result;
  em.setLatency(0);
  expect(await worker.exitCode).toBe(0);
  return { old, parent, child, parentRequests, manager };
}

beforeAll(async () => {
  em = await startEmulator({ credentials: ['pat-static'], scale: { contacts: 2, invoices: 1, orders: 1 }, oauth: { clients: [APP] } });
  oauthClient = { tokenEndpoint: `${em.url}/oauth/v1/token`, clientId: APP.clientId, clientSecret: APP.clientSecret, allowInsecureRequests: true };
  store = await createVaultStore({ redisUrl: REDIS_URL, namespace: VAULT_NAMESPACE });
  vault = new CredentialVault({ keyv: store.keyv, keyring });
  redis = new Redis(REDIS_URL);
});

afterEach(async () => {
  em.setLatency(0);
  await emulatorAdmin({ rotateRefreshTokens: false });
});

afterAll(async () => {
  await Promise.all(
    workers.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }),
  );
  if (redis) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `*${RUN}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  await store?.close();
  await em?.stop();
});

describe('TokenManager refresh stampede across two OS processes', () => {
  it('50 concurrent callers (25 here, 25 in a child process) on an expired token cause exactly 1 refresh', async () => {
    const { old, parent, child, parentRequests, manager } = await stampede('xproc');

    expect(child.errors).toEqual([]);
    expect(child.tokens).toHaveLength(PER_PROCESS);
    const all = [...parent, ...child.tokens];
    expect(all).toHaveLength(2 * PER_PROCESS);
    expect(new Set(all).size).toBe(1);
    const token = parent[0]!;
    expect(token).not.toBe(old.accessToken);
    // The child's callers really raced: the first record they saw was still the expired one.
    expect(child.firstRead).toEqual({ accessToken: old.accessToken, stale: true });

    expect(em.oauth.successfulGrants('refresh_token')).toBe(1);
    expect(em.oauth.grants().map((g) => [g.grantType, g.error])).toEqual([['refresh_token', null]]);
    expect(parentRequests + child.tokenRequests).toBe(1);

    const stored = (await vault.get<TokenRecord>(TENANT, 'xproc'))!;
    expect(stored.accessToken).toBe(token);
    expect(stored.refreshToken).toBe(old.refreshToken); // not rotated
    expect(stored.status).toBe('ACTIVE');
    expect(Number(stored.expiresAt)).toBeGreaterThan(Date.now() + 25 * 60_000);
    expect(await redis.exists(manager.lockKey(TENANT, 'xproc'))).toBe(0); // released
    expect(await apiStatus(token)).toBe(200);
    expect(await apiStatus(old.accessToken)).toBe(401);
  });

  it('with rotating refresh tokens: 1 refresh, the rotated refresh token is stored, the old one is dead', async () => {
    await emulatorAdmin({ rotateRefreshTokens: true });
    const { old, parent, child, parentRequests } = await stampede('xproc-rotating');

    expect(child.errors).toEqual([]);
    const all = [...parent, ...child.tokens];
    expect(all).toHaveLength(2 * PER_PROCESS);
    expect(new Set(all).size).toBe(1);
    expect(parent[0]).not.toBe(old.accessToken);
    expect(child.firstRead).toEqual({ accessToken: old.accessToken, stale: true });
    // A second refresh would have sent the rotated-away token and got invalid_grant: there is none.
    expect(em.oauth.grants().map((g) => [g.grantType, g.error])).toEqual([['refresh_token', null]]);
    expect(parentRequests + child.tokenRequests).toBe(1);

    const stored = (await vault.get<TokenRecord>(TENANT, 'xproc-rotating'))!;
    expect(stored.accessToken).toBe(parent[0]);
    expect(stored.status).toBe('ACTIVE');
    expect(stored.refreshToken).not.toBe(old.refreshToken);

    const reuse = await refreshGrant(old.refreshToken);
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');
    // The stored one is the live one (nothing was lost between the provider and the vault).
    expect((await refreshGrant(stored.refreshToken)).status).toBe(200);
    expect(em.oauth.successfulGrants('refresh_token')).toBe(2);
  });
});
