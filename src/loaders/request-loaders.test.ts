// RequestLoaders.prefetch: the batch it joins is sent at once (a load made after it, in the same
// turn, goes in a batch of its own), and the resolvers' later loads of the same ids find the
// promises it started (no second connector call); within one macrotask turn its batch reaches the
// connector (what listAcross waits for). Without a prefetch, one turn's loads stay one batch.
// RequestLoaders.loadedRecord: the record a loader holds once read, for loadLinked to answer with
// without a promise.
import { Keyv } from 'keyv';
import { describe, expect, it, vi } from 'vitest';
import type { ContactModel } from '../../connectors/sdk/models.ts';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import { afterCallsLeave } from '../../connectors/sdk/scheduling.ts';
import { EntityCache } from '../cache/entity-cache.ts';
import { Departures } from '../upstream/departures.ts';
import type { RequestContext } from '../context.ts';
import { loadLinked } from '../resolvers/common.ts';
import { RequestLoaders, type ConnectionHandle } from './request-loaders.ts';

function setup(contactTtlSeconds = 0) {
  const batches: string[][] = [];
  const connector = {
    manifest: { id: 'fake', displayName: 'Fake', entities: ['Contact'] },
    loaders: {
      Contact: {
        byIds: async (ids: readonly string[]) => {
          batches.push([...ids]);
          return ids.map((id) => ({ entity: 'Contact', name: id, source: { provider: 'fake', remoteId: id } }) as unknown as ContactModel);
        },
      },
    },
  };
  const handle = { config: { id: 'c1' }, connector, ctx: {} } as unknown as ConnectionHandle;
  const cache = new EntityCache(new Keyv(), null, {
    opTimeoutMs: 1_000,
    onError: (err) => expect.fail(String(err)),
    ttlSeconds: { Contact: contactTtlSeconds, Invoice: 0, Order: 0, listPage: 0 },
  });
  return { batches, handle, cache, loaders: new RequestLoaders('t1', cache) };
}

describe('RequestLoaders.prefetch', () => {
  it('sends its batch at once, and later loads of the same ids reuse it', async () => {
    const { batches, handle, loaders } = setup();
    const early = loaders.loader(handle, 'Contact').load('a');
    expect(loaders.prefetch(handle, 'Contact', ['b', 'a'])).toBe(true);
    const late = loaders.loader(handle, 'Contact').load('c');
    const again = loaders.loader(handle, 'Contact').loadMany(['a', 'b']);
    expect((await early).name).toBe('a');
    expect((await late).name).toBe('c');
    expect((await again).map((c) => (c as ContactModel).name)).toEqual(['a', 'b']);
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });

  it('reaches the connector within one turn (afterCallsLeave): what listAcross waits for', async () => {
    // With the record cache on, its lookup comes first: several promise jobs before the connector.
    const { batches, handle, loaders } = setup(60);
    expect(loaders.prefetch(handle, 'Contact', ['a', 'b'])).toBe(true);
    // The connector is called after the record cache's lookup, not within prefetch itself.
    expect(batches).toEqual([]);
    await afterCallsLeave(null);
    expect(batches).toEqual([['a', 'b']]);
  });

  it('counts a batch as on its way out until its connector call has started, past a cache read that takes a round trip', async () => {
    const { batches, handle, cache } = setup(60);
    // The record cache answering after a few turns, as Redis does.
    const getRecords = cache.getRecords.bind(cache);
    cache.getRecords = (async (...args: Parameters<typeof getRecords>) => {
      for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      return getRecords(...args);
    }) as typeof cache.getRecords;
    const departures = new Departures();
    const loaders = new RequestLoaders('t1', cache, Promise.resolve(), departures);
    expect(loaders.prefetch(handle, 'Contact', ['a', 'b'])).toBe(true);
    // One turn is not enough here (what afterCallsLeave without the gateway's signal waits for).
    await afterCallsLeave(null);
    expect(batches).toEqual([]);
    await departures.left(10_000);
    expect(batches).toEqual([['a', 'b']]);
  });

  it('sends nothing, and says so, when every id is already loaded', async () => {
    const { batches, handle, loaders } = setup();
    await loaders.loader(handle, 'Contact').loadMany(['a', 'b']);
    expect(loaders.prefetch(handle, 'Contact', ['b', 'a'])).toBe(false);
    expect(loaders.prefetch(handle, 'Contact', [])).toBe(false);
    expect(batches).toEqual([['a', 'b']]);
  });

  it('leaves one turn of loads in one batch when nothing is prefetched', async () => {
    const { batches, handle, loaders } = setup();
    const loads = ['a', 'b', 'c'].map((id) => loaders.loader(handle, 'Contact').load(id));
    await Promise.all(loads);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });
});

describe('RequestLoaders cache writes', () => {
  const scope = { tenantId: 't1', connectionId: 'c1' };

  it('wait until the request has answered; a request after that finds the records without a connector call', async () => {
    const { batches, handle, cache } = setup(60);
    let answer!: () => void;
    const first = new RequestLoaders('t1', cache, new Promise<void>((resolve) => (answer = resolve)));
    const served = await first.loader(handle, 'Contact').loadMany(['a', 'b']);
    expect(served.map((c) => (c as ContactModel).name)).toEqual(['a', 'b']);
    await afterCallsLeave(null);
    // The request has its records (its loader); the shared cache gets them only after its answer.
    expect(await cache.getRecords(scope, 'Contact', ['a', 'b'])).toEqual([undefined, undefined]);
    answer();
    await cache.settled();
    expect((await cache.getRecords<ContactModel>(scope, 'Contact', ['a', 'b'])).map((r) => r?.model.name)).toEqual(['a', 'b']);
    const second = new RequestLoaders('t1', cache);
    expect((await second.loader(handle, 'Contact').load('b')).served.cacheStatus).toBe('HIT');
    expect(batches).toEqual([['a', 'b']]);
  });

  it('held by a request that never says it answered are written when the cache is settled (before its store closes)', async () => {
    // Only setTimeout is faked: the hold's cap never fires, so only settled() can start the write.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { handle, cache } = setup(60);
      const never = new RequestLoaders('t1', cache, new Promise<void>(() => undefined));
      await never.loader(handle, 'Contact').load('a');
      await cache.settled();
      expect((await cache.getRecords<ContactModel>(scope, 'Contact', ['a']))[0]?.model.name).toBe('a');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('RequestLoaders.loadedRecord', () => {
  it('is the very record the loader resolves with, once read (from the connector or the cache); a prime replaces it', async () => {
    const { handle, loaders, cache } = setup(60);
    expect(loaders.loadedRecord(handle, 'Contact', 'a')).toBeUndefined();
    const pending = loaders.loader(handle, 'Contact').load('a');
    // Asked for, not read yet: still nothing to answer without waiting.
    expect(loaders.loadedRecord(handle, 'Contact', 'a')).toBeUndefined();
    const a = await pending;
    expect(loaders.loadedRecord(handle, 'Contact', 'a')).toBe(a);
    expect(a.served.cacheStatus).toBe('MISS');

    // Primed (a list page that embeds it): the loader and loadedRecord both hold the new one.
    const fresher = { entity: 'Contact', name: 'a, renamed', source: { provider: 'fake', remoteId: 'a' } } as unknown as ContactModel;
    loaders.prime(handle, 'Contact', [fresher]);
    const primed = loaders.loadedRecord(handle, 'Contact', 'a');
    expect(primed?.name).toBe('a, renamed');
    expect(await loaders.loader(handle, 'Contact').load('a')).toBe(primed);

    // Another request reads it from the cache: the hit is remembered the same way.
    await cache.settled();
    const next = new RequestLoaders('t1', cache);
    const hit = await next.loader(handle, 'Contact').load('a');
    expect(hit.served.cacheStatus).toBe('HIT');
    expect(next.loadedRecord(handle, 'Contact', 'a')).toBe(hit);
  });

  it('lets loadLinked answer with the record itself once read, and with a promise before', async () => {
    const { handle, loaders } = setup();
    const rc = { connection: (id: string) => (id === 'c1' ? handle : undefined), loaders } as unknown as RequestContext;
    const before = loadLinked(rc, 'c1', 'Contact', 'a');
    expect(before).toBeInstanceOf(Promise);
    const a = await before;
    // graphql-js completes a value at once; a promise would cost it a promise per record.
    expect(loadLinked(rc, 'c1', 'Contact', 'a')).toBe(a);
    expect(loadLinked(rc, 'c1', 'Contact', null)).toBeNull();
    expect(loadLinked(rc, 'elsewhere', 'Contact', 'a')).toBeNull();
  });

  it('remembers no failure: a record the provider does not have is left to the loader (and its error)', async () => {
    const connector = {
      manifest: { id: 'fake', displayName: 'Fake', entities: ['Contact'] },
      loaders: {
        Contact: {
          byIds: async (ids: readonly string[]) =>
            ids.map((id) =>
              id === 'gone'
                ? new ConnectorError('UPSTREAM_NOT_FOUND', 'no such contact')
                : ({ entity: 'Contact', name: id, source: { provider: 'fake', remoteId: id } } as unknown as ContactModel),
            ),
        },
      },
    };
    const handle = { config: { id: 'c2' }, connector, ctx: {} } as unknown as ConnectionHandle;
    const { cache } = setup();
    const loaders = new RequestLoaders('t1', cache);
    const [kept, gone] = await loaders.loader(handle, 'Contact').loadMany(['kept', 'gone']);
    expect(gone).toBeInstanceOf(Error);
    expect(loaders.loadedRecord(handle, 'Contact', 'kept')).toBe(kept);
    expect(loaders.loadedRecord(handle, 'Contact', 'gone')).toBeUndefined();
    // Per connection: the same id in another connection is another record.
    expect(loaders.loadedRecord({ ...handle, config: { id: 'c3' } } as unknown as ConnectionHandle, 'Contact', 'kept')).toBeUndefined();
  });
});
