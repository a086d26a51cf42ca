// Mappers against recorded QuickBooks payloads: money exact (no float arithmetic: 0.1 × 3 lines,
// a seven-digit total), tax, discount and subtotal lines, partial payments and their applied
// amounts, the derived status (PAID / PARTIALLY_PAID / OPEN / VOID), exchange rate with the home
// currency, customers' phones, e-mails and inactive state, sales receipts as completed orders.
import { describe, expect, it } from 'vitest';
import { modelProblems } from '../sdk/validate.ts';
import { decimalText, mapCustomer, mapInvoice, mapSalesReceipt, paymentsFor, subtractDecimal, sumDecimal } from './mappers.ts';
import type { QboCustomer, QboInvoice, QboPayment, QboSalesReceipt } from './qbo-types.ts';
import { fixture } from './test-support.ts';

const options = { homeCurrency: 'USD' };
const invoice = (name: string) => fixture<{ Invoice: QboInvoice }>(name).Invoice;
const payment = (name: string) => fixture<{ Payment: QboPayment }>(name).Payment;

describe('decimal helpers', () => {
  it('subtract and add exactly where floats do not', () => {
    expect(0.3 - 0.1).not.toBe(0.2);
    expect(subtractDecimal('0.30', '0.1')).toBe('0.20');
    expect(subtractDecimal('274.82', '374.82')).toBe('-100.00');
    expect(sumDecimal(['0.1', '0.1', '0.1'])).toBe('0.3');
    expect(sumDecimal([])).toBe('0');
    expect(decimalText(1.0843)).toBe('1.0843');
    expect(decimalText(3)).toBe('3');
    expect(decimalText(0.5)).toBe('0.5');
  });
});

describe('mapInvoice', () => {
  it('maps a partly paid invoice: lines, subtotal/discount/tax/total, balance, payments, memo, terms', () => {
    const m = mapInvoice(invoice('invoice-partially-paid'), options, [payment('payment')]);
    expect(modelProblems(m, 'quickbooks')).toEqual([]);
    expect(m).toMatchObject({
      number: '1035',
      kind: 'RECEIVABLE',
      status: 'PARTIALLY_PAID',
      statusRaw: null,
      contactRemoteId: '24',
      issueDate: '2014-09-19',
      dueDate: '2014-10-19',
      paidAt: null,
      currency: 'USD',
      subtotal: { amount: '412.99', currency: 'USD' },
      discount: { amount: '41.30', currency: 'USD' },
      tax: { amount: '3.13', currency: 'USD' },
      total: { amount: '374.82', currency: 'USD' },
      balance: { amount: '274.82', currency: 'USD' },
      amountPaid: { amount: '100.00', currency: 'USD' },
      memo: 'Thank you for your business and have a great day!',
      paymentTerms: 'Net 30',
      exchangeRate: null,
      baseCurrency: null,
      payments: [{ remoteId: '131', amount: { amount: '100.00', currency: 'USD' }, date: '2014-09-25', method: 'Check' }],
    });
    expect(m.source).toMatchObject({ remoteId: '130', remoteCreatedAt: '2014-09-19T20:16:17.000Z', remoteUpdatedAt: '2014-09-19T20:18:49.000Z' });
    // Item lines only (not the subtotal or discount lines); the unit price keeps its third decimal.
    expect(m.lineItems).toEqual([
      {
        remoteId: '1',
        description: 'Custom Design',
        quantity: '5',
        unitPrice: { amount: '75.00', currency: 'USD' },
        amount: { amount: '375.00', currency: 'USD' },
        sku: null,
        productRemoteId: '4',
      },
      {
        remoteId: '2',
        description: 'Fountain Pump',
        quantity: '2',
        unitPrice: { amount: '18.995', currency: 'USD' },
        amount: { amount: '37.99', currency: 'USD' },
        sku: null,
        productRemoteId: '11',
      },
    ]);
  });

  it('maps a paid foreign-currency invoice exactly: bundle lines, exchange rate into the home currency, the applied part of a larger payment', () => {
    const m = mapInvoice(invoice('invoice-foreign-paid'), options, [payment('payment-foreign'), payment('payment')]);
    expect(modelProblems(m, 'quickbooks')).toEqual([]);
    expect(m).toMatchObject({
      status: 'PAID',
      currency: 'EUR',
      // 0.30 + 1234567.89 from the SubTotal-less lines, summed as decimals.
      subtotal: { amount: '1234568.19', currency: 'EUR' },
      total: { amount: '1234568.19', currency: 'EUR' },
      balance: { amount: '0.00', currency: 'EUR' },
      amountPaid: { amount: '1234568.19', currency: 'EUR' },
      tax: { amount: '0.00', currency: 'EUR' },
      discount: null,
      exchangeRate: '1.0843',
      baseCurrency: 'USD',
      paidAt: '2026-02-20T00:00:00.000Z',
      paymentTerms: 'Net 15',
      // Only the line of the payment that links this invoice; the other payment links another one.
      payments: [{ remoteId: '8120', amount: { amount: '1234568.19', currency: 'EUR' }, date: '2026-02-20', method: 'Bank Transfer' }],
    });
    expect(m.lineItems?.map((l) => [l.description, l.quantity, l.unitPrice?.amount, l.amount?.amount])).toEqual([
      ['Hosting — February', '3', '0.10', '0.30'],
      ['Installation', '1', '1234567.89', '1234567.89'],
    ]);
  });

  it('maps a voided invoice to VOID, an open one to OPEN, and leaves payments null when they were not read', () => {
    expect(mapInvoice(invoice('invoice-voided'), options, []).status).toBe('VOID');
    const open = { ...invoice('invoice-partially-paid'), Balance: 374.82, LinkedTxn: [] };
    const m = mapInvoice(open, options, null);
    expect(m.status).toBe('OPEN');
    expect(m.payments).toBeNull();
    expect(m.amountPaid).toEqual({ amount: '0.00', currency: 'USD' });
  });

  it('uses the home currency when the invoice names none (single-currency companies)', () => {
    const { CurrencyRef: _c, ...noCurrency } = invoice('invoice-partially-paid');
    expect(mapInvoice(noCurrency as QboInvoice, { homeCurrency: 'CAD' }, null).total).toEqual({ amount: '374.82', currency: 'CAD' });
  });

  it('refuses an amount that is not a plain decimal with MAPPING_FAILED', () => {
    expect(() => mapInvoice({ ...invoice('invoice-voided'), TotalAmt: Number.POSITIVE_INFINITY }, options, null)).toThrow(/not a plain decimal/);
  });
});

describe('paymentsFor', () => {
  it('sums the lines of one payment that apply to the invoice', () => {
    const p: QboPayment = {
      Id: '9',
      SyncToken: '0',
      TxnDate: '2026-01-02',
      Line: [
        { Amount: 0.1, LinkedTxn: [{ TxnId: '1', TxnType: 'Invoice' }] },
        { Amount: 0.2, LinkedTxn: [{ TxnId: '1', TxnType: 'Invoice' }] },
      ],
    };
    expect(paymentsFor('1', [p], 'USD')).toEqual([{ remoteId: '9', amount: { amount: '0.30', currency: 'USD' }, date: '2026-01-02', method: null }]);
    expect(paymentsFor('2', [p], 'USD')).toEqual([]);
  });
});

describe('mapCustomer', () => {
  it('maps names, company, e-mails, phones (E.164 only when written with a country code) and addresses', () => {
    const m = mapCustomer(fixture<{ Customer: QboCustomer }>('customer').Customer);
    expect(modelProblems(m, 'quickbooks')).toEqual([]);
    expect(m).toMatchObject({
      firstName: 'Bill',
      lastName: 'Lucchini',
      name: "Bill's Windsurf Shop",
      companyName: "Bill's Windsurf Shop",
      jobTitle: null,
      emails: [{ address: 'Surf@Intuit.com', type: 'WORK', primary: true }],
      phones: [
        { number: '(415) 444-6538', e164: null, type: 'WORK' },
        { number: '+44 20 7946 0018', e164: '+442079460018', type: 'MOBILE' },
      ],
      createdAt: '2014-09-11T23:49:28.000Z',
    });
    expect(m.addresses.map((a) => [a.type, a.line1, a.city, a.region, a.postalCode])).toEqual([
      ['BILLING', '4581 Finch St.', 'Bayshore', 'CA', '94326'],
      ['SHIPPING', '4581 Finch St.', 'Bayshore', 'CA', '94326'],
    ]);
    expect(m.source.remoteDeleted).toBe(false);
  });

  it('maps an inactive customer as deleted at the source and splits several e-mail addresses', () => {
    const c = { ...fixture<{ Customer: QboCustomer }>('customer').Customer, Active: false, PrimaryEmailAddr: { Address: 'a@x.example, b@x.example' } };
    const m = mapCustomer(c);
    expect(m.source.remoteDeleted).toBe(true);
    expect(m.emails).toEqual([
      { address: 'a@x.example', type: 'WORK', primary: true },
      { address: 'b@x.example', type: 'WORK', primary: false },
    ]);
  });
});

describe('mapSalesReceipt', () => {
  it('maps a sales receipt to a completed, paid order with fractional quantities', () => {
    const m = mapSalesReceipt(fixture<{ SalesReceipt: QboSalesReceipt }>('salesreceipt').SalesReceipt, options);
    expect(modelProblems(m, 'quickbooks')).toEqual([]);
    expect(m).toMatchObject({
      number: '1003',
      status: 'COMPLETED',
      paymentStatus: 'PAID',
      paymentStatusRaw: 'Check',
      fulfillmentStatus: 'UNKNOWN',
      customerRemoteId: '6',
      customerName: 'Dylan Sollfrank',
      total: { amount: '337.50', currency: 'USD' },
      subtotal: { amount: '337.50', currency: 'USD' },
    });
    expect(m.lineItems?.[0]).toMatchObject({ quantity: '4.5', unitPrice: { amount: '75.00', currency: 'USD' } });
  });
});
