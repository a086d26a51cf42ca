// Runtime tenant API keys: both stores against one contract, the Redis layout (no plaintext at
// rest, revocations seen by every store at once) on the real Redis, and the operator CLI end to
// end as a child process.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SCOPES, ApiKeyInputError, MemoryApiKeyStore, RedisApiKeyStore, type ApiKeyStore } from './api-keys.ts';
import { hashApiKey } from './tenants.ts';
import { REDIS_URL } from '../../test/test-redis.ts';

// Own prefix rather than test/helpers.ts's RUN_PREFIX: importing helpers loads the whole gateway.
const PREFIX = `sbtest:apikeys:${randomUUID().slice(0, 8)}`;
const KEY_RE = /^sbk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const REPO = fileURLToPath(new URL('../..', import.meta.url));

let admin: Redis;
const opened: ApiKeyStore[] = [];

beforeAll(async () => {
  admin = new Redis(REDIS_URL, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  const keys = await scanAll(`${PREFIX}:*`);
  if (keys.length) await admin.del(...keys);
  admin.disconnect();
});

async function scanAll(pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

function redisStore(prefix = `${PREFIX}:${randomUUID().slice(0, 6)}`): RedisApiKeyStore {
  const store = new RedisApiKeyStore(REDIS_URL, prefix);
  opened.push(store);
  return store;
}

const backends: Array<{ name: string; make(): ApiKeyStore }> = [
  { name: 'MemoryApiKeyStore', make: () => new MemoryApiKeyStore() },
  { name: 'RedisApiKeyStore', make: () => redisStore() },
];

describe.each(backends)('$name', ({ make }) => {
  it('create → authenticate → revoke → authenticate is null', async () => {
    const store = make();
    const { info, key } = await store.create('acme', { label: 'ci bot' });
    const m = KEY_RE.exec(key);
    expect(m, key).not.toBeNull();
    expect(m![1]).toBe(info.id);
    expect(info).toEqual({ id: info.id, tenantId: 'acme', label: 'ci bot', scopes: ['read', 'subscribe'], createdAt: info.createdAt, expiresAt: null });
    expect(new Date(info.createdAt).toISOString()).toBe(info.createdAt);

    expect(await store.authenticate(key)).toEqual(info);
    expect(await store.list('acme')).toEqual([info]);

    expect(await store.revoke('acme', info.id)).toBe(true);
    expect(await store.authenticate(key)).toBeNull();
    expect(await store.list('acme')).toEqual([]);
    expect(await store.revoke('acme', info.id)).toBe(false);
  });

  it('another tenant cannot revoke or list a key', async () => {
    const store = make();
    const { info, key } = await store.create('acme');
    expect(await store.revoke('globex', info.id)).toBe(false);
    expect(await store.list('globex')).toEqual([]);
    expect(await store.authenticate(key)).toEqual(info);
    expect(await store.revoke('acme', 'ffffffffffffffff')).toBe(false);
    expect(await store.revoke('acme', 'not-a-key-id')).toBe(false);
  });

  it('rejects keys that are not exactly an issued key', async () => {
    const store = make();
    const { key } = await store.create('acme');
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    for (const bad of ['', 'sbk_', key.slice(0, -1), `${key.slice(0, -1)}${last}`, `${key}x`, ` ${key}`, key.toUpperCase(), hashApiKey(key)]) {
      expect(await store.authenticate(bad), bad).toBeNull();
    }
    expect(await store.authenticate(key)).not.toBeNull();
  });

  it('lists a tenant’s keys oldest first, without key material', async () => {
    const store = make();
    const a = await store.create('acme', { label: 'first' });
    await new Promise((r) => setTimeout(r, 5));
    const b = await store.create('acme', { scopes: ['admin'] });
    await store.create('globex');
    const listed = await store.list('acme');
    expect(listed.map((k) => k.id)).toEqual([a.info.id, b.info.id]);
    expect(listed[1]).toEqual({ ...b.info, label: null, scopes: ['admin'] });
    const text = JSON.stringify(listed);
    for (const { key } of [a, b]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(KEY_RE.exec(key)![2]);
      expect(text).not.toContain(hashApiKey(key));
    }
  });

  it('returns copies: mutating a result does not change the stored key', async () => {
    const store = make();
    const { info, key } = await store.create('acme', { scopes: ['read'] });
    info.scopes.push('admin');
    (await store.authenticate(key))!.scopes.push('admin');
    (await store.list('acme'))[0]!.scopes.push('admin');
    expect((await store.authenticate(key))!.scopes).toEqual(['read']);
  });

  it('validates tenant id, scopes and label', async () => {
    const store = make();
    const rejects = async (p: Promise<unknown>, message: RegExp) => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiKeyInputError);
      expect((err as Error).message).toMatch(message);
    };
    await rejects(store.create('', {}), /tenant id/);
    await rejects(store.create('a'.repeat(65)), /tenant id/);
    await rejects(store.create('acme:evil'), /tenant id/);
    await rejects(store.list('../x'), /tenant id/);
    await rejects(store.revoke('a b', 'ffffffffffffffff'), /tenant id/);
    await rejects(store.create('acme', { scopes: [] }), /must not be empty/);
    await rejects(store.create('acme', { scopes: ['write' as never] }), /unknown scope "write"/);
    await rejects(store.create('acme', { scopes: 'read' as never }), /list/);
    await rejects(store.create('acme', { label: 'x'.repeat(101) }), /at most 100/);
    await rejects(store.create('acme', { label: 'a\u001b[2Jb' }), /control characters/);
    await rejects(store.create('acme', { label: 42 as never }), /string/);
    expect(await store.list('acme')).toEqual([]); // nothing half-created by a rejected call

    expect((await store.create('a'.repeat(64), { label: 'x'.repeat(100) })).info.label).toHaveLength(100);
    expect((await store.create('Acme_-1', { scopes: ['admin', 'read', 'admin'] })).info.scopes).toEqual(['read', 'admin']);
    expect((await store.create('acme', { scopes: [...ALL_SCOPES], label: '  ' })).info).toMatchObject({ scopes: [...ALL_SCOPES], label: null });
  });

  it('issues distinct keys and ids', async () => {
    const store = make();
    const issued = await Promise.all(Array.from({ length: 50 }, () => store.create('acme')));
    expect(new Set(issued.map((i) => i.key)).size).toBe(50);
    expect(new Set(issued.map((i) => i.info.id)).size).toBe(50);
    expect(await store.list('acme')).toHaveLength(50);
  });
});

describe('RedisApiKeyStore on the real Redis', () => {
  it('stores only the digest: no key or value under the prefix contains the key or its secret', async () => {
    const prefix = `${PREFIX}:plain`;
    const store = redisStore(prefix);
    const issued = [await store.create('acme', { label: 'one' }), await store.create('globex', { scopes: ['admin'] })];
    await store.revoke('globex', issued[1]!.info.id); // and revoking leaves nothing behind either
    issued.push(await store.create('globex'));

    const keys = await scanAll(`${prefix}:*`);
    expect(keys.sort()).toEqual(
      [
        `${prefix}:apikey:hash:${hashApiKey(issued[0]!.key)}`,
        `${prefix}:apikey:hash:${hashApiKey(issued[2]!.key)}`,
        `${prefix}:apikey:tenant:acme`,
        `${prefix}:apikey:tenant:globex`,
      ].sort(),
    );
    const dump: string[] = [...keys];
    for (const k of keys) {
      const type = await admin.type(k);
      if (type === 'string') dump.push((await admin.get(k)) as string);
      else if (type === 'hash') dump.push(...Object.entries(await admin.hgetall(k)).flat());
      else throw new Error(`unexpected ${type} at ${k}`);
    }
    const all = dump.join('\n');
    for (const { key } of issued) {
      const secret = KEY_RE.exec(key)![2]!;
      expect(all).not.toContain(secret);
      expect(all).not.toContain(secret.slice(0, 16));
      expect(all).not.toContain(key);
    }
    // The tenant index maps key id → digest, the digest record holds the info.
    expect(await admin.hgetall(`${prefix}:apikey:tenant:acme`)).toEqual({ [issued[0]!.info.id]: hashApiKey(issued[0]!.key) });
    expect(JSON.parse((await admin.get(`${prefix}:apikey:hash:${hashApiKey(issued[0]!.key)}`)) as string)).toEqual(issued[0]!.info);
  });

  it('two stores on the same Redis see each other’s keys and revocations at once', async () => {
    const prefix = `${PREFIX}:replicas`;
    const a = redisStore(prefix);
    const b = redisStore(prefix);
    const { info, key } = await a.create('acme');
    expect(await b.authenticate(key)).toEqual(info);
    expect(await b.list('acme')).toEqual([info]);
    expect(await b.revoke('acme', info.id)).toBe(true);
    expect(await a.authenticate(key)).toBeNull(); // no cache on a: the next request already fails
    expect(await a.revoke('acme', info.id)).toBe(false);
  });

  it('concurrent revokes of one key from two stores succeed exactly once', async () => {
    const prefix = `${PREFIX}:race`;
    const a = redisStore(prefix);
    const b = redisStore(prefix);
    for (let i = 0; i < 20; i++) {
      const { info } = await a.create('acme');
      const results = await Promise.all([a.revoke('acme', info.id), b.revoke('acme', info.id)]);
      expect(results.filter(Boolean)).toHaveLength(1);
    }
    expect(await scanAll(`${prefix}:*`)).toEqual([]);
  });

  it('fails closed on a corrupt record', async () => {
    const prefix = `${PREFIX}:corrupt`;
    const store = redisStore(prefix);
    const { key } = await store.create('acme', { scopes: ['read'] });
    const record = `${prefix}:apikey:hash:${hashApiKey(key)}`;
    await admin.set(record, '{not json');
    expect(await store.authenticate(key)).toBeNull();
    await admin.set(record, JSON.stringify({ id: 'x', tenantId: 'acme', label: null, scopes: ['root'], createdAt: new Date().toISOString() }));
    expect(await store.authenticate(key)).toBeNull();
    expect(await store.list('acme')).toEqual([]);
  });

  it('uses a shared connection without closing it', async () => {
    const shared = new Redis(REDIS_URL);
    const store = new RedisApiKeyStore(shared, `${PREFIX}:shared`);
    const { key } = await store.create('acme');
    await store.close();
    expect(await shared.ping()).toBe('PONG');
    expect(await new RedisApiKeyStore(shared, `${PREFIX}:shared`).authenticate(key)).not.toBeNull();
    shared.disconnect();
  });

  it('rejects (does not return null) when Redis is unreachable', async () => {
    const store = new RedisApiKeyStore('redis://127.0.0.1:1', PREFIX);
    const { key } = await new MemoryApiKeyStore().create('acme');
    await expect(store.authenticate(key)).rejects.toThrow();
    await store.close();
  });
});

describe('api-keys-cli', () => {
  const prefix = `${PREFIX}:cli`;
  const baseEnv = { ...process.env, REDIS_URL, SWITCHBOARD_KEY_PREFIX: prefix };

  function cli(args: string[], env: NodeJS.ProcessEnv = baseEnv): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/callers/api-keys-cli.ts', ...args], { cwd: REPO, env, timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
      });
    });
  }

  it('create prints the key once; it authenticates; list hides it; revoke ends it', async () => {
    const created = await cli(['create', '--tenant', 'acme', '--scopes', 'read,admin', '--label', 'deploy bot']);
    expect(created.code, created.stderr).toBe(0);
    const key = /sbk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0];
    expect(key, created.stdout).toBeDefined();
    const id = KEY_RE.exec(key!)![1]!;
    expect(created.stdout).toContain(`created key ${id} for tenant acme`);
    expect(created.stdout).toMatch(/will not be shown again/);
    expect(created.stdout.split(key!)).toHaveLength(2); // printed exactly once

    const store = redisStore(prefix);
    expect(await store.authenticate(key!)).toMatchObject({ id, tenantId: 'acme', scopes: ['read', 'admin'], label: 'deploy bot' });

    const listed = await cli(['list', '--tenant', 'acme']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('read,admin');
    expect(listed.stdout).toContain('deploy bot');
    expect(listed.stdout + listed.stderr).not.toContain(KEY_RE.exec(key!)![2]);
    expect(listed.stdout + listed.stderr).not.toContain(hashApiKey(key!));

    expect((await cli(['revoke', '--tenant', 'globex', '--id', id])).code).toBe(1); // wrong tenant
    expect(await store.authenticate(key!)).not.toBeNull();
    const revoked = await cli(['revoke', '--tenant', 'acme', '--id', id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await store.authenticate(key!)).toBeNull();
    const again = await cli(['revoke', '--tenant', 'acme', '--id', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/has no key/);
    expect((await cli(['list', '--tenant', 'acme'])).stdout).toMatch(/no API keys/);
  }, 120_000); // six CLI processes, one after another

  it('exits 2 without REDIS_URL, on bad usage and on invalid input', async () => {
    const env = { ...baseEnv, SWITCHBOARD_KEY_PREFIX: `${PREFIX}:cli-bad` };
    const { REDIS_URL: _omit, ...noRedis } = env;
    const missing = await cli(['list', '--tenant', 'acme'], noRedis);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/REDIS_URL is not set/);

    for (const args of [
      [],
      ['rotate', '--tenant', 'acme'],
      ['create'],
      ['revoke', '--tenant', 'acme'],
      ['list', '--tenant', 'acme', '--id', 'x'],
      ['create', '--tenant', 'acme', '--bogus'],
    ]) {
      const r = await cli(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/usage:/);
    }
    const badScope = await cli(['create', '--tenant', 'acme', '--scopes', 'read,write'], env);
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toMatch(/unknown scope "write"/);
    expect(await scanAll(`${PREFIX}:cli-bad:*`)).toEqual([]); // nothing created by the failed calls
  }, 120_000); // nine CLI processes started one after another: each loads tsx, seconds apiece on a loaded machine
});
