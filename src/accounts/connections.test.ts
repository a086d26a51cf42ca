// The connection store, in memory and on the real Redis: records and the per-tenant index,
// updates that never resurrect a deleted connection, single-use sessions, and status events that
// reach every replica and drop its cached listing.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryConnectionStore, RedisConnectionStore, type ConnectionStore, type ManagedConnection, type StatusEvent } from './connections.ts';
import { REDIS_URL } from '../../test/test-redis.ts';

const PREFIX = `sbtest:conn:${randomUUID().slice(0, 8)}`;
const opened: ConnectionStore[] = [];

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${PREFIX}:*`);
  if (keys.length) await admin.del(...keys);
  admin.disconnect();
});

function connection(id: string, tenantId = 't1'): ManagedConnection {
  return {
    id,
    tenantId,
    provider: 'hubspot',
    auth: 'OAUTH2',
    status: 'ACTIVE',
    scopes: ['crm.objects.contacts.read'],
    baseUrl: null,
    settings: { portalId: '1' },
    createdAt: new Date().toISOString(),
    lastRefreshedAt: null,
    lastError: null,
  };
}

const stores: Array<[string, () => ConnectionStore]> = [
  ['memory', () => new MemoryConnectionStore()],
  ['redis', () => new RedisConnectionStore(REDIS_URL, `${PREFIX}:${randomUUID().slice(0, 6)}`)],
];

describe.each(stores)('%s connection store', (_name, make) => {
  const store = make();
  opened.push(store);

  it('keeps records per tenant; another tenant cannot delete them', async () => {
    await store.put(connection('a1'));
    await store.put(connection('a2'));
    await store.put(connection('b1', 't2'));
    expect((await store.listByTenant('t1')).map((c) => c.id).sort()).toEqual(['a1', 'a2']);
    expect(await store.delete('t2', 'a1')).toBe(false);
    expect(await store.delete('t1', 'a1')).toBe(true);
    expect((await store.listByTenant('t1')).map((c) => c.id)).toEqual(['a2']);
    expect(await store.get('a1')).toBeNull();
  });

  it('update patches what exists and never recreates a deleted connection', async () => {
    await store.put(connection('u1'));
    const updated = await store.update('u1', { status: 'NEEDS_REAUTH', lastError: 'invalid_grant' });
    expect(updated).toMatchObject({ id: 'u1', status: 'NEEDS_REAUTH', lastError: 'invalid_grant', scopes: ['crm.objects.contacts.read'] });
    await store.delete('t1', 'u1');
    expect(await store.update('u1', { status: 'ACTIVE' })).toBeNull();
    expect(await store.get('u1')).toBeNull();
  });

  it('concurrent updates of different fields all land', async () => {
    await store.put(connection('c1'));
    await Promise.all([
      store.update('c1', { lastRefreshedAt: '2026-01-01T00:00:00.000Z' }),
      store.update('c1', { status: 'NEEDS_REAUTH' }),
      store.update('c1', { lastError: 'x' }),
    ]);
    expect(await store.get('c1')).toMatchObject({ lastRefreshedAt: '2026-01-01T00:00:00.000Z', status: 'NEEDS_REAUTH', lastError: 'x' });
  });

  it('finds connections by a string setting (app-level webhook routing), following re-puts and deletes', async () => {
    const a = { ...connection('p1'), settings: { portalId: '777' } };
    const b = { ...connection('p2', 't2'), settings: { portalId: '777' } };
    await store.put(a);
    await store.put(b);
    await store.put({ ...connection('p3'), settings: { portalId: '888' } });
    expect((await store.bySetting('hubspot', 'portalId', '777')).map((c) => c.id).sort()).toEqual(['p1', 'p2']);
    expect(await store.bySetting('stripe', 'portalId', '777')).toEqual([]);
    await store.put({ ...a, settings: { portalId: '999' } });
    expect((await store.bySetting('hubspot', 'portalId', '777')).map((c) => c.id)).toEqual(['p2']);
    expect((await store.bySetting('hubspot', 'portalId', '999')).map((c) => c.id)).toEqual(['p1']);
    await store.delete('t2', 'p2');
    expect(await store.bySetting('hubspot', 'portalId', '777')).toEqual([]);
  });

  it('a session can be taken once; an unknown token gives nothing', async () => {
    await store.putSession('state:abc', { tenantId: 't1' }, 60);
    const [first, second] = await Promise.all([store.takeSession('state:abc'), store.takeSession('state:abc')]);
    expect([first, second].filter(Boolean)).toEqual([{ tenantId: 't1' }]);
    expect(await store.takeSession('state:nope')).toBeNull();
  });

  it('status events reach listeners and drop the cached listing', async () => {
    const seen: StatusEvent[] = [];
    const off = store.onStatus((e) => seen.push(e));
    await store.put(connection('s1'));
    expect((await store.listByTenant('t1')).some((c) => c.id === 's1')).toBe(true);
    const event: StatusEvent = { tenantId: 't1', connectionId: 's1', provider: 'hubspot', status: 'DISABLED', reason: 'test', at: new Date().toISOString() };
    const arrived = new Promise<void>((resolve) => {
      const stop = store.onStatus(() => {
        stop();
        resolve();
      });
    });
    await store.publish(event);
    await arrived;
    off();
    expect(seen).toEqual([event]);
  });
});

describe('two Redis replicas', () => {
  it("a change announced by one replica drops the other replica's cached listing at once", async () => {
    const prefix = `${PREFIX}:replicas`;
    const a = new RedisConnectionStore(REDIS_URL, prefix);
    const b = new RedisConnectionStore(REDIS_URL, prefix);
    opened.push(a, b);
    await a.put(connection('r1', 'tr'));
    expect((await b.listByTenant('tr')).map((c) => c.status)).toEqual(['ACTIVE']);
    await a.update('r1', { status: 'DISABLED' });
    // b still holds its cached listing until the announcement arrives.
    const arrived = new Promise<void>((resolve) => {
      const stop = b.onStatus((e) => {
        if (e.connectionId === 'r1') {
          stop();
          resolve();
        }
      });
    });
    await a.publish({ tenantId: 'tr', connectionId: 'r1', provider: 'hubspot', status: 'DISABLED', reason: null, at: new Date().toISOString() });
    await arrived;
    expect((await b.listByTenant('tr')).map((c) => c.status)).toEqual(['DISABLED']);
  });
});
