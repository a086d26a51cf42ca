// The pure half of unified lists: sort keys, the key order, the keyset guard and the composite cursor.
import { describe, expect, it } from 'vitest';
import {
  MAX_TIE_IDS,
  advanceLast,
  alreadyReturned,
  compareKeys,
  decodeMergeCursor,
  encodeMergeCursor,
  listOrderArg,
  nativeOrders,
  queryFingerprint,
  sortKey,
  type MergeCursor,
} from './list-order.ts';

const T = (iso: string) => Date.parse(iso);

describe('list order', () => {
  it('reads the sort key from the record source; an absent or unreadable timestamp is null', () => {
    const source = { remoteCreatedAt: '2026-01-02T03:04:05Z', remoteUpdatedAt: 'not a date' };
    expect(sortKey(source, { field: 'CREATED_AT', direction: 'DESC' })).toBe(T('2026-01-02T03:04:05Z'));
    expect(sortKey(source, { field: 'UPDATED_AT', direction: 'DESC' })).toBeNull();
    expect(sortKey({ remoteCreatedAt: null, remoteUpdatedAt: null }, { field: 'CREATED_AT', direction: 'ASC' })).toBeNull();
  });

  it('compares keys in the direction, with records lacking the timestamp last either way', () => {
    const a = T('2026-01-01T00:00:00Z');
    const b = T('2026-02-01T00:00:00Z');
    expect(compareKeys(a, b, 'ASC')).toBeLessThan(0);
    expect(compareKeys(a, b, 'DESC')).toBeGreaterThan(0);
    expect(compareKeys(null, a, 'ASC')).toBeGreaterThan(0);
    expect(compareKeys(null, a, 'DESC')).toBeGreaterThan(0);
    expect(compareKeys(a, null, 'DESC')).toBeLessThan(0);
    expect(compareKeys(null, null, 'ASC')).toBe(0);
  });

  it('takes the declared orders for the filter, and defaults to newest created first', () => {
    const declared = { orders: ['CREATED_AT_DESC' as const], withUpdatedSince: [] };
    expect(nativeOrders(declared, false)).toEqual(['CREATED_AT_DESC']);
    expect(nativeOrders(declared, true)).toEqual([]);
    expect(nativeOrders({ orders: ['UPDATED_AT_ASC'] }, true)).toEqual(['UPDATED_AT_ASC']);
    expect(nativeOrders(undefined, false)).toEqual([]);
    expect(listOrderArg(null)).toEqual({ field: 'CREATED_AT', direction: 'DESC' });
    expect(listOrderArg({ field: 'UPDATED_AT' })).toEqual({ field: 'UPDATED_AT', direction: 'DESC' });
  });

  it('the keyset guard skips what sorts before the last record, and ties only when returned', () => {
    const k = T('2026-03-01T00:00:00Z');
    const last = { k, r: [['conn-b', '7']] as Array<[string, string]> };
    // DESC: a newer record was already passed (an offset shifted it back into view).
    expect(alreadyReturned(k + 1000, 'conn-a', '1', last, 'DESC')).toBe(true);
    expect(alreadyReturned(k - 1000, 'conn-a', '1', last, 'DESC')).toBe(false);
    // The same key: only the very records returned at it.
    expect(alreadyReturned(k, 'conn-b', '7', last, 'DESC')).toBe(true);
    expect(alreadyReturned(k, 'conn-b', '8', last, 'DESC')).toBe(false);
    expect(alreadyReturned(k, 'conn-a', '7', last, 'DESC')).toBe(false);
    // Records without the timestamp come after every timed one.
    expect(alreadyReturned(null, 'conn-a', '1', last, 'ASC')).toBe(false);
    expect(alreadyReturned(k, 'conn-a', '1', { k: null, r: [] }, 'ASC')).toBe(true);
    expect(alreadyReturned(k, 'conn-a', '1', undefined, 'ASC')).toBe(false);
  });

  it('accumulates ties at one key up to a bound, and starts over at a new key', () => {
    let last = advanceLast(undefined, 5, 'a', '1');
    last = advanceLast(last, 5, 'b', '1');
    expect(last).toEqual({
      k: 5,
      r: [
        ['a', '1'],
        ['b', '1'],
      ],
    });
    expect(advanceLast(last, 6, 'a', '2')).toEqual({ k: 6, r: [['a', '2']] });
    for (let i = 0; i < MAX_TIE_IDS + 10; i++) last = advanceLast(last, 5, 'c', String(i));
    expect(last.r).toHaveLength(MAX_TIE_IDS);
  });

  it('round-trips a cursor and refuses a tampered one or one of another query', () => {
    const q = queryFingerprint('Contact', { field: 'CREATED_AT', direction: 'DESC' }, { provider: null, email: 'a@b.c' });
    const cursor: MergeCursor = {
      v: 2,
      q,
      p: { 'acme-hubspot': { a: 's:40', s: 3, n: 20, t: 120 }, 'acme-stripe': { a: null, s: 0, n: 20, x: 1 } },
      l: { k: 1767225600000, r: [['acme-hubspot', '101']] },
    };
    expect(decodeMergeCursor(encodeMergeCursor(cursor), q)).toEqual(cursor);
    const other = queryFingerprint('Contact', { field: 'UPDATED_AT', direction: 'DESC' }, { provider: null, email: 'a@b.c' });
    expect(other).not.toBe(q);
    // Absent and null filter values name the same query.
    expect(queryFingerprint('Contact', { field: 'CREATED_AT', direction: 'DESC' }, { email: 'a@b.c' })).toBe(q);
    expect(() => decodeMergeCursor(encodeMergeCursor(cursor), other)).toThrow(/another query/);
    const bad = (c: unknown) => () => decodeMergeCursor(Buffer.from(JSON.stringify(c)).toString('base64url'), q);
    expect(bad({ ...cursor, v: 1 })).toThrow(/not a cursor returned by this field/);
    expect(bad({ ...cursor, p: { x: { a: null, s: -1, n: 20 } } })).toThrow(/not a cursor/);
    expect(bad({ ...cursor, p: { x: { a: null, s: 0, n: 0 } } })).toThrow(/not a cursor/);
    expect(bad({ ...cursor, l: { k: 'soon', r: [] } })).toThrow(/not a cursor/);
    expect(() => decodeMergeCursor('%%%', q)).toThrow(/not a cursor/);
  });
});
