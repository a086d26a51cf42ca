import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, InvoiceModel, OrderModel } from '../sdk/models.ts';
import { modelProblems } from '../sdk/validate.ts';
import { dateFromUnix, isoFromUnix, mapCheckoutSession, mapCustomer, mapInvoice, moneyFromMinorDecimal, splitName, toE164 } from './mappers.ts';
import { FIXTURES, readFixture } from './test-support.ts';

describe('every recorded fixture maps to a valid model', () => {
  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const model = f.map(f.raw);
    expect(model.entity).toBe(f.entity);
    expect(modelProblems(model, 'stripe')).toEqual([]);
  });
});

describe('Customer → Contact', () => {
  const c = mapCustomer(readFixture('customer.json'));

  it('maps names, e-mail, phones, addresses and metadata', () => {
    expect(c).toMatchObject<Partial<ContactModel>>({
      entity: 'Contact',
      firstName: 'Jenny',
      lastName: 'van der Rosen',
      name: 'Jenny van der Rosen',
      companyName: 'Initech GmbH',
      jobTitle: null,
      emails: [{ address: 'jenny.rosen@initech.example', type: 'WORK', primary: true }],
      phones: [
        { number: '+49 (30) 1234-5678', e164: '+493012345678', type: 'WORK' },
        { number: '0331 555 01', e164: null, type: 'OTHER' },
      ],
      customFields: { crm_segment: 'enterprise', hubspot_id: '51' },
      tags: [],
      createdAt: '2023-04-07T18:59:53Z',
      updatedAt: null,
    });
    expect(c.addresses).toEqual([
      {
        type: 'BILLING',
        name: 'Jenny van der Rosen',
        line1: 'Rosenthaler Str. 40',
        line2: '3. OG',
        city: 'Berlin',
        region: null,
        postalCode: '10178',
        country: 'DE',
      },
      { type: 'SHIPPING', name: 'Initech Warehouse', line1: 'Lagerweg 7', line2: null, city: 'Potsdam', region: 'BB', postalCode: '14467', country: 'DE' },
    ]);
    expect(c.source).toEqual({
      provider: 'stripe',
      remoteId: 'cus_NffrFeUfNV2Hib',
      remoteUrl: 'https://dashboard.stripe.com/test/customers/cus_NffrFeUfNV2Hib',
      remoteCreatedAt: '2023-04-07T18:59:53Z',
      remoteUpdatedAt: null,
      remoteDeleted: false,
    });
  });

  it('maps a deleted customer to a tombstone', () => {
    const d = mapCustomer(readFixture('customer-deleted.json'));
    expect(d.source).toMatchObject({ remoteId: 'cus_NffrFeUfNV2Hib', remoteDeleted: true, remoteUrl: null });
    expect(d).toMatchObject({ name: null, emails: [], phones: [], addresses: [], createdAt: null });
  });

  it('takes updatedAt from the event that carried the snapshot', () => {
    const f = FIXTURES.find((x) => x.name === 'event-customer-updated.json');
    const model = f?.map(f.raw) as ContactModel;
    expect(model.updatedAt).toBe('2024-02-08T00:00:00Z');
    expect(model.source.remoteUpdatedAt).toBe('2024-02-08T00:00:00Z');
    expect(model.phones).toEqual([{ number: '+4930123456', e164: '+4930123456', type: 'WORK' }]);
  });

  it('rejects something that is not a customer with MAPPING_FAILED', () => {
    expect(() => mapCustomer({ id: 'in_1', object: 'invoice' })).toThrow(ConnectorError);
    expect(() => mapCustomer(null)).toThrow(/expected a Stripe customer/);
    try {
      mapCustomer({ object: 'customer' });
    } catch (err) {
      expect((err as ConnectorError).code).toBe('MAPPING_FAILED');
    }
  });
});

describe('Invoice → Invoice', () => {
  it('converts amount_due 1999 usd to 19.99 USD and maps the paid invoice', () => {
    const inv = mapInvoice(readFixture('invoice-usd-paid.json'));
    expect(inv).toMatchObject<Partial<InvoiceModel>>({
      number: '0759376C-0001',
      status: 'PAID',
      statusRaw: 'paid',
      contactRemoteId: 'cus_NeZwdNtLEOXuvB',
      orderRemoteId: null,
      currency: 'USD',
      issueDate: '2023-04-04',
      dueDate: null,
      paidAt: '2023-04-04T22:41:10Z',
      subtotal: { amount: '19.99', currency: 'USD' },
      tax: { amount: '2.00', currency: 'USD' },
      discount: { amount: '2.00', currency: 'USD' },
      total: { amount: '19.99', currency: 'USD' },
      amountPaid: { amount: '19.99', currency: 'USD' },
      balance: { amount: '0.00', currency: 'USD' },
    });
    expect(inv.lineItems).toEqual([
      {
        remoteId: 'il_1MtHbELkdIwHu7ixbu2hUpQ0',
        description: 'T-shirt',
        quantity: '1',
        unitPrice: { amount: '19.99', currency: 'USD' },
        amount: { amount: '19.99', currency: 'USD' },
        sku: null,
        productRemoteId: 'prod_NeZwNx1mzfwTrf',
      },
    ]);
    expect(inv.source.remoteUrl).toBe('https://dashboard.stripe.com/test/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv');
  });

  it('keeps JPY zero-decimal amounts whole and reads an expanded customer', () => {
    const inv = mapInvoice(readFixture('invoice-jpy-open-expanded-customer.json'));
    expect(inv).toMatchObject({
      status: 'OPEN',
      currency: 'JPY',
      contactRemoteId: 'cus_PpJ4nEWiTyYkV2',
      subtotal: { amount: '7500', currency: 'JPY' },
      tax: { amount: '750', currency: 'JPY' },
      discount: { amount: '0', currency: 'JPY' },
      total: { amount: '8250', currency: 'JPY' },
      amountPaid: { amount: '0', currency: 'JPY' },
      balance: { amount: '8250', currency: 'JPY' },
      dueDate: '2024-02-07',
      issueDate: '2024-01-08',
      paidAt: null,
    });
    expect(inv.lineItems?.map((l) => [l.quantity, l.unitPrice?.amount, l.amount?.amount])).toEqual([
      ['2', '3000', '6000'],
      ['1', '1500', '1500'],
    ]);
  });

  it('calls an open invoice with something paid and something due PARTIALLY_PAID, and keeps the description as memo', () => {
    const raw = { ...(readFixture('invoice-jpy-open-expanded-customer.json') as object), amount_paid: 3000, amount_remaining: 5250, description: 'Thanks!' };
    const inv = mapInvoice(raw);
    expect(inv).toMatchObject({ kind: 'RECEIVABLE', status: 'PARTIALLY_PAID', statusRaw: 'open', memo: 'Thanks!', payments: null });
    expect(modelProblems(inv, 'stripe')).toEqual([]);
  });

  it('uses three decimals for KWD, keeps fractional unit prices exact, and dates a draft by created', () => {
    const inv = mapInvoice(readFixture('invoice-kwd-draft.json'));
    expect(inv).toMatchObject({
      status: 'DRAFT',
      number: null,
      issueDate: '2024-02-07',
      subtotal: { amount: '14.395', currency: 'KWD' },
      discount: { amount: '1.439', currency: 'KWD' },
      tax: { amount: '0.000', currency: 'KWD' },
      total: { amount: '12.956', currency: 'KWD' },
      balance: { amount: '12.956', currency: 'KWD' },
    });
    expect(inv.lineItems?.[1]?.unitPrice).toEqual({ amount: '1.0005', currency: 'KWD' });
    expect(inv.lineItems?.[1]?.amount).toEqual({ amount: '2.001', currency: 'KWD' });
  });

  it('reads pre-2025 shapes (total_tax_amounts, line.price) from older API versions', () => {
    const inv = mapInvoice(readFixture('invoice-legacy-2022.json'));
    expect(inv).toMatchObject({
      status: 'UNCOLLECTIBLE',
      currency: 'GBP',
      tax: { amount: '3.00', currency: 'GBP' },
      total: { amount: '18.00', currency: 'GBP' },
      issueDate: '2022-11-01',
    });
    expect(inv.lineItems?.[0]).toMatchObject({ quantity: '3', unitPrice: { amount: '5.00', currency: 'GBP' }, productRemoteId: 'prod_MiqMSeatProduct' });
  });

  it('maps an unknown status to UNKNOWN and keeps it raw', () => {
    const raw = { ...readFixture<Record<string, unknown>>('invoice-usd-paid.json'), status: 'deleted_in_future' };
    expect(mapInvoice(raw)).toMatchObject({ status: 'UNKNOWN', statusRaw: 'deleted_in_future' });
  });

  it('fails with MAPPING_FAILED on a non-integer amount instead of guessing', () => {
    const raw = { ...readFixture<Record<string, unknown>>('invoice-usd-paid.json'), total: 19.99 };
    expect(() => mapInvoice(raw)).toThrow(expect.objectContaining({ code: 'MAPPING_FAILED' }) as Error);
  });
});

describe('Checkout Session → Order', () => {
  it('maps a completed session with line items, totals and collected shipping', () => {
    const o = mapCheckoutSession(readFixture('checkout-session-complete.json'));
    expect(o).toMatchObject<Partial<OrderModel>>({
      number: 'ORD-10042',
      status: 'COMPLETED',
      statusRaw: 'complete',
      paymentStatus: 'PAID',
      paymentStatusRaw: 'paid',
      fulfillmentStatus: 'UNKNOWN',
      fulfillmentStatusRaw: null,
      customerRemoteId: 'cus_PbQ3xYz1AbCdEf',
      customerEmail: 'ada.lovelace.3@acmecorp.example',
      customerName: 'Ada Lovelace',
      currency: 'USD',
      subtotal: { amount: '438.49', currency: 'USD' },
      discount: { amount: '43.85', currency: 'USD' },
      shipping: { amount: '15.00', currency: 'USD' },
      tax: { amount: '0.00', currency: 'USD' },
      total: { amount: '409.64', currency: 'USD' },
      refunded: null,
      placedAt: '2024-02-01T00:00:00Z',
    });
    expect(o.billingAddress).toMatchObject({ type: 'BILLING', name: 'Ada Lovelace', line1: '1 Main Street', region: 'NY' });
    expect(o.shippingAddress).toMatchObject({ type: 'SHIPPING', name: 'Ada Lovelace', line1: '510 Townsend St', city: 'San Francisco' });
    expect(o.lineItems).toEqual([
      {
        remoteId: 'li_1OeF7gLkdIwHu7ixGateway1',
        description: 'Hardware gateway',
        quantity: '1',
        unitPrice: { amount: '349.00', currency: 'USD' },
        amount: { amount: '349.00', currency: 'USD' },
        sku: null,
        productRemoteId: 'prod_PTGateway0001',
      },
      {
        remoteId: 'li_1OeF7gLkdIwHu7ixSensors2',
        description: 'Sensor kit',
        quantity: '1',
        unitPrice: { amount: '89.49', currency: 'USD' },
        amount: { amount: '89.49', currency: 'USD' },
        sku: null,
        productRemoteId: 'prod_PTSensorKit001',
      },
    ]);
    expect(o.source.remoteUrl).toBe('https://dashboard.stripe.com/test/payments/pi_3OeF8hLkdIwHu7ix0Q1w2e3r');
  });

  it('maps an expired guest session with the pre-2025 shipping_details field', () => {
    const o = mapCheckoutSession(readFixture('checkout-session-expired-legacy.json'));
    expect(o).toMatchObject({
      status: 'EXPIRED',
      paymentStatus: 'UNPAID',
      customerRemoteId: null,
      customerEmail: 'guest@example.jp',
      total: { amount: '500000', currency: 'JPY' },
      lineItems: [],
      billingAddress: null,
      shippingAddress: { type: 'SHIPPING', name: 'Guest Buyer', city: 'Osaka', country: 'JP' },
      number: null,
    });
    expect(o.source.remoteUrl).toBeNull();
  });

  it('says NOT_REQUIRED for fulfilment when nothing ships, and maps no_payment_required', () => {
    const raw = {
      ...readFixture<Record<string, unknown>>('checkout-session-complete.json'),
      shipping_address_collection: null,
      shipping_cost: null,
      collected_information: { business_name: null, individual_name: null, shipping_details: null },
      payment_status: 'no_payment_required',
    };
    expect(mapCheckoutSession(raw)).toMatchObject({ fulfillmentStatus: 'NOT_REQUIRED', paymentStatus: 'NOT_REQUIRED', shippingAddress: null });
  });
});

describe('helpers', () => {
  it('splits names best-effort', () => {
    expect(splitName('Ada Lovelace')).toEqual({ firstName: 'Ada', lastName: 'Lovelace' });
    expect(splitName('  Guido   van Rossum ')).toEqual({ firstName: 'Guido', lastName: 'van Rossum' });
    expect(splitName('Hopper, Grace')).toEqual({ firstName: 'Grace', lastName: 'Hopper' });
    expect(splitName('Madonna')).toEqual({ firstName: 'Madonna', lastName: null });
    expect(splitName(null)).toEqual({ firstName: null, lastName: null });
  });

  it('derives E.164 only from numbers that carry a country code', () => {
    expect(toE164('+1 (415) 555-0100')).toBe('+14155550100');
    expect(toE164('415-555-0100')).toBeNull();
    expect(toE164('+0 123')).toBeNull();
    expect(toE164('+1 415 CALL NOW')).toBeNull();
  });

  it('converts minor units exactly, including fractional unit_amount_decimal', () => {
    expect(moneyFromMinorDecimal('1999', 'USD')).toEqual({ amount: '19.99', currency: 'USD' });
    expect(moneyFromMinorDecimal('1999.5', 'USD')).toEqual({ amount: '19.995', currency: 'USD' });
    expect(moneyFromMinorDecimal('0.25', 'USD')).toEqual({ amount: '0.0025', currency: 'USD' });
    expect(moneyFromMinorDecimal('150.5', 'JPY')).toEqual({ amount: '150.5', currency: 'JPY' });
    expect(moneyFromMinorDecimal('5', 'KWD')).toEqual({ amount: '0.005', currency: 'KWD' });
    expect(moneyFromMinorDecimal(null, 'USD')).toBeNull();
  });

  it('formats unix seconds as UTC instants and dates', () => {
    expect(isoFromUnix(1767225600)).toBe('2026-01-01T00:00:00Z');
    expect(dateFromUnix(1767225599)).toBe('2025-12-31');
    expect(isoFromUnix(null)).toBeNull();
  });
});
