// Xero payloads → the unified model: /Date()/ parsing, exact money, kinds, statuses, partial
// payments, exchange rates and what is deliberately left out (credit notes, payment terms).
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { modelProblems } from '../sdk/validate.ts';
import { invertRate, mapContact, mapInvoice, xeroDate, xeroInstant, xeroMillis } from './mappers.ts';
import { readFixture } from './test-support.ts';

describe('Xero dates', () => {
  it('reads /Date(ms+0000)/ instants and calendar days exactly', () => {
    expect(xeroInstant('/Date(1518685950940+0000)/')).toBe('2018-02-15T09:12:30.940Z');
    expect(xeroMillis('/Date(1518685950940)/')).toBe(1518685950940);
    expect(xeroDate('/Date(1539993600000+0000)/')).toBe('2018-10-20');
    // A non-zero offset names the local day it stands for.
    expect(xeroDate('/Date(1539990000000+0100)/')).toBe('2018-10-20');
    expect(xeroDate('/Date(1540000800000-0300)/')).toBe('2018-10-19');
    // The …String twins and request forms.
    expect(xeroDate('2018-10-20T00:00:00')).toBe('2018-10-20');
    expect(xeroInstant('2024-06-21T01:15:39.902')).toBe('2024-06-21T01:15:39.902Z');
    expect(xeroDate(null)).toBeNull();
  });

  it('refuses a date in no known form with MAPPING_FAILED', () => {
    expect(() => xeroInstant('20/10/2018')).toThrow(ConnectorError);
    expect(() => xeroInstant('/Date(abc)/')).toThrowError(/no known form/);
  });
});

describe('mapInvoice', () => {
  it('maps a partly paid sales invoice exactly: amounts, payments, memo, PARTIALLY_PAID', () => {
    const m = mapInvoice(readFixture('invoice-accrec-partially-paid.json'), { baseCurrency: 'USD' });
    expect(modelProblems(m, 'xero')).toEqual([]);
    expect(m).toMatchObject({
      kind: 'RECEIVABLE',
      status: 'PARTIALLY_PAID',
      statusRaw: 'AUTHORISED',
      number: 'INV-0002',
      memo: 'Order 3002',
      issueDate: '2026-01-03',
      dueDate: '2026-02-02',
      paidAt: null,
      currency: 'USD',
      subtotal: { amount: '300.30', currency: 'USD' },
      tax: { amount: '0.00', currency: 'USD' },
      total: { amount: '300.30', currency: 'USD' },
      amountPaid: { amount: '100.10', currency: 'USD' },
      balance: { amount: '200.20', currency: 'USD' },
      exchangeRate: '1',
      baseCurrency: 'USD',
      paymentTerms: null,
      contactRemoteId: 'bd2270c3-8706-4c11-9cfb-000b551c3f51',
      payments: [{ remoteId: '99ea7f6b-c513-4066-bc27-b7c65dcd76c2', amount: { amount: '100.10', currency: 'USD' }, date: '2026-01-12', method: null }],
    });
    expect(m.source.remoteUpdatedAt).toBe('2026-01-12T01:00:00.123Z');
    expect(m.lineItems).toEqual([
      {
        remoteId: '52208ff9-528a-4985-a9ad-b2b1d4210e38',
        description: 'Consulting (hours)',
        quantity: '1.5',
        unitPrice: { amount: '150.00', currency: 'USD' },
        amount: { amount: '225.00', currency: 'USD' },
        sku: 'CONSULT',
        productRemoteId: null,
      },
      {
        remoteId: '8a0ed2c5-3f47-4b7c-a9c1-5b8b4a0c1d22',
        description: 'Support plan',
        quantity: '1',
        unitPrice: { amount: '75.30', currency: 'USD' },
        amount: { amount: '75.30', currency: 'USD' },
        sku: 'SUPPORT',
        productRemoteId: null,
      },
    ]);
  });

  it('maps a bill (ACCPAY) as PAYABLE, paid in two instalments, in a foreign currency with the inverted rate', () => {
    const m = mapInvoice(readFixture('invoice-accpay-eur-paid.json'), { baseCurrency: 'GBP', shortCode: '!sWb02' });
    expect(modelProblems(m, 'xero')).toEqual([]);
    expect(m).toMatchObject({
      kind: 'PAYABLE',
      status: 'PAID',
      paidAt: '2026-01-11T00:00:00.000Z',
      currency: 'EUR',
      // Inclusive line amounts: SubTotal is net of the tax Xero computed.
      subtotal: { amount: '1000.01', currency: 'EUR' },
      tax: { amount: '200.00', currency: 'EUR' },
      total: { amount: '1200.01', currency: 'EUR' },
      discount: { amount: '0.00', currency: 'EUR' },
      balance: { amount: '0.00', currency: 'EUR' },
      // Xero: 0.8 EUR per GBP → the model: 1.25 GBP per EUR.
      exchangeRate: '1.25',
      baseCurrency: 'GBP',
      memo: 'PO-7004',
    });
    expect(m.payments?.map((p) => p.amount.amount)).toEqual(['400.00', '800.01']);
    expect(m.source.remoteUrl).toContain('shortcode=!sWb02');
    expect(m.source.remoteUrl).toContain('/AccountsPayable/');
  });

  it('reads amounts JSON.parse gives as floats without drift (0.1 + 0.2 never happens: each amount stands alone)', () => {
    const raw = {
      ...readFixture<Record<string, unknown>>('invoice-voided-summary.json'),
      Status: 'AUTHORISED',
      Total: 0.3,
      AmountDue: 0.1,
      AmountPaid: 0.2,
      SubTotal: 0.3,
    };
    const m = mapInvoice(JSON.parse(JSON.stringify(raw)));
    expect(m.total?.amount).toBe('0.30');
    expect(m.balance?.amount).toBe('0.10');
    expect(m.status).toBe('PARTIALLY_PAID');
    expect(mapInvoice({ ...raw, Total: 12345678901.23, AmountDue: 12345678901.23 }).total?.amount).toBe('12345678901.23');
    expect(mapInvoice({ ...raw, CurrencyCode: 'JPY', Total: 1500, AmountDue: 1500 }).total).toEqual({ amount: '1500', currency: 'JPY' });
    expect(mapInvoice({ ...raw, CurrencyCode: 'KWD', Total: 1.234, AmountDue: 1.234 }).total).toEqual({ amount: '1.234', currency: 'KWD' });
  });

  it('maps every Xero status, DELETED as a deleted VOID', () => {
    const raw = readFixture<Record<string, unknown>>('invoice-accrec-partially-paid.json');
    const status = (Status: string, extra: Record<string, unknown> = {}) => mapInvoice({ ...raw, Status, ...extra });
    expect(status('DRAFT').status).toBe('DRAFT');
    expect(status('SUBMITTED').status).toBe('DRAFT');
    expect(status('AUTHORISED', { AmountDue: 300.3, AmountPaid: 0 }).status).toBe('OPEN');
    expect(status('PAID', { AmountDue: 0 }).status).toBe('PAID');
    expect(status('VOIDED').status).toBe('VOID');
    expect(status('DELETED').status).toBe('VOID');
    expect(status('DELETED').source.remoteDeleted).toBe(true);
    expect(status('SOMETHING_NEW').status).toBe('UNKNOWN');
  });

  it('keeps a credit-note allocation visible through AmountCredited/AmountDue and refuses credit notes as invoices', () => {
    const raw = readFixture<Record<string, unknown>>('invoice-accrec-partially-paid.json');
    // 300.30 total, 100.10 paid, 50.00 credited by a credit note: 150.20 still due.
    const m = mapInvoice({ ...raw, AmountCredited: 50, AmountDue: 150.2 });
    expect(m.balance?.amount).toBe('150.20');
    expect(m.status).toBe('PARTIALLY_PAID');
    expect(() => mapInvoice({ ...raw, Type: 'ACCRECCREDIT' })).toThrowError(/only ACCREC and ACCPAY/);
  });

  it('leaves exchangeRate null without the base currency and when Xero sends no rate', () => {
    const raw = readFixture<Record<string, unknown>>('invoice-accpay-eur-paid.json');
    expect(mapInvoice(raw).exchangeRate).toBeNull();
    const { CurrencyRate: _rate, ...noRate } = raw;
    expect(mapInvoice(noRate, { baseCurrency: 'GBP' }).exchangeRate).toBeNull();
  });

  it('refuses an invoice without an InvoiceID with MAPPING_FAILED', () => {
    expect(() => mapInvoice({ Type: 'ACCREC' })).toThrowError(/without an InvoiceID/);
    expect(() => mapInvoice({ ...readFixture<object>('invoice-voided-summary.json'), Total: '1,00' })).toThrowError(ConnectorError);
  });
});

describe('invertRate', () => {
  it('inverts exactly when the inverse terminates, else rounds half-up to 12 places, with integer arithmetic', () => {
    expect(invertRate('0.8')).toBe('1.25');
    expect(invertRate('1.000000')).toBe('1');
    expect(invertRate('0.75')).toBe('1.333333333333');
    expect(invertRate('1.270500')).toBe('0.787091696183');
    expect(invertRate('0.000001')).toBe('1000000');
    expect(invertRate('0')).toBeNull();
  });
});

describe('mapContact', () => {
  it('maps a company contact: name, person, e-mails of the contact and its people, phones, addresses, groups', () => {
    const m = mapContact(readFixture('contact.json'), { shortCode: '!sWb01' });
    expect(modelProblems(m, 'xero')).toEqual([]);
    expect(m).toMatchObject({
      name: 'Globex (Grace Hopper)',
      firstName: 'Grace',
      lastName: 'Hopper',
      companyName: 'Globex (Grace Hopper)',
      emails: [
        { address: 'grace.hopper.157@globex.example', type: 'WORK', primary: true },
        { address: 'alan.turing@globex.example', type: 'WORK', primary: false },
      ],
      phones: [
        { number: '1 415 5551157', e164: '+14155551157', type: 'WORK' },
        { number: '0171 234567', e164: null, type: 'MOBILE' },
      ],
      addresses: [
        { type: 'MAILING', name: 'Grace Hopper', line1: '12 Main Street', line2: 'Suite 4', city: 'Berlin', region: 'BE', postalCode: '10115', country: 'DE' },
      ],
      tags: ['customer', 'Key accounts'],
      customFields: { contactNumber: 'C-1007', accountNumber: 'ACC-77', taxNumber: 'DE123456789', defaultCurrency: 'USD', contactStatus: 'ACTIVE' },
      updatedAt: '2026-01-02T00:00:00.000Z',
    });
    expect(m.source.remoteUrl).toContain('/Contacts/View/bd2270c3-8706-4c11-9cfb-000b551c3f51');
  });

  it('maps an archived person contact as deleted at the source, with no company and no e-mail', () => {
    const m = mapContact(readFixture('contact-archived-person.json'));
    expect(modelProblems(m, 'xero')).toEqual([]);
    expect(m).toMatchObject({ name: 'Edsger Dijkstra', companyName: null, emails: [], tags: ['supplier'], source: { remoteDeleted: true, remoteUrl: null } });
  });
});
