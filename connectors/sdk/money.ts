import type { MoneyModel } from './models.ts';

// ISO 4217 minor-unit exponents that differ from 2, as providers that count in minor units
// (Stripe) apply them. Exact integer arithmetic on strings: no float ever touches an amount.
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

export function minorUnitExponent(currency: string): number {
  const code = currency.toUpperCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/** 1999 + "usd" → { amount: "19.99", currency: "USD" }; -5 + "kwd" → "-0.005". */
export function moneyFromMinorUnits(minor: number | string | bigint | null | undefined, currency: string | null | undefined): MoneyModel | null {
  if (minor === null || minor === undefined || !currency) return null;
  let digits: bigint;
  if (typeof minor === 'bigint') digits = minor;
  else if (typeof minor === 'number') {
    if (!Number.isSafeInteger(minor)) throw new RangeError(`minor-unit amount must be a safe integer, got ${minor}`);
    digits = BigInt(minor);
  } else {
    if (!/^-?\d+$/.test(minor)) throw new RangeError(`minor-unit amount must be an integer string, got "${minor}"`);
    digits = BigInt(minor);
  }
  const code = currency.toUpperCase();
  const exp = minorUnitExponent(code);
  const negative = digits < 0n;
  const abs = (negative ? -digits : digits).toString();
  let amount: string;
  if (exp === 0) amount = abs;
  else {
    const padded = abs.padStart(exp + 1, '0');
    amount = `${padded.slice(0, -exp)}.${padded.slice(-exp)}`;
  }
  return { amount: negative ? `-${amount}` : amount, currency: code };
}

/**
 * A provider's decimal string ("19.9", "1,234.50" is rejected, "1e3" is rejected) normalized to the
 * currency's exponent without float arithmetic: "19.9" USD → "19.90". Extra precision is kept, not
 * rounded away (a provider that stores 4 decimals keeps them).
 */
export function moneyFromDecimal(value: string | number | null | undefined, currency: string | null | undefined): MoneyModel | null {
  if (value === null || value === undefined || value === '' || !currency) return null;
  const text = typeof value === 'number' ? numberToPlainString(value) : value.trim();
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RangeError(`not a decimal amount: "${text}"`);
  }
  const code = currency.toUpperCase();
  const exp = minorUnitExponent(code);
  const sign = match[1] ?? '';
  const intPart = (match[2] ?? '').replace(/^0+(?=\d)/, '') || '0';
  let frac = (match[3] ?? '').replace(/0+$/, '');
  if (frac.length < exp) frac = frac.padEnd(exp, '0');
  const isZero = /^0*$/.test(intPart + frac);
  const amount = frac.length > 0 ? `${intPart}.${frac}` : intPart;
  return { amount: isZero ? amount : sign + amount, currency: code };
}

function numberToPlainString(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite amount: ${n}`);
  // toString gives the shortest round-tripping representation; reject exponent forms.
  const s = n.toString();
  if (/e/i.test(s)) throw new RangeError(`amount out of plain-decimal range: ${s}`);
  return s;
}

/** Exact comparison of two decimal strings ("10.5" vs "10.50" → 0); no float arithmetic. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const scaled = (v: string, places: number): bigint => {
    const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(v.trim());
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new RangeError(`not a decimal amount: "${v}"`);
    const digits = BigInt((m[2] || '0') + (m[3] ?? '').padEnd(places, '0'));
    return m[1] === '-' ? -digits : digits;
  };
  const places = Math.max(a.split('.')[1]?.length ?? 0, b.split('.')[1]?.length ?? 0);
  const x = scaled(a, places);
  const y = scaled(b, places);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The unified status of an invoice the provider calls open: PARTIALLY_PAID when something was paid
 * and something is still due (0 < balance < total, same currency), else OPEN.
 */
export function openInvoiceStatus(balance: MoneyModel | null, total: MoneyModel | null): 'OPEN' | 'PARTIALLY_PAID' {
  if (!balance || !total || balance.currency !== total.currency) return 'OPEN';
  return compareDecimal(balance.amount, '0') > 0 && compareDecimal(balance.amount, total.amount) < 0 ? 'PARTIALLY_PAID' : 'OPEN';
}
