// The entity cache with caching switched off for an entity (TTL 0): nothing is written, and
// nothing is read either, so a cold read pays no store round trip per batch.
import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import type { ContactModel } from '../../connectors/sdk/models.ts';
import { EntityCache } from './entity-cache.ts';

const scope = { tenantId: 't1', connectionId: 'c1' };
const contact = { entity: 'Contact', source: { provider: 'fake', remoteId: 'r1' }, raw: { id: 'r1' } } as unknown as ContactModel;
const ttls = (Contact: number) => ({ Contact, Invoice: 60, Order: 60, listPage: 60 });

function counted(keyv: Keyv): { reads: () => number } {
  let reads = 0;
  const getMany = keyv.getMany.bind(keyv);
  keyv.getMany = ((keys: string[]) => {
    reads++;
    return getMany(keys);
  }) as typeof keyv.getMany;
  return { reads: () => reads };
}

describe('EntityCache with a TTL of 0', () => {
  it('neither reads nor writes records, raw records or deferred parts of that entity; other TTLs still read', async () => {
    const keyv = new Keyv();
    const options = { opTimeoutMs: 1_000, onError: (err: unknown) => expect.fail(String(err)) };
    const on = new EntityCache(keyv, null, { ...options, ttlSeconds: ttls(60) });
    const off = new EntityCache(keyv, null, { ...options, ttlSeconds: ttls(0) });
    await on.setRecords(scope, 'Contact', [{ model: contact, fetchedAt: '2026-01-01T00:00:00.000Z' }]);
    await on.setParts(scope, 'Contact', 'lineItems', [{ remoteId: 'r1', part: { value: [], recordFetchedAt: 'x' } }]);
    expect((await on.getRecords(scope, 'Contact', ['r1']))[0]?.model.source.remoteId).toBe('r1');

    const { reads } = counted(keyv);
    expect(await off.getRecords(scope, 'Contact', ['r1', 'r2'])).toEqual([undefined, undefined]);
    expect(await off.getRaw(scope, 'Contact', ['r1'])).toEqual([undefined]);
    expect(await off.getParts(scope, 'Contact', 'lineItems', ['r1'])).toEqual([undefined]);
    expect(reads()).toBe(0);

    await off.setRecords(scope, 'Contact', [{ model: { ...contact, source: { ...contact.source, remoteId: 'r3' } }, fetchedAt: 'x' }]);
    expect((await on.getRecords(scope, 'Contact', ['r3']))[0]).toBeUndefined();
    expect((await on.getRaw(scope, 'Contact', ['r1']))[0]).toEqual({ raw: { id: 'r1' } });
    expect(reads()).toBe(2);
  });
});
