import { describe, expect, it } from 'vitest';
import { compareDecimal, minorUnitExponent, moneyFromDecimal, moneyFromMinorUnits, openInvoiceStatus } from './money.ts';

describe('moneyFromMinorUnits', () => {
  it.each([
    [1999, 'usd', '19.99', 'USD'],
    [5, 'usd', '0.05', 'USD'],
    [0, 'eur', '0.00', 'EUR'],
    [-250, 'gbp', '-2.50', 'GBP'],
    [1999, 'jpy', '1999', 'JPY'],
    [12345, 'kwd', '12.345', 'KWD'],
    [5, 'kwd', '0.005', 'KWD'],
    ['900719925474099312', 'usd', '9007199254740993.12', 'USD'],
  ])('%s %s → %s %s', (minor, cur, amount, currency) => {
    expect(moneyFromMinorUnits(minor, cur)).toEqual({ amount, currency });
  });
  it('returns null without an amount or currency', () => {
    expect(moneyFromMinorUnits(null, 'usd')).toBeNull();
    expect(moneyFromMinorUnits(100, null)).toBeNull();
  });
  it('rejects non-integers instead of rounding', () => {
    expect(() => moneyFromMinorUnits(19.99, 'usd')).toThrow(/safe integer/);
    expect(() => moneyFromMinorUnits('19.99', 'usd')).toThrow(/integer string/);
  });
});

describe('moneyFromDecimal', () => {
  it.each([
    ['19.9', 'USD', '19.90'],
    ['19', 'usd', '19.00'],
    ['0019.500', 'EUR', '19.50'],
    ['1500', 'JPY', '1500'],
    ['1.5', 'KWD', '1.500'],
    ['-0.1', 'USD', '-0.10'],
    ['12.3456', 'USD', '12.3456'],
    ['-0', 'USD', '0.00'],
    [12.5, 'USD', '12.50'],
  ])('%s %s → %s', (value, cur, amount) => {
    expect(moneyFromDecimal(value, cur)).toEqual({ amount, currency: cur.toUpperCase() });
  });
  it.each(['1,234.50', '1e3', 'abc', '.', '--1'])('rejects %s', (v) => {
    expect(() => moneyFromDecimal(v, 'USD')).toThrow(RangeError);
  });
  it('knows the exponents', () => {
    expect([minorUnitExponent('usd'), minorUnitExponent('JPY'), minorUnitExponent('kwd')]).toEqual([2, 0, 3]);
  });
});

describe('compareDecimal', () => {
  it.each([
    ['10.5', '10.50', 0],
    ['0.001', '0', 1],
    ['-1', '0', -1],
    ['99.99', '100', -1],
    ['100', '99.999', 1],
    ['-0.5', '-0.25', -1],
  ] as const)('%s vs %s → %d', (a, b, want) => {
    expect(compareDecimal(a, b)).toBe(want);
  });
});

describe('openInvoiceStatus', () => {
  const usd = (amount: string) => ({ amount, currency: 'USD' });
  it('is PARTIALLY_PAID only when 0 < balance < total', () => {
    expect(openInvoiceStatus(usd('40.00'), usd('100.00'))).toBe('PARTIALLY_PAID');
    expect(openInvoiceStatus(usd('100.00'), usd('100.00'))).toBe('OPEN');
    expect(openInvoiceStatus(usd('0.00'), usd('100.00'))).toBe('OPEN');
    expect(openInvoiceStatus(null, usd('100.00'))).toBe('OPEN');
    expect(openInvoiceStatus(usd('40.00'), { amount: '100.00', currency: 'EUR' })).toBe('OPEN');
  });
});
