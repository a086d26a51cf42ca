// reusingParses: the Redis store's deserializer hands out the object parsed from the same text
// before (as the in-memory store hands out the object it holds), parses any other text, and keeps
// a bounded number of characters.
import { describe, expect, it } from 'vitest';
import { reusingParses } from './store.ts';

const record = (name: string, pad = 400) =>
  JSON.stringify({ value: { model: { name, notes: 'x'.repeat(pad) }, fetchedAt: '2026-12-08T00:00:00.000Z' }, expires: 1 });

describe('reusingParses', () => {
  it('returns the object parsed before for the same text, and a new parse for any other text', () => {
    const parse = reusingParses(1_000_000);
    const text = record('Ada');
    const first = parse(text);
    // Another string with the same characters (as a second read from Redis is).
    const again = parse(`${text.slice(0, 10)}${text.slice(10)}`);
    expect(again).toBe(first);
    const changed = parse(record('Ada Lovelace'));
    expect(changed).not.toBe(first);
    expect((changed as { value: { model: { name: string } } }).value.model.name).toBe('Ada Lovelace');
    expect(first).toEqual(JSON.parse(text));
  });

  it('parses short texts and scalars every time, and every text when given no room', () => {
    const parse = reusingParses(1_000_000);
    const short = JSON.stringify({ value: 'g:17' });
    expect(parse(short)).not.toBe(parse(short));
    expect(parse(short)).toEqual({ value: 'g:17' });
    const none = reusingParses(0);
    const text = record('Grace');
    expect(none(text)).not.toBe(none(text));
  });

  it('keeps at most the given number of characters, dropping the least recently read', () => {
    const text = (i: number) => record(`r${i}`, 900);
    const size = text(0).length;
    const parse = reusingParses(size * 3);
    const kept = [0, 1, 2].map((i) => parse(text(i)));
    // Read 0 again: 1 is now the least recently read, and goes when 3 arrives.
    expect(parse(text(0))).toBe(kept[0]);
    parse(text(3));
    expect(parse(text(1))).not.toBe(kept[1]);
    expect(parse(text(0))).toBe(kept[0]);
    // A text longer than the whole allowance is parsed, not kept.
    const huge = record('huge', size * 4);
    expect(parse(huge)).not.toBe(parse(huge));
  });
});
