// Test-only child process for src/accounts/token-manager.processes.test.ts: a second OS process with
// its own Redis connections, vault and TokenManager, so the refresh stampede test exercises the
// cross-process lock for real instead of two TokenManager instances sharing one process.
//
// Protocol (one JSON object per line):
//   env REFRESH_WORKER_CONFIG  JSON WorkerConfig (below); SWITCHBOARD_MASTER_KEYS / _KEY_ID as in vault.ts
//   stdout → {"type":"ready"}  after Redis and the vault are connected
//   stdin  ← go               fire `callers` concurrent accessToken() calls at once
//   stdout → {"type":"result", ...WorkerResult}, then exit 0
// Exits 1 on any setup error or when stdin closes before "go", 3 when `timeoutMs` passes first.
// Run as: node --import tsx src/accounts/testing/refresh-worker.ts
import { createInterface } from 'node:readline';
import { createRedis, type RedisClient } from '../../util/redis.ts';
import { CredentialVault, createVaultStore, parseMasterKeys, type VaultSecret } from '../vault.ts';
import { TokenManager, type TokenRecord } from '../token-manager.ts';

export interface WorkerConfig {
  redisUrl: string;
  vaultNamespace: string;
  tokenKeyPrefix: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  tenantId: string;
  connectionId: string;
  callers: number;
  /** TokenManager waitTimeoutMs. */
  waitTimeoutMs: number;
  /** Hard limit for the whole process. */
  timeoutMs: number;
}

export interface WorkerResult {
  /** Per caller, in call order: the access token, or null when the call failed. */
  tokens: Array<string | null>;
  errors: string[];
  /** Requests this process sent to the token endpoint. */
  tokenRequests: number;
  /** The access token and staleness of the first credential record any caller here read. */
  firstRead: { accessToken: string; stale: boolean } | null;
  /** Credential reads by this process's TokenManager (waiters poll, so > 1 when it waited). */
  vaultReads: number;
}

export type WorkerMessage = { type: 'ready' } | ({ type: 'result' } & WorkerResult);

const MARGIN_MS = 60_000; // TokenManager's default refresh margin

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(message)}\n`, () => resolve()));
}

/** Records what the TokenManager read from the vault. */
class ObservedVault extends CredentialVault {
  reads = 0;
  firstRead: WorkerResult['firstRead'] = null;

  override async get<T extends VaultSecret = VaultSecret>(tenantId: string, connectionId: string): Promise<T | null> {
    const value = await super.get<T>(tenantId, connectionId);
    this.reads++;
    if (!this.firstRead && value) {
      const r = value as unknown as TokenRecord;
      this.firstRead = { accessToken: r.accessToken, stale: typeof r.expiresAt === 'number' && r.expiresAt - Date.now() <= MARGIN_MS };
    }
    return value;
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.REFRESH_WORKER_CONFIG ?? '') as WorkerConfig;
  setTimeout(() => {
    process.stderr.write(`refresh-worker: no result after ${config.timeoutMs} ms\n`);
    process.exit(3);
  }, config.timeoutMs).unref();

  const keyring = parseMasterKeys(process.env.SWITCHBOARD_MASTER_KEYS, process.env.SWITCHBOARD_MASTER_KEY_ID);
  const store = await createVaultStore({ redisUrl: config.redisUrl, namespace: config.vaultNamespace });
  const redis = createRedis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const vault = new ObservedVault({ keyv: store.keyv, keyring });
  let tokenRequests = 0;
  const manager = new TokenManager({
    vault,
    redis,
    keyPrefix: config.tokenKeyPrefix,
    waitTimeoutMs: config.waitTimeoutMs,
    fetch: ((url: string, init: RequestInit) => {
      tokenRequests++;
      return fetch(url, init);
    }) as never,
  });
  const oauthClient = { tokenEndpoint: config.tokenEndpoint, clientId: config.clientId, clientSecret: config.clientSecret, allowInsecureRequests: true };

  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.trim() === 'go') resolve();
    });
    lines.once('close', () => reject(new Error('stdin closed before "go"')));
  });
  go.catch(() => undefined); // handled by the `await go` below, whenever it rejects
  await send({ type: 'ready' });
  await go;
  lines.close();
  process.stdin.destroy();

  const settled = await Promise.allSettled(
    Array.from({ length: config.callers }, () => manager.accessToken(config.tenantId, config.connectionId, oauthClient)),
  );
  await send({
    type: 'result',
    tokens: settled.map((s) => (s.status === 'fulfilled' ? s.value : null)),
    errors: settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : [])),
    tokenRequests,
    firstRead: vault.firstRead,
    vaultReads: vault.reads,
  });
  await store.close();
  redis.disconnect();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`refresh-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
