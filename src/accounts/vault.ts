// The credential vault: connection secrets (access/refresh tokens, expiry, scopes, ...) encrypted
// at rest with envelope encryption, stored in Keyv (Redis when REDIS_URL is set, memory otherwise).
//
// ── Crypto ───────────────────────────────────────────────────────────────────────────────────────
// Each record gets a fresh random 32-byte data key (DEK). The secret, serialized as JSON, is
// encrypted with AES-256-GCM under the DEK (random 12-byte IV, 16-byte tag). The DEK is then
// wrapped with AES-256-GCM under a master key (its own random IV and tag). Both operations use
// associated data binding the record to its tenant and connection (the wrap's AAD also names the
// master key id), so a record copied into another tenant's or connection's slot fails to decrypt,
// and any flipped bit anywhere (ciphertext, IV, tag, wrapped key, kid) fails authentication.
//
// ── Master keys (environment) ────────────────────────────────────────────────────────────────────
//   SWITCHBOARD_MASTER_KEYS="k2025:<base64 of 32 bytes>,k2026:<base64 of 32 bytes>"
//   SWITCHBOARD_MASTER_KEY_ID="k2026"
// - Comma-separated entries `<kid>:<key>`; whitespace around entries is ignored.
// - kid: 1-64 chars of letters, digits, `.`, `_`, `-`; unique within the list.
// - key: exactly 32 bytes, standard base64 (`+/`, `=` padding optional) or base64url (`-_`).
//   Generate one with `openssl rand -base64 32` (or `node src/accounts/vault-cli.ts generate-key <kid>`).
// - SWITCHBOARD_MASTER_KEY_ID names the key new records are written with; it must be in the list.
//   It may be omitted when the list has exactly one key.
// - In production both must be set and valid or startup stops (loadVaultKeyring throws
//   MasterKeyConfigError, a ConfigError). In development/test a missing SWITCHBOARD_MASTER_KEYS
//   yields a random ephemeral key (records are unreadable after a restart; fine for the in-memory
//   store, and the caller should say so). A *malformed* value is rejected in every mode.
// Error messages name the entry position, kid and problem; never key material.
//
// ── Rotation ─────────────────────────────────────────────────────────────────────────────────────
// 1. Add the new key to SWITCHBOARD_MASTER_KEYS and point SWITCHBOARD_MASTER_KEY_ID at it; restart.
//    Old records stay readable (their kid is still in the list); new/updated ones use the new key.
// 2. Run rewrap('all') (or rewrap('<old kid>')): each record's DEK is unwrapped and re-wrapped
//    under the active key; the data ciphertext, IV and tag are not touched.
// 3. Remove the old key from the environment; restart.
//
// ── Record format (Keyv key `vault:<tenant>:<connection>`) ───────────────────────────────────────
//   { v: 1, kid, iv, tag, ct, wrappedKey: { iv, tag, ct } }   (binary fields base64)
//
// ── Listing for rewrap ───────────────────────────────────────────────────────────────────────────
// The vault keeps an index (a JSON array of record keys) under the Keyv key `vault:index`. Index
// updates are serialized within one process; two replicas writing *new* records at the same
// instant could lose an index entry (Keyv has no atomic set-add). Every put re-registers its key,
// so a lost entry heals on the next write (token refresh) of that record; for a guaranteed
// complete pass, give `listRecordKeys` (e.g. a Redis SCAN over the namespace) in VaultOptions.
//
// The vault never logs, and its errors never carry plaintext, keys or ciphertext.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import KeyvRedis, { Keyv } from '@keyv/redis';
import { ConfigError } from '../config.ts';
import { StoreOutage } from '../util/store-outage.ts';
import { createKeyvRedisClient, keyvClientReady } from '../util/redis.ts';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const RECORD_VERSION = 1;
const KID_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Tenant and connection ids as config.ts allows them; no `:` so keys cannot be ambiguous. */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const INDEX_KEY = 'vault:index';

// ─── Master keys ─────────────────────────────────────────────────────────────────────────────────

export class MasterKeyConfigError extends ConfigError {}

export interface MasterKeyring {
  /** Key id new records are wrapped with. */
  readonly activeKid: string;
  /** Every known key id → 32-byte key. */
  readonly keys: ReadonlyMap<string, Buffer>;
  /** True when generated at startup because none was configured (development/test only). */
  readonly ephemeral: boolean;
}

function decodeKey(text: string): Buffer | null {
  // Buffer.from(…, 'base64') silently skips invalid characters; validate the alphabet first.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  if (/[+/]/.test(unpadded) && /[-_]/.test(unpadded)) return null; // mixed alphabets
  return Buffer.from(unpadded.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/**
 * Parses SWITCHBOARD_MASTER_KEYS / SWITCHBOARD_MASTER_KEY_ID (format in the header comment).
 * Throws MasterKeyConfigError naming the exact problem (never the key material).
 */
export function parseMasterKeys(keysValue: string | undefined, activeKidValue: string | undefined): MasterKeyring {
  if (keysValue === undefined || keysValue.trim() === '') {
    throw new MasterKeyConfigError('SWITCHBOARD_MASTER_KEYS is not set: the credential vault needs at least one master key ("<kid>:<base64 of 32 bytes>")');
  }
  const keys = new Map<string, Buffer>();
  const entries = keysValue.split(',');
  entries.forEach((raw, i) => {
    const where = `SWITCHBOARD_MASTER_KEYS entry ${i + 1}`;
    const entry = raw.trim();
    if (entry === '') throw new MasterKeyConfigError(`${where} is empty (stray comma?)`);
    const colon = entry.indexOf(':');
    if (colon < 0) throw new MasterKeyConfigError(`${where} has no ":"; expected "<kid>:<base64 of 32 bytes>"`);
    const kid = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KID_RE.test(kid)) throw new MasterKeyConfigError(`${where}: key id must be 1-64 letters, digits, ".", "_" or "-"`);
    if (keys.has(kid)) throw new MasterKeyConfigError(`${where}: duplicate key id "${kid}"`);
    if (encoded === '') throw new MasterKeyConfigError(`${where} (key id "${kid}"): key is empty`);
    const key = decodeKey(encoded);
    if (!key) throw new MasterKeyConfigError(`${where} (key id "${kid}"): key is not valid base64`);
    if (key.length !== KEY_BYTES) throw new MasterKeyConfigError(`${where} (key id "${kid}"): key decodes to ${key.length} bytes, expected ${KEY_BYTES}`);
    keys.set(kid, key);
  });
  let activeKid = activeKidValue?.trim();
  if (!activeKid) {
    if (keys.size !== 1)
      throw new MasterKeyConfigError(`SWITCHBOARD_MASTER_KEY_ID is not set and SWITCHBOARD_MASTER_KEYS has ${keys.size} keys: name the active one`);
    activeKid = [...keys.keys()][0]!;
  }
  if (!keys.has(activeKid)) {
    throw new MasterKeyConfigError(
      `SWITCHBOARD_MASTER_KEY_ID "${activeKid}" is not among the key ids in SWITCHBOARD_MASTER_KEYS (${[...keys.keys()].join(', ')})`,
    );
  }
  return { activeKid, keys, ephemeral: false };
}

/**
 * The keyring for this process, for main.ts to call at startup. In production a missing or
 * malformed configuration throws MasterKeyConfigError (a ConfigError: main.ts exits 2 with the
 * message). Elsewhere a missing SWITCHBOARD_MASTER_KEYS gives an ephemeral random key.
 */
export function loadVaultKeyring(env: NodeJS.ProcessEnv, mode: 'production' | 'development' | 'test'): MasterKeyring {
  const keys = env.SWITCHBOARD_MASTER_KEYS;
  if (mode !== 'production' && (keys === undefined || keys.trim() === '')) {
    if (env.SWITCHBOARD_MASTER_KEY_ID) throw new MasterKeyConfigError('SWITCHBOARD_MASTER_KEY_ID is set but SWITCHBOARD_MASTER_KEYS is not');
    return { activeKid: 'ephemeral', keys: new Map([['ephemeral', randomBytes(KEY_BYTES)]]), ephemeral: true };
  }
  return parseMasterKeys(keys, env.SWITCHBOARD_MASTER_KEY_ID);
}

/** A new random master key in the SWITCHBOARD_MASTER_KEYS entry format. */
export function generateMasterKeyEntry(kid: string): string {
  if (!KID_RE.test(kid)) throw new MasterKeyConfigError('key id must be 1-64 letters, digits, ".", "_" or "-"');
  return `${kid}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

// ─── Errors ──────────────────────────────────────────────────────────────────────────────────────

export type VaultDecryptReason = 'malformed-record' | 'unsupported-version' | 'unknown-key-id' | 'authentication-failed';

/** A stored record could not be decrypted: tampered, copied, or its master key is gone. */
export class VaultDecryptError extends Error {
  override readonly name = 'VaultDecryptError';
  readonly code = 'VAULT_DECRYPT_FAILED' as const;
  constructor(
    readonly tenantId: string,
    readonly connectionId: string,
    readonly reason: VaultDecryptReason,
  ) {
    super(`credentials of tenant "${tenantId}" connection "${connectionId}" could not be decrypted (${reason})`);
  }
}

/** The backing store did not accept a write (Keyv reported failure). */
export class VaultStoreError extends StoreOutage {
  override readonly name = 'VaultStoreError';
  readonly code = 'VAULT_STORE_FAILED' as const;
}

// ─── Records ─────────────────────────────────────────────────────────────────────────────────────

export interface VaultRecordV1 {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
  wrappedKey: { iv: string; tag: string; ct: string };
}

/** A secret is a JSON object (access token, refresh token, expiry, scopes, ...). */
export type VaultSecret = { [key: string]: unknown };

export function recordKey(tenantId: string, connectionId: string): string {
  if (!ID_RE.test(tenantId)) throw new TypeError('vault: tenant id must be 1-64 letters, digits, "-" or "_"');
  if (!ID_RE.test(connectionId)) throw new TypeError('vault: connection id must be 1-64 letters, digits, "-" or "_"');
  return `vault:${tenantId}:${connectionId}`;
}

function dataAad(tenantId: string, connectionId: string): Buffer {
  return Buffer.from(`switchboard-vault/v1/data\0${tenantId}\0${connectionId}`, 'utf8');
}

function wrapAad(kid: string, tenantId: string, connectionId: string): Buffer {
  return Buffer.from(`switchboard-vault/v1/wrap\0${kid}\0${tenantId}\0${connectionId}`, 'utf8');
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; tag: Buffer; ct: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ct };
}

/** Returns null when authentication fails (wrong key, AAD, or any flipped bit). */
function open(key: Buffer, iv: Buffer, tag: Buffer, ct: Buffer, aad: Buffer): Buffer | null {
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch {
    return null;
  }
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
function b64(value: unknown, bytes?: number): Buffer | null {
  if (typeof value !== 'string' || !B64_RE.test(value) || value.length % 4 !== 0) return null;
  const buf = Buffer.from(value, 'base64');
  if (bytes !== undefined && buf.length !== bytes) return null;
  return buf;
}

interface ParsedRecord {
  kid: string;
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
  wrapped: { iv: Buffer; tag: Buffer; ct: Buffer };
}

function parseRecord(raw: unknown): ParsedRecord | 'malformed-record' | 'unsupported-version' {
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return 'malformed-record';
    }
  }
  if (typeof raw !== 'object' || raw === null) return 'malformed-record';
  const r = raw as Partial<Record<keyof VaultRecordV1, unknown>>;
  if (r.v !== RECORD_VERSION) return typeof r.v === 'number' ? 'unsupported-version' : 'malformed-record';
  if (typeof r.kid !== 'string' || !KID_RE.test(r.kid)) return 'malformed-record';
  const w = r.wrappedKey as Partial<Record<'iv' | 'tag' | 'ct', unknown>> | null | undefined;
  if (typeof w !== 'object' || w === null) return 'malformed-record';
  const iv = b64(r.iv, IV_BYTES);
  const tag = b64(r.tag, TAG_BYTES);
  const ct = b64(r.ct);
  const wiv = b64(w.iv, IV_BYTES);
  const wtag = b64(w.tag, TAG_BYTES);
  const wct = b64(w.ct, KEY_BYTES);
  if (!iv || !tag || !ct || !wiv || !wtag || !wct) return 'malformed-record';
  return { kid: r.kid, iv, tag, ct, wrapped: { iv: wiv, tag: wtag, ct: wct } };
}

function wrapDek(keyring: MasterKeyring, dek: Buffer, tenantId: string, connectionId: string): { kid: string; wrappedKey: VaultRecordV1['wrappedKey'] } {
  const kid = keyring.activeKid;
  const w = seal(keyring.keys.get(kid)!, dek, wrapAad(kid, tenantId, connectionId));
  return { kid, wrappedKey: { iv: w.iv.toString('base64'), tag: w.tag.toString('base64'), ct: w.ct.toString('base64') } };
}

// ─── The vault ───────────────────────────────────────────────────────────────────────────────────

export interface VaultOptions {
  /**
   * Where records live. Give the vault its own Keyv (never the cache's: the memory cache is an
   * LRU that evicts), preferably with `throwOnErrors: true` so a Redis outage surfaces as an error
   * instead of "no credentials".
   */
  keyv: Keyv;
  keyring: MasterKeyring;
  /** Record keys to visit in rewrap(); default: the vault's own index (see header). */
  listRecordKeys?: () => AsyncIterable<string> | Iterable<string>;
}

export interface RewrapResult {
  /** Records examined. */
  scanned: number;
  /** Records whose data key is now wrapped under the active key. */
  rewrapped: number;
  /** Records that could not be unwrapped (tampered, or their key is unknown): left as they are. */
  failed: Array<{ tenantId: string; connectionId: string; reason: VaultDecryptReason }>;
}

export class CredentialVault {
  private readonly keyv: Keyv;
  private readonly keyring: MasterKeyring;
  private readonly listRecordKeys: (() => AsyncIterable<string> | Iterable<string>) | undefined;
  /** Serializes this process's index read-modify-writes. */
  private indexChain: Promise<unknown> = Promise.resolve();

  constructor(options: VaultOptions) {
    this.keyv = options.keyv;
    this.keyring = options.keyring;
    this.listRecordKeys = options.listRecordKeys;
    if (!this.keyring.keys.has(this.keyring.activeKid)) throw new MasterKeyConfigError('vault: the active key id is not in the keyring');
  }

  get activeKid(): string {
    return this.keyring.activeKid;
  }

  /**
   * 32-byte keys for another use than wrapping records (HKDF-SHA256 of each master key, `purpose`
   * as the info), the one from the active master key first: a MAC made with the first verifies on
   * every replica, and one made before a key rotation still verifies with the others.
   */
  derivedKeys(purpose: string): Buffer[] {
    const kids = [this.keyring.activeKid, ...[...this.keyring.keys.keys()].filter((k) => k !== this.keyring.activeKid)];
    return kids.map((kid) => Buffer.from(hkdfSync('sha256', this.keyring.keys.get(kid)!, Buffer.alloc(0), `switchboard/${purpose}`, KEY_BYTES)));
  }

  /** Encrypts and stores the secret (replacing any previous one) under the active master key. */
  async put(tenantId: string, connectionId: string, secret: VaultSecret): Promise<void> {
    const key = recordKey(tenantId, connectionId);
    if (typeof secret !== 'object' || secret === null || Array.isArray(secret)) throw new TypeError('vault: a secret must be a JSON object');
    const plaintext = Buffer.from(JSON.stringify(secret), 'utf8');
    const dek = randomBytes(KEY_BYTES);
    try {
      const data = seal(dek, plaintext, dataAad(tenantId, connectionId));
      const record: VaultRecordV1 = {
        v: RECORD_VERSION,
        ...wrapDek(this.keyring, dek, tenantId, connectionId),
        iv: data.iv.toString('base64'),
        tag: data.tag.toString('base64'),
        ct: data.ct.toString('base64'),
      };
      await this.write(key, record);
    } finally {
      dek.fill(0);
      plaintext.fill(0);
    }
    await this.updateIndex((keys) => keys.add(key));
  }

  /** The decrypted secret, or null when none is stored. Throws VaultDecryptError on any tampering. */
  async get<T extends VaultSecret = VaultSecret>(tenantId: string, connectionId: string): Promise<T | null> {
    const raw: unknown = await this.keyv.get(recordKey(tenantId, connectionId));
    if (raw === undefined || raw === null) return null;
    const record = parseRecord(raw);
    if (typeof record === 'string') throw new VaultDecryptError(tenantId, connectionId, record);
    const dek = this.unwrap(record, tenantId, connectionId);
    try {
      const plaintext = open(dek, record.iv, record.tag, record.ct, dataAad(tenantId, connectionId));
      if (!plaintext) throw new VaultDecryptError(tenantId, connectionId, 'authentication-failed');
      try {
        const secret: unknown = JSON.parse(plaintext.toString('utf8'));
        if (typeof secret !== 'object' || secret === null || Array.isArray(secret)) throw new VaultDecryptError(tenantId, connectionId, 'malformed-record');
        return secret as T;
      } catch (err) {
        if (err instanceof VaultDecryptError) throw err;
        throw new VaultDecryptError(tenantId, connectionId, 'malformed-record');
      } finally {
        plaintext.fill(0);
      }
    } finally {
      dek.fill(0);
    }
  }

  /** Removes the record; true when there was one. */
  async delete(tenantId: string, connectionId: string): Promise<boolean> {
    const key = recordKey(tenantId, connectionId);
    const existed = await this.keyv.delete(key);
    await this.updateIndex((keys) => keys.delete(key));
    return existed;
  }

  /** The master key id a stored record is wrapped with (null when none is stored). */
  async keyIdOf(tenantId: string, connectionId: string): Promise<string | null> {
    const raw: unknown = await this.keyv.get(recordKey(tenantId, connectionId));
    if (raw === undefined || raw === null) return null;
    const record = parseRecord(raw);
    if (typeof record === 'string') throw new VaultDecryptError(tenantId, connectionId, record);
    return record.kid;
  }

  /**
   * Re-wraps data keys under the active master key: those wrapped under `oldKid`, or with 'all'
   * every record not already under the active key. The data ciphertext, IV and tag are kept as
   * they are. Records that fail to unwrap are reported in `failed` and left untouched.
   * Not atomic against a concurrent put() of the same record (Keyv has no compare-and-set): the
   * record is re-read just before writing to keep the window small; run it in a quiet moment.
   */
  async rewrap(oldKidOrAll: string): Promise<RewrapResult> {
    const active = this.keyring.activeKid;
    const result: RewrapResult = { scanned: 0, rewrapped: 0, failed: [] };
    for await (const key of this.recordKeys()) {
      const m = /^vault:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64})$/.exec(key);
      if (!m) continue;
      const [, tenantId, connectionId] = m as unknown as [string, string, string];
      const raw: unknown = await this.keyv.get(key);
      if (raw === undefined || raw === null) continue;
      result.scanned++;
      const record = parseRecord(raw);
      if (typeof record === 'string') {
        result.failed.push({ tenantId, connectionId, reason: record });
        continue;
      }
      if (record.kid === active || (oldKidOrAll !== 'all' && record.kid !== oldKidOrAll)) continue;
      let dek: Buffer;
      try {
        dek = this.unwrap(record, tenantId, connectionId);
      } catch (err) {
        if (!(err instanceof VaultDecryptError)) throw err;
        result.failed.push({ tenantId, connectionId, reason: err.reason });
        continue;
      }
      try {
        const updated: VaultRecordV1 = {
          v: RECORD_VERSION,
          ...wrapDek(this.keyring, dek, tenantId, connectionId),
          iv: record.iv.toString('base64'),
          tag: record.tag.toString('base64'),
          ct: record.ct.toString('base64'),
        };
        // Skip if a put() replaced the record meanwhile (it is then under the active key already).
        const current = parseRecord(await this.keyv.get(key));
        if (typeof current === 'string' || !current.ct.equals(record.ct) || current.kid !== record.kid) continue;
        await this.write(key, updated);
        result.rewrapped++;
      } finally {
        dek.fill(0);
      }
    }
    return result;
  }

  private unwrap(record: ParsedRecord, tenantId: string, connectionId: string): Buffer {
    const master = this.keyring.keys.get(record.kid);
    if (!master) throw new VaultDecryptError(tenantId, connectionId, 'unknown-key-id');
    const dek = open(master, record.wrapped.iv, record.wrapped.tag, record.wrapped.ct, wrapAad(record.kid, tenantId, connectionId));
    if (!dek || dek.length !== KEY_BYTES) throw new VaultDecryptError(tenantId, connectionId, 'authentication-failed');
    return dek;
  }

  private async write(key: string, value: unknown): Promise<void> {
    const ok = await this.keyv.set(key, value);
    if (ok === false) throw new VaultStoreError(`vault: the store did not accept the write of ${key}`);
  }

  private async *recordKeys(): AsyncIterable<string> {
    if (this.listRecordKeys) {
      yield* this.listRecordKeys();
      return;
    }
    yield* await this.readIndex();
  }

  private async readIndex(): Promise<string[]> {
    const raw: unknown = await this.keyv.get(INDEX_KEY);
    const list = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
    return Array.isArray(list) ? list.filter((k): k is string => typeof k === 'string') : [];
  }

  private updateIndex(change: (keys: Set<string>) => void): Promise<void> {
    const next = this.indexChain.then(async () => {
      const keys = new Set(await this.readIndex());
      const before = keys.size;
      const had = [...keys];
      change(keys);
      if (keys.size === before && had.every((k) => keys.has(k))) return;
      await this.write(INDEX_KEY, [...keys]);
    });
    this.indexChain = next.catch(() => undefined);
    return next;
  }
}

// ─── Store ───────────────────────────────────────────────────────────────────────────────────────

export interface VaultStore {
  keyv: Keyv;
  /** 'memory': records live in this process only and are lost on restart (say so at startup). */
  kind: 'redis' | 'memory';
  close(): Promise<void>;
}

/**
 * The vault's own Keyv: Redis when redisUrl is set, an unbounded in-process Map otherwise (never
 * the cache's LRU, which evicts). Unlike the cache, store errors throw: a Redis outage must surface
 * as an error, not as "this connection has no credentials".
 */
export async function createVaultStore(options: { redisUrl: string | null; namespace: string; onError?: (err: unknown) => void }): Promise<VaultStore> {
  const onError = options.onError ?? (() => undefined);
  if (!options.redisUrl) {
    const keyv = new Keyv({ namespace: options.namespace, throwOnErrors: true });
    keyv.on('error', onError);
    return { keyv, kind: 'memory', close: async () => undefined };
  }
  const client = createKeyvRedisClient(options.redisUrl);
  client.on('error', onError);
  const store = new KeyvRedis(client, { throwOnConnectError: true, throwOnErrors: true });
  store.on('error', onError);
  const keyv = new Keyv({
    store,
    namespace: options.namespace,
    useKeyPrefix: false,
    throwOnErrors: true,
    serialize: (data) => JSON.stringify(data),
    deserialize: (text) => JSON.parse(text) as ReturnType<typeof JSON.parse>,
  });
  keyv.on('error', onError);
  await client.connect();
  return {
    keyv,
    kind: 'redis',
    async close() {
      if (keyvClientReady(client)) await client.close();
      if (client.isOpen) client.destroy();
    },
  };
}
