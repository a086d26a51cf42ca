import { randomBytes, randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@keyv/redis';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKvStore, type KvStore } from '../cache/store.ts';
import { ConfigError } from '../config.ts';
import {
  CredentialVault,
  MasterKeyConfigError,
  VaultDecryptError,
  createVaultStore,
  loadVaultKeyring,
  parseMasterKeys,
  recordKey,
  type MasterKeyring,
  type VaultRecordV1,
} from './vault.ts';
import { REDIS_URL } from '../../test/test-redis.ts';

const RUN = `sb-vault-test:${randomUUID().slice(0, 8)}`;

const k = () => randomBytes(32).toString('base64');
const K1 = k();
const K2 = k();
const ring = (keys: string, active?: string): MasterKeyring => parseMasterKeys(keys, active);

function flipBit(b64: string, byte = 0, bit = 0): string {
  const buf = Buffer.from(b64, 'base64');
  buf[byte] = buf[byte]! ^ (1 << bit);
  return buf.toString('base64');
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

interface Backend {
  name: string;
  setup(): Promise<{ keyv: Keyv; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'Keyv in memory (default Map store)',
    async setup() {
      const keyv = new Keyv({ namespace: `${RUN}:mem` });
      return { keyv, close: async () => undefined };
    },
  },
  {
    name: 'Keyv from createKvStore (memory, objects stored as-is)',
    async setup() {
      const kv = await createKvStore({ redisUrl: null, namespace: `${RUN}:kvmem`, onError: () => undefined });
      return { keyv: kv.keyv, close: () => kv.close() };
    },
  },
  {
    name: 'Keyv on real Redis (@keyv/redis via createKvStore)',
    async setup() {
      const kv = await waitReady(await createKvStore({ redisUrl: REDIS_URL, namespace: `${RUN}:redis:${randomUUID().slice(0, 6)}`, onError: () => undefined }));
      return { keyv: kv.keyv, close: () => kv.close() };
    },
  },
  {
    name: 'createVaultStore on real Redis (throwOnErrors)',
    async setup() {
      const vs = await createVaultStore({ redisUrl: REDIS_URL, namespace: `${RUN}:vs:${randomUUID().slice(0, 6)}` });
      expect(vs.kind).toBe('redis');
      return { keyv: vs.keyv, close: () => vs.close() };
    },
  },
  {
    name: 'createVaultStore in memory',
    async setup() {
      const vs = await createVaultStore({ redisUrl: null, namespace: `${RUN}:vsmem` });
      expect(vs.kind).toBe('memory');
      return { keyv: vs.keyv, close: () => vs.close() };
    },
  },
];

async function waitReady(kv: KvStore): Promise<KvStore> {
  for (let i = 0; i < 100; i++) {
    if (await kv.ping(200)) return kv;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis at ${REDIS_URL} is not answering`);
}

// Raw Redis access for scanning and cleanup.
let redis: RedisClientType;
beforeAll(async () => {
  redis = createClient({ url: REDIS_URL }) as RedisClientType;
  await redis.connect();
});
afterAll(async () => {
  for await (const batch of redis.scanIterator({ MATCH: `*${RUN}*`, COUNT: 500 })) {
    const keys = Array.isArray(batch) ? batch : [batch];
    if (keys.length) await redis.del(keys);
  }
  await redis.close();
});

async function scanRedis(): Promise<Array<{ key: string; value: string }>> {
  const out: Array<{ key: string; value: string }> = [];
  for await (const batch of redis.scanIterator({ MATCH: `*${RUN}*`, COUNT: 500 })) {
    for (const key of Array.isArray(batch) ? batch : [batch]) {
      const type = await redis.type(key);
      if (type === 'string') out.push({ key, value: (await redis.get(key)) ?? '' });
      else
        out.push({
          key,
          value: JSON.stringify(await redis.sendCommand(type === 'set' ? ['SMEMBERS', key] : type === 'hash' ? ['HGETALL', key] : ['DUMP', key])),
        });
    }
  }
  return out;
}

describe.each(backends)('CredentialVault on $name', (backend) => {
  let keyv: Keyv;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ keyv, close } = await backend.setup());
  });
  // Each test starts from an empty namespace (rewrap visits everything in the index).
  beforeEach(async () => {
    await keyv.clear();
  });
  afterAll(async () => {
    await keyv.clear().catch(() => undefined);
    await close();
  });

  const secret = () => ({
    accessToken: `at_${randomUUID()}`,
    refreshToken: `rt_${randomUUID()}`,
    expiresAt: '2030-01-01T00:00:00.000Z',
    scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write'],
  });
  async function raw(tenant: string, conn: string): Promise<VaultRecordV1> {
    return clone((await keyv.get(recordKey(tenant, conn))) as VaultRecordV1);
  }
  async function store(tenant: string, conn: string, rec: unknown): Promise<void> {
    expect(await keyv.set(recordKey(tenant, conn), rec)).toBe(true);
  }

  it('round-trips a secret, returns null when absent, deletes', async () => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`, 'k1') });
    const s = secret();
    await vault.put('tA', 'c1', s);
    expect(await vault.get('tA', 'c1')).toEqual(s);
    expect(await vault.get('tA', 'nope')).toBeNull();

    const rec = await raw('tA', 'c1');
    expect(rec).toMatchObject({ v: 1, kid: 'k1' });
    expect(Buffer.from(rec.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(rec.tag, 'base64')).toHaveLength(16);
    expect(Buffer.from(rec.wrappedKey.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(rec.wrappedKey.tag, 'base64')).toHaveLength(16);
    expect(JSON.stringify(rec)).not.toContain(s.accessToken);

    // A second put of the same secret uses a fresh data key and IV.
    await vault.put('tA', 'c1', s);
    const rec2 = await raw('tA', 'c1');
    expect(rec2.iv).not.toBe(rec.iv);
    expect(rec2.wrappedKey.ct).not.toBe(rec.wrappedKey.ct);

    expect(await vault.delete('tA', 'c1')).toBe(true);
    expect(await vault.get('tA', 'c1')).toBeNull();
  });

  it('rejects ids that could make keys ambiguous, and non-object secrets', async () => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`) });
    await expect(vault.put('a:b', 'c', {})).rejects.toThrow(TypeError);
    await expect(vault.get('a', '')).rejects.toThrow(TypeError);
    await expect(vault.put('a', 'c', ['x'] as unknown as Record<string, unknown>)).rejects.toThrow(/JSON object/);
  });

  const tamperings: Array<[string, (r: VaultRecordV1) => void]> = [
    ['ciphertext', (r) => void (r.ct = flipBit(r.ct, 3, 5))],
    ['ciphertext (last bit)', (r) => void (r.ct = flipBit(r.ct, Buffer.from(r.ct, 'base64').length - 1, 7))],
    ['IV', (r) => void (r.iv = flipBit(r.iv, 11, 0))],
    ['tag', (r) => void (r.tag = flipBit(r.tag, 0, 1))],
    ['wrapped key ciphertext', (r) => void (r.wrappedKey.ct = flipBit(r.wrappedKey.ct, 31, 2))],
    ['wrapped key IV', (r) => void (r.wrappedKey.iv = flipBit(r.wrappedKey.iv, 5, 3))],
    ['wrapped key tag', (r) => void (r.wrappedKey.tag = flipBit(r.wrappedKey.tag, 15, 6))],
  ];
  it.each(tamperings)('flipping one bit of the %s → VaultDecryptError, no secret in the error', async (_what, tamper) => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`) });
    const s = secret();
    await vault.put('tT', 'c1', s);
    const rec = await raw('tT', 'c1');
    tamper(rec);
    await store('tT', 'c1', rec);
    const err = await vault.get('tT', 'c1').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VaultDecryptError);
    const e = err as VaultDecryptError;
    expect(e.code).toBe('VAULT_DECRYPT_FAILED');
    expect(e.reason).toBe('authentication-failed');
    const shown = `${e.message} ${e.stack} ${JSON.stringify(e)}`;
    for (const v of [s.accessToken, s.refreshToken, K1, rec.ct, rec.wrappedKey.ct]) expect(shown).not.toContain(v);
    // The vault still works for other records afterwards.
    await vault.put('tT', 'c2', s);
    expect(await vault.get('tT', 'c2')).toEqual(s);
  });

  it('malformed records, unknown versions and a swapped kid → VaultDecryptError', async () => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k1') });
    await vault.put('tM', 'c1', secret());
    const rec = await raw('tM', 'c1');
    const cases: Array<[unknown, string]> = [
      [{ ...rec, kid: 'k2' }, 'authentication-failed'],
      [{ ...rec, kid: 'gone' }, 'unknown-key-id'],
      [{ ...rec, v: 2 }, 'unsupported-version'],
      [{ ...rec, iv: 'not base64!' }, 'malformed-record'],
      [{ ...rec, tag: Buffer.alloc(8).toString('base64') }, 'malformed-record'],
      [{ ...rec, wrappedKey: null }, 'malformed-record'],
      ['garbage', 'malformed-record'],
      [42, 'malformed-record'],
    ];
    for (const [value, reason] of cases) {
      await store('tM', 'c1', value);
      await expect(vault.get('tM', 'c1')).rejects.toMatchObject({ name: 'VaultDecryptError', code: 'VAULT_DECRYPT_FAILED', reason });
    }
  });

  it("tenant A's record copied into tenant B's (or another connection's) slot fails", async () => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`) });
    const a = secret();
    const b = secret();
    await vault.put('tenantA', 'hubspot', a);
    await vault.put('tenantB', 'hubspot', b);
    const recA = await raw('tenantA', 'hubspot');
    const recB = await raw('tenantB', 'hubspot');
    await store('tenantB', 'hubspot', recA);
    await expect(vault.get('tenantB', 'hubspot')).rejects.toMatchObject({ code: 'VAULT_DECRYPT_FAILED', tenantId: 'tenantB' });
    await store('tenantA', 'stripe', recA);
    await expect(vault.get('tenantA', 'stripe')).rejects.toBeInstanceOf(VaultDecryptError);
    // Splicing A's data under B's (valid) wrapped key fails too: B's data key does not open it.
    await store('tenantB', 'hubspot', { ...recB, iv: recA.iv, tag: recA.tag, ct: recA.ct });
    await expect(vault.get('tenantB', 'hubspot')).rejects.toBeInstanceOf(VaultDecryptError);
    // The originals are unaffected.
    await store('tenantB', 'hubspot', recB);
    expect(await vault.get('tenantA', 'hubspot')).toEqual(a);
    expect(await vault.get('tenantB', 'hubspot')).toEqual(b);
  });

  it('rotation: k1 records readable under k2, new records use k2, rewrap moves all, then k1 can go', async () => {
    const v1 = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`, 'k1') });
    const old = Array.from({ length: 5 }, (_, i) => [`tR`, `c${i}`, secret()] as const);
    for (const [t, c, s] of old) await v1.put(t, c, s);
    const otherTenant = secret();
    await v1.put('tR2', 'c0', otherTenant);

    const v2 = new CredentialVault({ keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k2') });
    for (const [t, c, s] of old) {
      expect(await v2.get(t, c)).toEqual(s);
      expect(await v2.keyIdOf(t, c)).toBe('k1');
    }
    const fresh = secret();
    await v2.put('tR', 'new', fresh);
    expect(await v2.keyIdOf('tR', 'new')).toBe('k2');

    // A reader that only has k2 cannot yet read the old records (proves they are still under k1).
    const k2only = new CredentialVault({ keyv, keyring: ring(`k2:${K2}`) });
    await expect(k2only.get('tR', 'c0')).rejects.toMatchObject({ reason: 'unknown-key-id' });

    const dataBefore = await raw('tR', 'c0');
    const result = await v2.rewrap('k1');
    expect(result.failed).toEqual([]);
    expect(result.rewrapped).toBe(6);
    const dataAfter = await raw('tR', 'c0');
    expect(dataAfter.kid).toBe('k2');
    // The data ciphertext, IV and tag are untouched; only the wrapped key changed.
    expect({ iv: dataAfter.iv, tag: dataAfter.tag, ct: dataAfter.ct }).toEqual({ iv: dataBefore.iv, tag: dataBefore.tag, ct: dataBefore.ct });
    expect(dataAfter.wrappedKey).not.toEqual(dataBefore.wrappedKey);

    // Idempotent: nothing left under k1.
    expect((await v2.rewrap('all')).rewrapped).toBe(0);

    // k1 removed from the environment: everything still decrypts.
    for (const [t, c, s] of old) expect(await k2only.get(t, c)).toEqual(s);
    expect(await k2only.get('tR', 'new')).toEqual(fresh);
    expect(await k2only.get('tR2', 'c0')).toEqual(otherTenant);
  });

  it("rewrap('all') reports records it cannot unwrap and leaves them as they are; deleted records leave the index", async () => {
    const v1 = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`, 'k1') });
    await v1.put('tW', 'good', secret());
    await v1.put('tW', 'bad', secret());
    await v1.put('tW', 'gone', secret());
    await v1.delete('tW', 'gone');
    const bad = await raw('tW', 'bad');
    bad.wrappedKey.tag = flipBit(bad.wrappedKey.tag);
    await store('tW', 'bad', bad);
    const v2 = new CredentialVault({ keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k2') });
    const result = await v2.rewrap('all');
    expect(result.failed).toEqual([{ tenantId: 'tW', connectionId: 'bad', reason: 'authentication-failed' }]);
    expect(await v2.keyIdOf('tW', 'good')).toBe('k2');
    expect(await raw('tW', 'bad')).toEqual(bad);
    expect(await v2.keyIdOf('tW', 'gone')).toBeNull();
  });

  it('concurrent puts in one process all land in the index', async () => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`) });
    await Promise.all(Array.from({ length: 20 }, (_, i) => vault.put('tC', `c${i}`, secret())));
    const v2 = new CredentialVault({ keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k2') });
    const result = await v2.rewrap('k1');
    for (let i = 0; i < 20; i++) expect(await v2.keyIdOf('tC', `c${i}`)).toBe('k2');
    expect(result.failed).toEqual([]);
  });

  it('an explicit key lister replaces the index', async () => {
    const vault = new CredentialVault({ keyv, keyring: ring(`k1:${K1}`) });
    await vault.put('tL', 'c1', secret());
    await vault.put('tL', 'c2', secret());
    const v2 = new CredentialVault({ keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k2'), listRecordKeys: () => [recordKey('tL', 'c2'), 'unrelated'] });
    const result = await v2.rewrap('all');
    expect(result.rewrapped).toBe(1);
    expect(await v2.keyIdOf('tL', 'c1')).toBe('k1');
    expect(await v2.keyIdOf('tL', 'c2')).toBe('k2');
  });
});

describe('Redis holds no plaintext', () => {
  it('scanning every value the vault stored in Redis finds no token string', async () => {
    const kv = await waitReady(await createKvStore({ redisUrl: REDIS_URL, namespace: `${RUN}:scan`, onError: () => undefined }));
    try {
      const vault = new CredentialVault({ keyv: kv.keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k1') });
      const tokens: string[] = [];
      for (let i = 0; i < 5; i++) {
        const s = { accessToken: `PLAINTEXT-AT-${randomUUID()}`, refreshToken: `PLAINTEXT-RT-${randomUUID()}`, scopes: ['read'] };
        tokens.push(s.accessToken, s.refreshToken);
        await vault.put('tS', `c${i}`, s);
      }
      const v2 = new CredentialVault({ keyv: kv.keyv, keyring: ring(`k1:${K1},k2:${K2}`, 'k2') });
      await v2.rewrap('all');
      const values = await scanRedis();
      const mine = values.filter((v) => v.key.includes(`${RUN}:scan`));
      expect(mine.length).toBe(6); // 5 records + the index
      const everything = values.map((v) => `${v.key}\n${v.value}`).join('\n');
      for (const t of tokens) {
        expect(everything).not.toContain(t);
        expect(everything).not.toContain(Buffer.from(t).toString('base64'));
      }
      expect(everything).not.toContain('PLAINTEXT');
      for (const key of [K1, K2]) expect(everything).not.toContain(key);
      for (let i = 0; i < 5; i++) expect((await v2.get('tS', `c${i}`))?.accessToken).toBe(tokens[i * 2]);
    } finally {
      await kv.close();
    }
  });
});

describe('master key environment', () => {
  const k16 = randomBytes(16).toString('base64');
  const expectError = (keys: string | undefined, active: string | undefined, message: string | RegExp) => {
    let err: unknown;
    try {
      parseMasterKeys(keys, active);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MasterKeyConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(message);
    for (const secret of [K1, K2, k16]) expect(msg).not.toContain(secret);
  };

  it('parses keys, the active id, whitespace, base64url and unpadded base64', () => {
    const url = randomBytes(32).toString('base64url');
    const r = parseMasterKeys(` k2025:${K1} , k2026:${K2},url_key:${url}, nopad:${K1.replace(/=+$/, '')}`, 'k2026');
    expect(r.activeKid).toBe('k2026');
    expect([...r.keys.keys()]).toEqual(['k2025', 'k2026', 'url_key', 'nopad']);
    expect(r.keys.get('k2025')).toEqual(Buffer.from(K1, 'base64'));
    expect(r.keys.get('url_key')).toEqual(Buffer.from(url, 'base64url'));
    expect(r.keys.get('nopad')).toEqual(Buffer.from(K1, 'base64'));
    expect(parseMasterKeys(`only:${K1}`, undefined).activeKid).toBe('only');
  });

  it('rejects each malformation with a precise error and no key material', () => {
    expectError(undefined, 'k1', /SWITCHBOARD_MASTER_KEYS is not set/);
    expectError('   ', 'k1', /SWITCHBOARD_MASTER_KEYS is not set/);
    expectError(K1, undefined, /entry 1 has no ":"/);
    expectError(`k1:${K1},,k2:${K2}`, 'k1', /entry 2 is empty/);
    expectError(`k1:${K1},k2:${k16}`, 'k1', /entry 2 \(key id "k2"\): key decodes to 16 bytes, expected 32/);
    expectError(`k1:${K1.slice(0, 20)}!!${K1.slice(22)}`, 'k1', /entry 1 \(key id "k1"\): key is not valid base64/);
    expectError(`k1:${K1}x`, 'k1', /entry 1 \(key id "k1"\): key is not valid base64|decodes to \d+ bytes/);
    expectError(`k1:`, 'k1', /entry 1 \(key id "k1"\): key is empty/);
    expectError(`k1:${K1},k1:${K2}`, 'k1', /entry 2: duplicate key id "k1"/);
    expectError(`bad id:${K1}`, undefined, /entry 1: key id must be/);
    expectError(`k1:${K1},k2:${K2}`, 'k3', /SWITCHBOARD_MASTER_KEY_ID "k3" is not among the key ids in SWITCHBOARD_MASTER_KEYS \(k1, k2\)/);
    expectError(`k1:${K1},k2:${K2}`, undefined, /SWITCHBOARD_MASTER_KEY_ID is not set and SWITCHBOARD_MASTER_KEYS has 2 keys/);
  });

  it('loadVaultKeyring: production requires keys; development falls back to an ephemeral key; malformed fails everywhere', () => {
    expect(() => loadVaultKeyring({}, 'production')).toThrow(/SWITCHBOARD_MASTER_KEYS is not set/);
    expect(() => loadVaultKeyring({ SWITCHBOARD_MASTER_KEYS: `k1:${k16}`, SWITCHBOARD_MASTER_KEY_ID: 'k1' }, 'production')).toThrow(MasterKeyConfigError);
    expect(() => loadVaultKeyring({ SWITCHBOARD_MASTER_KEYS: `k1:${k16}` }, 'development')).toThrow(/16 bytes/);
    expect(() => loadVaultKeyring({ SWITCHBOARD_MASTER_KEY_ID: 'k1' }, 'development')).toThrow(/SWITCHBOARD_MASTER_KEYS is not/);
    const prod = loadVaultKeyring({ SWITCHBOARD_MASTER_KEYS: `k1:${K1},k2:${K2}`, SWITCHBOARD_MASTER_KEY_ID: 'k2' }, 'production');
    expect(prod).toMatchObject({ activeKid: 'k2', ephemeral: false });
    const dev = loadVaultKeyring({}, 'development');
    expect(dev.ephemeral).toBe(true);
    expect(dev.keys.get(dev.activeKid)).toHaveLength(32);
  });
});
