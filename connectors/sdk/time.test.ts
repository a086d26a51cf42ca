// isoString writes what Date.prototype.toISOString writes, for every millisecond it handles itself
// and for the ones it hands back to Date.
import { describe, expect, it } from 'vitest';
import { isoString } from './time.ts';

const asDate = (ms: number, millis = true) => {
  const iso = new Date(ms).toISOString();
  return millis ? iso : iso.replace('.000Z', 'Z');
};

describe('isoString', () => {
  it('matches toISOString at the edges of days, months, leap years, centuries and its range', () => {
    const edges = [
      '1970-01-01T00:00:00.000Z',
      '1999-12-31T23:59:59.999Z',
      '2000-02-29T12:00:00.000Z',
      '2000-03-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2024-12-31T23:59:59.999Z',
      '2100-02-28T23:59:59.999Z',
      '2100-03-01T00:00:00.000Z',
      '2400-02-29T00:00:00.001Z',
      '9999-12-31T23:59:59.999Z',
    ].map((s) => Date.parse(s));
    for (const ms of edges) {
      expect(isoString(ms)).toBe(asDate(ms));
      expect(isoString(ms, false)).toBe(asDate(ms, false));
      expect(isoString(ms - 1)).toBe(asDate(ms - 1));
      expect(isoString(ms + 1)).toBe(asDate(ms + 1));
    }
  });

  it('matches toISOString for 20,000 instants spread over its range, with and without milliseconds', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(next() * 253_402_300_800_000);
      expect(isoString(ms)).toBe(asDate(ms));
      const second = ms - (ms % 1000);
      expect(isoString(second, false)).toBe(asDate(second, false));
    }
  });

  it('hands what it does not format itself to Date: before 1970, after 9999, fractions of a millisecond', () => {
    for (const ms of [-1, -86_400_000 * 365.25 * 100, 253_402_300_800_000, 1.5, 1_700_000_000_000.25]) expect(isoString(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoString(Number.NaN)).toThrow(RangeError);
  });
});
