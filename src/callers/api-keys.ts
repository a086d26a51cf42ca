// Tenant API keys issued at runtime (admin CLI or admin API), next to the static keys of the
// tenants file. A key is shown once, at creation; the store keeps only its SHA-256 digest, so a
// leaked Redis dump or backup yields no usable key, and a lost key is revoked and replaced, never
// recovered. authenticate() hashes the presented key and looks the digest up: there is no
// plaintext comparison, so timing reveals nothing about stored keys.
//
// Key format: "sbk_<keyId>_<secret>". The key id (16 hex chars) names the key in list/revoke
// without exposing the secret; the secret is 32 random bytes in base64url (43 chars). Nothing of
// the key besides its id is kept (no "last four"): the id is enough to tell keys apart.
//
// Redis layout (Redis is the source of truth; nothing is cached in process, so a revocation is
// effective on every replica from the next request on):
//   <prefix>:apikey:hash:<sha256 hex>    string, JSON ApiKeyInfo           (authenticate)
//   <prefix>:apikey:tenant:<tenantId>    hash, keyId -> sha256 hex          (list, revoke)
// The two live in different hash slots (so a Redis Cluster spreads them); they are written index
// first and deleted record first, so there is never a key that authenticates but cannot be listed
// or revoked (an index entry without its record is skipped by list()).
import { API_KEY_SCOPES, ID_PATTERN, type ApiKeyScope } from '../config.ts';
import { randomBytes } from 'node:crypto';
import { createRedis, getMany, type RedisClient } from '../util/redis.ts';
import { hashApiKey } from './tenants.ts';

export type { ApiKeyScope };
export const ALL_SCOPES: readonly ApiKeyScope[] = API_KEY_SCOPES;
/** Scopes of a key created without explicit scopes: a data client, not an operator. */
export const DEFAULT_ISSUED_SCOPES: readonly ApiKeyScope[] = Object.freeze(['read', 'subscribe'] as const);
const MAX_LABEL_LENGTH = 100;

export interface ApiKeyInfo {
  id: string;
  tenantId: string;
  label: string | null;
  /** Distinct, in ALL_SCOPES order. */
  scopes: ApiKeyScope[];
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; null for a key that does not expire (operator CLI keys, keys made before expiry existed). */
  expiresAt: string | null;
}

export interface IssuedApiKey {
  info: ApiKeyInfo;
  /** The plaintext key. Returned by create() only; it is not stored anywhere. */
  key: string;
}

export interface CreateApiKeyOptions {
  scopes?: ApiKeyScope[];
  label?: string;
  /** Seconds until the key stops working; absent: never (the API always sets one, see resolvers/connections.ts). */
  ttlSeconds?: number;
}

export interface ApiKeyStore {
  /** Issues a new key. Throws ApiKeyInputError on an invalid tenant id, scopes or label. */
  create(tenantId: string, options?: CreateApiKeyOptions): Promise<IssuedApiKey>;
  /** Deletes a key. False when no such key exists for this tenant (another tenant's key included). */
  revoke(tenantId: string, keyId: string): Promise<boolean>;
  /** The tenant's keys, oldest first. Never contains key material or digests. */
  list(tenantId: string): Promise<ApiKeyInfo[]>;
  /**
   * The key's info, or null for an unknown, revoked or malformed key. Store failures (Redis down)
   * reject rather than return null, so the caller can answer 503 rather than 401.
   */
  authenticate(key: string): Promise<ApiKeyInfo | null>;
  close(): Promise<void>;
}

/** Invalid input to create/list/revoke: the message names the problem and is safe to show. */
export class ApiKeyInputError extends Error {
  override readonly name = 'ApiKeyInputError';
}

const KEY_PREFIX = 'sbk_';
const TENANT_ID_RE = ID_PATTERN;
const KEY_ID_RE = /^[0-9a-f]{16}$/;
// Exactly what issueKey() produces; anything else is rejected before hashing or a Redis round trip.
const KEY_RE = /^sbk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;
const SECRET_BYTES = 32;
// Key ids are 64 random bits; a collision is astronomically unlikely, but creation still refuses
// to overwrite and retries rather than silently replacing another key.
const CREATE_ATTEMPTS = 3;

/** Does this look like a runtime-issued key (so a gateway can route it to this store)? */
function isIssuedApiKeyFormat(key: string): boolean {
  return typeof key === 'string' && KEY_RE.test(key);
}

function checkTenantId(tenantId: unknown): string {
  if (typeof tenantId !== 'string' || !TENANT_ID_RE.test(tenantId)) {
    throw new ApiKeyInputError('tenant id must be 1-64 letters, digits, "-" or "_"');
  }
  return tenantId;
}

function checkScopes(scopes: unknown): ApiKeyScope[] {
  if (scopes === undefined) return [...DEFAULT_ISSUED_SCOPES];
  if (!Array.isArray(scopes)) throw new ApiKeyInputError(`scopes must be a list of ${ALL_SCOPES.join(', ')}`);
  if (scopes.length === 0) throw new ApiKeyInputError(`scopes must not be empty (choose from ${ALL_SCOPES.join(', ')})`);
  for (const s of scopes) {
    if (!ALL_SCOPES.includes(s as ApiKeyScope)) throw new ApiKeyInputError(`unknown scope ${JSON.stringify(s)} (allowed: ${ALL_SCOPES.join(', ')})`);
  }
  // Canonical form: distinct, in ALL_SCOPES order, so equal grants compare equal.
  return ALL_SCOPES.filter((s) => scopes.includes(s));
}

function checkLabel(label: unknown): string | null {
  if (label === undefined || label === null) return null;
  if (typeof label !== 'string') throw new ApiKeyInputError('label must be a string');
  const trimmed = label.trim();
  if (trimmed.length > MAX_LABEL_LENGTH) throw new ApiKeyInputError(`label must be at most ${MAX_LABEL_LENGTH} characters (got ${trimmed.length})`);
  // Labels are printed by the CLI and admin tools: no terminal escapes or line breaks.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new ApiKeyInputError('label must not contain control characters');
  return trimmed === '' ? null : trimmed;
}

function newKey(tenantId: string, options: CreateApiKeyOptions): { info: ApiKeyInfo; key: string; digest: string } {
  const scopes = checkScopes(options.scopes);
  const label = checkLabel(options.label);
  const ttl = options.ttlSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) throw new ApiKeyInputError('ttlSeconds must be a positive whole number of seconds');
  const id = randomBytes(8).toString('hex');
  const key = `${KEY_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  const now = Date.now();
  const expiresAt = ttl === undefined ? null : new Date(now + ttl * 1000).toISOString();
  return { info: { id, tenantId, label, scopes, createdAt: new Date(now).toISOString(), expiresAt }, key, digest: hashApiKey(key) };
}

/** A stored record back to ApiKeyInfo; null when it is not one (fail closed on corrupt data). */
function parseInfo(json: string | null): ApiKeyInfo | null {
  if (json === null) return null;
  try {
    const v = JSON.parse(json) as Partial<ApiKeyInfo>;
    if (typeof v.id !== 'string' || typeof v.tenantId !== 'string' || typeof v.createdAt !== 'string') return null;
    if (!(v.label === null || typeof v.label === 'string')) return null;
    if (!Array.isArray(v.scopes) || !v.scopes.every((s) => ALL_SCOPES.includes(s))) return null;
    const expiresAt = typeof v.expiresAt === 'string' ? v.expiresAt : null;
    return { id: v.id, tenantId: v.tenantId, label: v.label, scopes: [...v.scopes], createdAt: v.createdAt, expiresAt };
  } catch {
    return null;
  }
}

const copy = (info: ApiKeyInfo): ApiKeyInfo => ({ ...info, scopes: [...info.scopes] });
/** An expired key authenticates nowhere, whatever the store still holds. */
const live = (info: ApiKeyInfo | null | undefined, now = Date.now()): ApiKeyInfo | null =>
  info && (info.expiresAt === null || Date.parse(info.expiresAt) > now) ? info : null;
const byAge = (a: ApiKeyInfo, b: ApiKeyInfo) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

export interface RedisApiKeyStoreOptions {
  /** Connection errors of a connection this store opened (commands still reject on their own). */
  onError?: (err: unknown) => void;
}

export class RedisApiKeyStore implements ApiKeyStore {
  private readonly redis: RedisClient;
  /** Only a connection this store opened is closed by close(); a shared one belongs to its owner. */
  private readonly ownsConnection: boolean;

  constructor(
    redis: string | RedisClient,
    private readonly prefix: string,
    options: RedisApiKeyStoreOptions = {},
  ) {
    if (!prefix) throw new Error('RedisApiKeyStore: key prefix must not be empty');
    if (typeof redis === 'string') {
      this.redis = createRedis(redis, { maxRetriesPerRequest: 2, connectTimeout: 2_000 });
      this.redis.on('error', options.onError ?? (() => undefined));
      this.ownsConnection = true;
    } else {
      this.redis = redis;
      this.ownsConnection = false;
    }
  }

  private hashKey(digest: string): string {
    return `${this.prefix}:apikey:hash:${digest}`;
  }

  private tenantKey(tenantId: string): string {
    return `${this.prefix}:apikey:tenant:${tenantId}`;
  }

  async create(tenantId: string, options: CreateApiKeyOptions = {}): Promise<IssuedApiKey> {
    checkTenantId(tenantId);
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const { info, key, digest } = newKey(tenantId, options);
      // The index entry and the record live in different hash slots (a Redis Cluster cannot write
      // them in one script), so they are written in an order whose every intermediate state is
      // harmless: the index entry first (claiming the id; list() skips an entry without a record),
      // then the record, which is what authenticates. Neither overwrites an existing id or digest.
      const index = this.tenantKey(tenantId);
      if ((await this.redis.hsetnx(index, info.id, digest)) !== 1) continue;
      if ((await this.redis.set(this.hashKey(digest), JSON.stringify(info), 'NX')) === 'OK') return { info: copy(info), key };
      await this.redis.hdel(index, info.id);
    }
    throw new Error(`could not allocate an unused API key id after ${CREATE_ATTEMPTS} attempts`);
  }

  async revoke(tenantId: string, keyId: string): Promise<boolean> {
    checkTenantId(tenantId);
    if (typeof keyId !== 'string' || !KEY_ID_RE.test(keyId)) return false;
    const index = this.tenantKey(tenantId);
    // The digest comes from this tenant's own index, so another tenant's key id finds nothing.
    const digest = await this.redis.hget(index, keyId);
    if (digest === null) return false;
    // The record first (revocation takes effect), then the index entry; a concurrent revoke of the
    // same key deletes nothing and counts nothing.
    const revoked = (await this.redis.del(this.hashKey(digest))) === 1;
    await this.redis.hdel(index, keyId);
    return revoked;
  }

  async list(tenantId: string): Promise<ApiKeyInfo[]> {
    checkTenantId(tenantId);
    const digests = Object.values(await this.redis.hgetall(this.tenantKey(tenantId)));
    if (digests.length === 0) return [];
    const records = await getMany(
      this.redis,
      digests.map((d) => this.hashKey(d)),
    );
    return records
      .map(parseInfo)
      .filter((i): i is ApiKeyInfo => i !== null && i.tenantId === tenantId)
      .sort(byAge);
  }

  async authenticate(key: string): Promise<ApiKeyInfo | null> {
    if (!isIssuedApiKeyFormat(key)) return null;
    return live(parseInfo(await this.redis.get(this.hashKey(hashApiKey(key)))));
  }

  async close(): Promise<void> {
    // Every operation is awaited by its caller, so nothing is in flight to lose.
    if (this.ownsConnection) this.redis.disconnect();
  }
}

/** In-process store for the embedded default (no Redis): same contract, one process only. */
export class MemoryApiKeyStore implements ApiKeyStore {
  private readonly byDigest = new Map<string, ApiKeyInfo>();
  private readonly byTenant = new Map<string, Map<string, string>>();

  async create(tenantId: string, options: CreateApiKeyOptions = {}): Promise<IssuedApiKey> {
    checkTenantId(tenantId);
    const index = this.byTenant.get(tenantId) ?? new Map<string, string>();
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const { info, key, digest } = newKey(tenantId, options);
      if (index.has(info.id) || this.byDigest.has(digest)) continue;
      this.byDigest.set(digest, info);
      index.set(info.id, digest);
      this.byTenant.set(tenantId, index);
      return { info: copy(info), key };
    }
    throw new Error(`could not allocate an unused API key id after ${CREATE_ATTEMPTS} attempts`);
  }

  async revoke(tenantId: string, keyId: string): Promise<boolean> {
    checkTenantId(tenantId);
    const index = this.byTenant.get(tenantId);
    const digest = typeof keyId === 'string' ? index?.get(keyId) : undefined;
    if (!index || digest === undefined) return false;
    this.byDigest.delete(digest);
    index.delete(keyId);
    if (index.size === 0) this.byTenant.delete(tenantId);
    return true;
  }

  async list(tenantId: string): Promise<ApiKeyInfo[]> {
    checkTenantId(tenantId);
    const digests = [...(this.byTenant.get(tenantId)?.values() ?? [])];
    return digests
      .map((d) => this.byDigest.get(d))
      .filter((i): i is ApiKeyInfo => i !== undefined)
      .map(copy)
      .sort(byAge);
  }

  async authenticate(key: string): Promise<ApiKeyInfo | null> {
    if (!isIssuedApiKeyFormat(key)) return null;
    const info = live(this.byDigest.get(hashApiKey(key)));
    return info ? copy(info) : null;
  }

  async close(): Promise<void> {}
}
