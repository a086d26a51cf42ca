// Every change subscription of a process shares one listener on the change log, routed by tenant:
// many subscriptions of one tenant each receive exactly their tenant's changes (filtered by their
// arguments, resumed from their cursor without gap or duplicate), another tenant's changes never
// reach them, and the log's listener goes away with the last subscription. On Redis and in memory.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, RUN_PREFIX } from '../../test/helpers.ts';
import { MemoryChangeLog, RedisChangeLog, type ChangeListener, type ChangeLog } from './change-log.ts';
import type { PublishedChange } from './model.ts';
import { changeStream, routerOf } from './subscribe.ts';

function change(n: number, tenantId: string, type: PublishedChange['type'] = 'UPDATED'): Omit<PublishedChange, 'cursor'> {
  return {
    tenantId,
    connectionId: `${tenantId}-hubspot`,
    provider: 'hubspot',
    entity: 'Contact',
    eventId: `evt-${n}-${randomUUID()}`,
    type,
    occurredAt: new Date().toISOString(),
    remoteId: `${tenantId}-${n}`,
    model: null,
    publishedAt: new Date().toISOString(),
  };
}

/** The log as subscriptions see it, counting the listeners they attach to it (the real log underneath). */
class CountingLog implements ChangeLog {
  listens = 0;
  active = 0;
  constructor(private readonly inner: ChangeLog) {}
  append = (c: Omit<PublishedChange, 'cursor'>) => this.inner.append(c);
  readAfter = (t: string, c: string, n: number) => this.inner.readAfter(t, c, n);
  accepts = (c: string) => this.inner.accepts(c);
  trimmedThrough = (t: string) => this.inner.trimmedThrough(t);
  headCursor = (t: string) => this.inner.headCursor(t);
  start = () => this.inner.start();
  remove = (t: string, m: (c: PublishedChange) => boolean) => this.inner.remove(t, m);
  close = () => this.inner.close();
  listen(listener: ChangeListener): () => void {
    this.listens++;
    this.active++;
    const off = this.inner.listen(listener);
    return () => {
      this.active--;
      off();
    };
  }
}

/** Reads `stream` until `count` changes arrived (or it ended), without awaiting a fixed time. */
async function collect(stream: AsyncIterableIterator<PublishedChange>, count: number): Promise<PublishedChange[]> {
  const got: PublishedChange[] = [];
  while (got.length < count) {
    const next = await stream.next();
    if (next.done) break;
    got.push(next.value);
  }
  return got;
}

const logs: ChangeLog[] = [];
afterAll(async () => {
  await Promise.all(logs.map((l) => l.close()));
});

const kinds: Array<[string, () => ChangeLog]> = [
  ['redis', () => new RedisChangeLog(REDIS_URL, `${RUN_PREFIX}:route-${randomUUID().slice(0, 6)}`, 10_000, () => undefined)],
  ['memory', () => new MemoryChangeLog(10_000)],
];

describe.each(kinds)('change subscriptions share one log listener, routed by tenant (%s)', (_kind, make) => {
  it("300 subscriptions of two tenants: one listener; each gets exactly its tenant's changes; none of the other's", async () => {
    const inner = make();
    logs.push(inner);
    inner.start();
    const log = new CountingLog(inner);
    const ACME = 200;
    const GLOBEX = 100;
    const acme = Array.from({ length: ACME }, () => changeStream(log, 'acme', () => true, null));
    // Half of globex's subscriptions want only DELETED changes (their arguments are applied per subscription).
    const globex = Array.from({ length: GLOBEX }, (_, i) => changeStream(log, 'globex', i % 2 ? { matches: (c) => c.type === 'DELETED' } : () => true, null));
    expect(log.listens).toBe(1);
    expect(routerOf(log).size).toBe(ACME + GLOBEX);

    // Interleaved: 30 changes of acme, 20 of globex (every fourth a deletion), then a last one each.
    const appended: Array<Omit<PublishedChange, 'cursor'>> = [];
    for (let i = 0; i < 50; i++) appended.push(i % 5 < 3 ? change(i, 'acme') : change(i, 'globex', i % 4 === 0 ? 'DELETED' : 'UPDATED'));
    for (const c of appended) await log.append(c);
    const acmeIds = appended.filter((c) => c.tenantId === 'acme').map((c) => c.remoteId);
    const globexIds = appended.filter((c) => c.tenantId === 'globex').map((c) => c.remoteId);
    const globexDeleted = appended.filter((c) => c.tenantId === 'globex' && c.type === 'DELETED').map((c) => c.remoteId);

    const acmeGot = await Promise.all(acme.map((s) => collect(s, acmeIds.length)));
    for (const got of acmeGot) {
      expect(got.map((c) => c.remoteId)).toEqual(acmeIds);
      expect(got.every((c) => c.tenantId === 'acme')).toBe(true);
    }
    const globexGot = await Promise.all(globex.map((s, i) => collect(s, i % 2 ? globexDeleted.length : globexIds.length)));
    globexGot.forEach((got, i) => expect(got.map((c) => c.remoteId)).toEqual(i % 2 ? globexDeleted : globexIds));

    // A barrier per tenant: nothing of the other tenant arrived in between (each stream's next change is its own).
    await log.append(change(1000, 'globex', 'DELETED'));
    await log.append(change(1001, 'acme'));
    for (const got of await Promise.all(acme.map((s) => collect(s, 1)))) expect(got.map((c) => c.remoteId)).toEqual(['acme-1001']);
    for (const got of await Promise.all(globex.map((s) => collect(s, 1)))) expect(got.map((c) => c.remoteId)).toEqual(['globex-1000']);

    await Promise.all([...acme, ...globex].map((s) => s.return?.()));
    expect(routerOf(log).size).toBe(0);
    expect(log.active).toBe(0);
  });

  it('subscriptions resuming from different cursors share the listener and get no gap and no duplicate', async () => {
    const inner = make();
    logs.push(inner);
    inner.start();
    const log = new CountingLog(inner);
    const cursors: string[] = [await log.headCursor('acme')];
    for (let i = 0; i < 20; i++) cursors.push(await log.append(change(i, 'acme')));
    // 21 subscriptions, each resuming after another cursor, while 10 more changes are appended.
    const streams = cursors.map((c) => changeStream(log, 'acme', () => true, c));
    expect(log.listens).toBe(1);
    const live = (async () => {
      for (let i = 20; i < 30; i++) await log.append(change(i, 'acme'));
    })();
    const got = await Promise.all(streams.map((s, k) => collect(s, 30 - k)));
    await live;
    got.forEach((changes, k) => expect(changes.map((c) => c.remoteId)).toEqual(Array.from({ length: 30 - k }, (_, i) => `acme-${k + i}`)));
    await Promise.all(streams.map((s) => s.return?.()));
    expect(log.active).toBe(0);
  });
});
