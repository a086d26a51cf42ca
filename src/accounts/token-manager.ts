// OAuth access-token lifecycle for connections: hand out a valid access token, renew it ahead of
// expiry (or once after a provider 401, via forceRefresh) with openid-client — the refresh grant,
// or a new client-credentials grant for records made that way — keep renewals single-flight within
// a process AND across gateway replicas, persist rotated refresh tokens before use, and turn
// `invalid_grant` into NEEDS_REAUTH. Disconnect and reconnect run under the same lock (exclusive).
//
// ── Credential record (CredentialVault secret per tenant + connection) ──────────────────────────
//   { accessToken, refreshToken ('' for client credentials), expiresAt (ms since epoch, an ISO
//     string, or null when the provider gave no expiry: renewed only after a 401), scopes: string[],
//     grant?: 'refresh_token' | 'client_credentials', status?: 'ACTIVE' | 'NEEDS_REAUTH',
//     lastRefreshedAt?, lastError? }   (other fields are kept)
//
// ── Single flight ───────────────────────────────────────────────────────────────────────────────
// In a process: one promise per (connection, stale access token); 50 concurrent callers share it.
// Across processes: a Redis lock per connection, `<prefix>:lock:<tenant>:<conn>`, taken with a
// Lua script equivalent to `SET lock <fence> NX PX <lease>` where the fence is `INCR
// {<prefix>:lock:<tenant>:<conn>}:fence` (the lock's hash slot). Whoever does not get the lock polls the vault record (backoff
// 20 ms → 250 ms, bounded by waitTimeoutMs) until a fresh token appears, the record says
// NEEDS_REAUTH, or the lock is free again (then it tries to take it itself). A holder that
// crashes blocks nobody longer than the lease. The holder re-reads the record after locking (the
// previous holder may just have finished), and before writing it runs a Lua compare-and-extend:
// the lock must still hold its fence AND the fence counter must still equal it; the lease is then
// extended, so no other process can take over while the vault write is in flight. A holder whose
// fence is no longer current (its lease expired mid-refresh) writes nothing and falls back to
// waiting for the record like any other caller.
//
// ── Rotation ────────────────────────────────────────────────────────────────────────────────────
// The new access token AND the new refresh token (when the provider returns one) are written to
// the vault in one put() before the access token is returned to anyone; the next refresh reads
// the refresh token from the vault, so an old, rotated-away refresh token is never sent again.
//
// ── Crash between receiving and storing a rotated token ─────────────────────────────────────────
// If the process dies (or the vault write fails, or the fence was lost) after the provider has
// answered a rotating refresh but before put() completed, the provider has already revoked the
// old refresh token and the new one is lost: nothing durable ever held it, and we deliberately do
// not log or stash it elsewhere. The lock's lease then expires, the next caller takes the lock
// and sends the old refresh token (still the one in the vault); a strict provider answers
// `invalid_grant`, so the connection becomes NEEDS_REAUTH (status callback, NeedsReauthError)
// and the tenant must reconnect. Providers with a reuse grace window (e.g. Xero's 30 minutes)
// accept the old token once more and the connection heals silently. Nothing is left half-written:
// the record is either the old complete credential or the new complete one. The window is kept to
// one vault write; a stale holder's refresh (lease expired mid-request) is the same case.
// Before declaring NEEDS_REAUTH on invalid_grant the holder re-reads the record: if another
// holder stored a different refresh token meanwhile, that credential is used instead.
//
// Tokens never appear in error messages, status events or logs (this module does not log).
import { sameSlotAs, type RedisClient } from '../util/redis.ts';
import * as client from 'openid-client';
import { grantedScopes, oauthConfiguration } from './oauth-client.ts';
import type { CredentialVault } from './vault.ts';

export type ConnectionStatus = 'ACTIVE' | 'NEEDS_REAUTH';

export interface TokenRecord {
  accessToken: string;
  /** Empty for client-credentials records (nothing to refresh with; the grant is repeated). */
  refreshToken: string;
  /** Expiry in ms since the epoch (an ISO string is accepted on read); null: the provider gave none (refreshed only after a 401). */
  expiresAt: number | string | null;
  /** How new access tokens are obtained: the refresh grant (default) or a new client-credentials grant. */
  grant?: 'refresh_token' | 'client_credentials';
  scopes: string[];
  status?: ConnectionStatus;
  lastRefreshedAt?: number;
  lastError?: string;
  /** Connections sharing this credential (one grant, several provider accounts; see shared-credentials.ts). */
  sharedBy?: string[];
  [key: string]: unknown;
}

/** The connections a token record is reported to: its `sharedBy` list (shared-credentials.ts), or the one slot it is stored under. */
export function membersOf(record: TokenRecord, slot: string): string[] {
  const shared = record.sharedBy;
  return Array.isArray(shared) && shared.length > 0 ? shared.filter((id): id is string => typeof id === 'string') : [slot];
}

/** How to reach the provider's token endpoint (from the connector manifest + app registration). */
export interface OAuthClientConfig {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Authorization server issuer; defaults to the token endpoint's origin. */
  issuer?: string;
  /** Allow http:// token endpoints (loopback emulators in tests and dev only). */
  allowInsecureRequests?: boolean;
  /** How the client authenticates at the token endpoint. Default client_secret_post. */
  clientAuth?: 'client_secret_post' | 'client_secret_basic';
  /** Scope separator for client-credentials requests. Default ' '. */
  scopeSeparator?: ' ' | ',';
  /** Token-response fields the provider leaves out (manifest `tokenResponseDefaults`). */
  tokenResponseDefaults?: Readonly<Record<string, string>>;
}

export interface StatusChange {
  tenantId: string;
  connectionId: string;
  status: ConnectionStatus;
  /** Human-readable reason, never containing token material. */
  reason: string;
}

export interface TokenManagerOptions {
  vault: CredentialVault;
  /** A dedicated ioredis connection (not one in subscriber mode); null: one process only (embedded default), locks in memory. */
  redis: RedisClient | null;
  /** Refresh when fewer than this many ms of validity are left. Default 60 000. */
  marginMs?: number;
  /** Lock lease; a crashed holder blocks others at most this long. Default 10 000. */
  leaseMs?: number;
  /** How long a caller waits for another process's refresh before failing. Default 15 000. */
  waitTimeoutMs?: number;
  /** Redis key prefix. Default 'switchboard:token'. */
  keyPrefix?: string;
  onStatusChange?: (change: StatusChange) => void | Promise<void>;
  /**
   * After a new access token was stored (for the connection's "last refreshed"), once per refresh;
   * `connectionIds` are the connections using the credential (several when it is shared). Errors are ignored.
   */
  onRefreshed?: (tenantId: string, connectionId: string, at: number, connectionIds: string[]) => void | Promise<void>;
  /** A refresh failed: `rejected` when the provider refused the grant (reauth needed), `error` otherwise (metrics). */
  onRefreshFailed?: (kind: 'rejected' | 'error') => void;
  /** Fetch used for token requests (tests; proxies). */
  fetch?: client.CustomFetch;
  now?: () => number;
}

/** The provider rejected the refresh token: the tenant must reconnect. Map to UPSTREAM_UNAUTHORIZED. */
export class NeedsReauthError extends Error {
  override readonly name = 'NeedsReauthError';
  readonly code = 'NEEDS_REAUTH' as const;
  constructor(
    readonly tenantId: string,
    readonly connectionId: string,
    readonly reason: string,
  ) {
    super(`connection "${connectionId}" of tenant "${tenantId}" needs to be re-authorized: ${reason}. Reconnect it to restore access.`);
  }
}

/** A refresh failed for another reason (network, provider 5xx, invalid_client, timeout, no record). */
export class TokenRefreshError extends Error {
  override readonly name = 'TokenRefreshError';
  readonly code = 'TOKEN_REFRESH_FAILED' as const;
  constructor(
    readonly tenantId: string,
    readonly connectionId: string,
    reason: string,
    readonly oauthError?: string,
  ) {
    super(`access token of connection "${connectionId}" (tenant "${tenantId}") could not be refreshed: ${reason}`);
  }
}

// KEYS[1] lock, KEYS[2] fence counter; ARGV[1] lease ms. Returns the fence, or false when held.
// The counter is never reset while in use (a reset would let a stale holder's fence match again);
// it expires after 7 days without any lock taken.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 604800000)
redis.call('SET', KEYS[1], tostring(fence), 'PX', tonumber(ARGV[1]))
return fence`;
// ARGV[1] fence, ARGV[2] lease ms. 1 when the fence still holds the lock and is the latest (lease extended).
const CHECK_AND_EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class TokenManager {
  private readonly vault: CredentialVault;
  private readonly redis: RedisClient | null;
  /** Lock table when there is no Redis: lock key → fence; fence counters. */
  private readonly localLocks = new Map<string, number>();
  private readonly localFences = new Map<string, number>();
  private readonly marginMs: number;
  private readonly leaseMs: number;
  private readonly waitTimeoutMs: number;
  private readonly prefix: string;
  private readonly onStatusChange: TokenManagerOptions['onStatusChange'];
  private readonly onRefreshed: TokenManagerOptions['onRefreshed'];
  private readonly onRefreshFailed: TokenManagerOptions['onRefreshFailed'];
  private readonly fetchImpl: client.CustomFetch | undefined;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly configs = new Map<string, client.Configuration>();

  constructor(options: TokenManagerOptions) {
    this.vault = options.vault;
    this.redis = options.redis;
    this.marginMs = options.marginMs ?? 60_000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 15_000;
    this.prefix = options.keyPrefix ?? 'switchboard:token';
    this.onStatusChange = options.onStatusChange;
    this.onRefreshed = options.onRefreshed;
    this.onRefreshFailed = options.onRefreshFailed;
    this.fetchImpl = options.fetch;
    this.now = options.now ?? Date.now;
  }

  /**
   * A valid access token, refreshed first when it expires within the margin. `known` is the record
   * the caller has just read from the vault (saves a second read and decrypt on the common path);
   * the OAuth client is only built when a refresh is needed.
   */
  async accessToken(tenantId: string, connectionId: string, oauthClient: OAuthClientConfig | (() => OAuthClientConfig), known?: TokenRecord): Promise<string> {
    const record = known ?? (await this.read(tenantId, connectionId));
    if (record.status === 'NEEDS_REAUTH') throw new NeedsReauthError(tenantId, connectionId, record.lastError ?? 'the refresh token was rejected earlier');
    if (this.isFresh(record)) return record.accessToken;
    return this.singleFlight(tenantId, connectionId, typeof oauthClient === 'function' ? oauthClient() : oauthClient, record.accessToken);
  }

  /**
   * The provider answered 401 to `rejectedAccessToken`: refresh even though it looks unexpired.
   * Call at most once per request; a second 401 is UPSTREAM_UNAUTHORIZED. When another caller
   * already replaced the rejected token, its replacement is returned without a new refresh.
   */
  async forceRefresh(tenantId: string, connectionId: string, oauthClient: OAuthClientConfig, rejectedAccessToken?: string): Promise<string> {
    const record = await this.read(tenantId, connectionId);
    const stale = rejectedAccessToken ?? record.accessToken;
    if (record.accessToken !== stale && this.isFresh(record)) return record.accessToken;
    return this.singleFlight(tenantId, connectionId, oauthClient, stale);
  }

  /**
   * Runs `work` holding the connection's refresh lock, after any refresh in flight has finished:
   * disconnect and reconnect replace or delete the credential this way, so a refresh that started
   * earlier cannot write its tokens over (or after) them — taking the lock advances the fence, and
   * a holder whose lease ran out fails its fence check and writes nothing.
   */
  async exclusive<T>(tenantId: string, connectionId: string, work: () => Promise<T>): Promise<T> {
    return this.poll(tenantId, connectionId, 'a refresh in progress', async () => {
      const fence = await this.acquire(tenantId, connectionId);
      if (fence === null) return null;
      // The work may call the provider (revocation) and take longer than one lease: keep
      // extending it while the work runs, so no refresh can take the lock in the middle.
      const renew = setInterval(() => void this.checkFence(tenantId, connectionId, fence).catch(() => undefined), Math.max(50, Math.floor(this.leaseMs / 3)));
      renew.unref();
      try {
        return { value: await work() };
      } finally {
        clearInterval(renew);
        await this.release(tenantId, connectionId, fence);
      }
    });
  }

  lockKey(tenantId: string, connectionId: string): string {
    return `${this.prefix}:lock:${tenantId}:${connectionId}`;
  }

  /** In the lock's hash slot (the scripts take both); the lock keeps its name from earlier versions. */
  fenceKey(tenantId: string, connectionId: string): string {
    return sameSlotAs(this.lockKey(tenantId, connectionId), 'fence');
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────────

  private singleFlight(tenantId: string, connectionId: string, oauthClient: OAuthClientConfig, stale: string): Promise<string> {
    const key = `${tenantId}\0${connectionId}\0${stale}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.refreshShared(tenantId, connectionId, oauthClient, stale).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** Cross-process: take the lock and refresh, or wait for whoever holds it. */
  private refreshShared(tenantId: string, connectionId: string, oauthClient: OAuthClientConfig, stale: string): Promise<string> {
    return this.poll(tenantId, connectionId, 'another refresh', async () => {
      const record = await this.read(tenantId, connectionId);
      if (record.accessToken !== stale && this.isFresh(record)) return { value: record.accessToken };
      const fence = await this.acquire(tenantId, connectionId);
      if (fence === null) return null;
      try {
        const result = await this.refreshHolding(tenantId, connectionId, oauthClient, stale, fence);
        // null: the fence was lost; someone else owns the refresh now — wait for it like everybody else.
        return result === null ? null : { value: result };
      } finally {
        await this.release(tenantId, connectionId, fence);
      }
    });
  }

  /**
   * Runs `round` until it finishes (returns a value), backing off 20 → 250 ms between rounds, for
   * at most waitTimeoutMs: the waiting part of both refreshes and exclusive work.
   */
  private async poll<T>(tenantId: string, connectionId: string, waitingFor: string, round: () => Promise<{ value: T } | null>): Promise<T> {
    const deadline = this.now() + this.waitTimeoutMs;
    let delay = 20;
    for (;;) {
      const done = await round();
      if (done) return done.value;
      if (this.now() >= deadline) throw new TokenRefreshError(tenantId, connectionId, `timed out after ${this.waitTimeoutMs} ms waiting for ${waitingFor}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 250);
    }
  }

  /** Holding the lock with `fence`. Returns the new token, or null when the fence was lost. */
  private async refreshHolding(tenantId: string, connectionId: string, oauthClient: OAuthClientConfig, stale: string, fence: number): Promise<string | null> {
    // The previous holder may have finished between our read and our lock.
    const record = await this.read(tenantId, connectionId);
    if (record.accessToken !== stale && this.isFresh(record)) return record.accessToken;

    const sentRefreshToken = record.refreshToken;
    let response: client.TokenEndpointResponse;
    try {
      response =
        record.grant === 'client_credentials'
          ? await client.clientCredentialsGrant(
              this.config(oauthClient),
              record.scopes.length ? { scope: record.scopes.join(oauthClient.scopeSeparator ?? ' ') } : {},
            )
          : await client.refreshTokenGrant(this.config(oauthClient), sentRefreshToken);
    } catch (err) {
      const oauthError = err instanceof client.ResponseBodyError ? err.error : undefined;
      if (oauthError === 'invalid_grant') {
        // Another holder (e.g. one whose lease we outlived) may have rotated it meanwhile.
        const now = await this.read(tenantId, connectionId);
        if (now.refreshToken !== sentRefreshToken && now.status !== 'NEEDS_REAUTH') return this.isFresh(now) ? now.accessToken : null;
        this.onRefreshFailed?.('rejected');
        return this.markNeedsReauth(tenantId, connectionId, fence, now, 'the provider rejected the refresh token (invalid_grant)');
      }
      this.onRefreshFailed?.('error');
      const reason = oauthError ? `the provider answered ${oauthError}` : err instanceof Error && err.name ? `${err.name}` : 'request failed';
      throw new TokenRefreshError(tenantId, connectionId, reason, oauthError);
    }

    if (typeof response.access_token !== 'string' || response.access_token === '') {
      this.onRefreshFailed?.('error');
      throw new TokenRefreshError(tenantId, connectionId, 'the token response has no access_token');
    }
    const now = this.now();
    const expiresIn = typeof response.expires_in === 'number' ? response.expires_in : null;
    const next: TokenRecord = {
      ...record,
      accessToken: response.access_token,
      refreshToken: typeof response.refresh_token === 'string' && response.refresh_token !== '' ? response.refresh_token : sentRefreshToken,
      expiresAt: expiresIn === null ? null : now + expiresIn * 1000,
      scopes: grantedScopes(response) ?? record.scopes,
      status: 'ACTIVE',
      lastRefreshedAt: now,
    };
    delete next.lastError;
    if (!(await this.checkFence(tenantId, connectionId, fence))) return null;
    await this.vault.put(tenantId, connectionId, next);
    await Promise.resolve(this.onRefreshed?.(tenantId, connectionId, now, membersOf(next, connectionId))).catch(() => undefined);
    return next.accessToken;
  }

  private async markNeedsReauth(tenantId: string, connectionId: string, fence: number, record: TokenRecord, reason: string): Promise<never> {
    if (await this.checkFence(tenantId, connectionId, fence)) {
      await this.vault.put(tenantId, connectionId, { ...record, status: 'NEEDS_REAUTH', lastError: reason });
      // A shared credential: every connection using it needs the reconnect.
      for (const id of membersOf(record, connectionId)) await this.onStatusChange?.({ tenantId, connectionId: id, status: 'NEEDS_REAUTH', reason });
    }
    throw new NeedsReauthError(tenantId, connectionId, reason);
  }

  private async read(tenantId: string, connectionId: string): Promise<TokenRecord> {
    const record = await this.vault.get<TokenRecord>(tenantId, connectionId);
    if (!record || typeof record.accessToken !== 'string' || (typeof record.refreshToken !== 'string' && record.grant !== 'client_credentials')) {
      throw new TokenRefreshError(tenantId, connectionId, 'no OAuth credentials are stored for this connection');
    }
    if (record.status === 'NEEDS_REAUTH') throw new NeedsReauthError(tenantId, connectionId, record.lastError ?? 'the refresh token was rejected earlier');
    return record;
  }

  private isFresh(record: TokenRecord): boolean {
    if (record.expiresAt === null) return true;
    const expiresAt = typeof record.expiresAt === 'number' ? record.expiresAt : Date.parse(record.expiresAt);
    return Number.isFinite(expiresAt) && expiresAt - this.now() > this.marginMs;
  }

  private async acquire(tenantId: string, connectionId: string): Promise<number | null> {
    if (!this.redis) {
      const lock = this.lockKey(tenantId, connectionId);
      if (this.localLocks.has(lock)) return null;
      const fenceKey = this.fenceKey(tenantId, connectionId);
      const fence = (this.localFences.get(fenceKey) ?? 0) + 1;
      this.localFences.set(fenceKey, fence);
      this.localLocks.set(lock, fence);
      return fence;
    }
    const fence = (await this.redis.eval(ACQUIRE, 2, this.lockKey(tenantId, connectionId), this.fenceKey(tenantId, connectionId), this.leaseMs)) as
      number | null;
    return typeof fence === 'number' ? fence : null;
  }

  private async checkFence(tenantId: string, connectionId: string, fence: number): Promise<boolean> {
    if (!this.redis) return this.localLocks.get(this.lockKey(tenantId, connectionId)) === fence;
    const ok = await this.redis.eval(
      CHECK_AND_EXTEND,
      2,
      this.lockKey(tenantId, connectionId),
      this.fenceKey(tenantId, connectionId),
      String(fence),
      this.leaseMs,
    );
    return ok === 1;
  }

  private async release(tenantId: string, connectionId: string, fence: number): Promise<void> {
    if (!this.redis) {
      const lock = this.lockKey(tenantId, connectionId);
      if (this.localLocks.get(lock) === fence) this.localLocks.delete(lock);
      return;
    }
    await this.redis.eval(RELEASE, 1, this.lockKey(tenantId, connectionId), String(fence)).catch(() => undefined);
  }

  private config(c: OAuthClientConfig): client.Configuration {
    const key = `${c.tokenEndpoint}\0${c.clientId}\0${c.clientSecret}\0${c.allowInsecureRequests === true}\0${c.clientAuth ?? ''}\0${JSON.stringify(c.tokenResponseDefaults ?? {})}`;
    let config = this.configs.get(key);
    if (!config) {
      config = oauthConfiguration({
        ...c,
        // The HTTP call must end well inside the lease.
        timeoutSeconds: Math.max(1, Math.floor((this.leaseMs * 0.6) / 1000)),
        ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
      });
      this.configs.set(key, config);
    }
    return config;
  }
}
