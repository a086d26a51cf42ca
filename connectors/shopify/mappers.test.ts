// Mapper tests on recorded-shape GraphQL payloads: statuses normalized with the raw values kept,
// money exact in two-, zero- and three-decimal currencies, addresses, the customer link.
import { describe, expect, it } from 'vitest';
import { modelProblems } from '../sdk/validate.ts';
import { CUSTOMER, CUSTOMER_BARE, ORDER_BHD_REFUNDED, ORDER_JPY, ORDER_KWD_GUEST, ORDER_USD } from './fixtures/fixtures.ts';
import { demoPeople } from '../sdk/demo-data.ts';
import { SHARED_PEOPLE, SHARED_PEOPLE_FROM, ShopStore } from './emulator/index.ts';
import { idFromGid, mapCustomer, mapOrder, multiplyDecimal } from './mappers.ts';
import { searchValue } from './queries.ts';

describe('Shopify mappers', () => {
  it('maps a USD order with its customer link, statuses, addresses and exact totals', () => {
    const o = mapOrder(ORDER_USD, { shop: 'acme.myshopify.com' });
    expect(modelProblems(o, 'shopify')).toEqual([]);
    expect(o).toMatchObject({
      number: '#1001',
      status: 'OPEN',
      statusRaw: 'open',
      paymentStatus: 'PAID',
      paymentStatusRaw: 'PAID',
      fulfillmentStatus: 'PARTIALLY_FULFILLED',
      fulfillmentStatusRaw: 'PARTIALLY_FULFILLED',
      customerRemoteId: '7000000001',
      customerName: 'Ada Lovelace',
      currency: 'USD',
      subtotal: { amount: '79.50', currency: 'USD' },
      shipping: { amount: '5.00', currency: 'USD' },
      discount: { amount: '0.00', currency: 'USD' },
      total: { amount: '92.45', currency: 'USD' },
      placedAt: '2026-02-01T11:59:58Z',
      billingAddress: { type: 'BILLING', line1: '12 Main Street', region: 'ENG', country: 'GB', postalCode: 'EC1A 1BB' },
      shippingAddress: { type: 'SHIPPING', city: 'Bristol' },
    });
    expect(o.source).toMatchObject({ remoteId: '5000000001', remoteUrl: 'https://acme.myshopify.com/admin/orders/5000000001' });
    expect(o.lineItems).toEqual([
      {
        remoteId: '9000000001',
        description: 'Espresso beans 1 kg',
        quantity: '3',
        unitPrice: { amount: '24.50', currency: 'USD' },
        amount: { amount: '73.50', currency: 'USD' },
        sku: 'COF-1KG',
        productRemoteId: null,
      },
      {
        remoteId: '9000000002',
        description: 'Paper filters (100)',
        quantity: '1',
        unitPrice: { amount: '6.00', currency: 'USD' },
        amount: { amount: '6.00', currency: 'USD' },
        sku: null,
        productRemoteId: null,
      },
    ]);
  });

  it('leaves lineItems null (deferred) for an order read without them, as the order queries do', () => {
    const { lineItems: _omitted, ...withoutLines } = ORDER_JPY as unknown as Record<string, unknown>;
    expect(mapOrder(withoutLines).lineItems).toBeNull();
  });

  it('keeps zero-decimal JPY amounts whole', () => {
    const o = mapOrder(ORDER_JPY);
    expect(o.total).toEqual({ amount: '8885', currency: 'JPY' });
    expect(o.lineItems![0]?.amount).toEqual({ amount: '7350', currency: 'JPY' });
    expect(o).toMatchObject({ paymentStatus: 'UNPAID', paymentStatusRaw: 'AUTHORIZED', fulfillmentStatus: 'UNFULFILLED' });
  });

  it('keeps three decimals for KWD and BHD, exactly (no float rounding)', () => {
    const kwd = mapOrder(ORDER_KWD_GUEST);
    expect(kwd.total).toEqual({ amount: '31.955', currency: 'KWD' });
    expect(kwd.tax).toEqual({ amount: '2.450', currency: 'KWD' });
    expect(kwd).toMatchObject({
      status: 'CANCELLED',
      statusRaw: 'cancelled',
      customerRemoteId: null,
      customerEmail: 'guest.3@example.com',
      billingAddress: null,
      paymentStatus: 'UNPAID',
      paymentStatusRaw: 'VOIDED',
    });
    const bhd = mapOrder(ORDER_BHD_REFUNDED);
    // 1.111 × 3 is 3.3329999999999997 in floating point.
    expect(bhd.lineItems![0]?.amount).toEqual({ amount: '3.333', currency: 'BHD' });
    expect(bhd).toMatchObject({
      status: 'COMPLETED',
      paymentStatus: 'REFUNDED',
      refunded: { amount: '3.233', currency: 'BHD' },
      fulfillmentStatus: 'UNKNOWN',
      fulfillmentStatusRaw: 'RESTOCKED',
    });
  });

  it('maps customers, with and without address and phone', () => {
    const c = mapCustomer(CUSTOMER);
    expect(modelProblems(c, 'shopify')).toEqual([]);
    expect(c).toMatchObject({
      firstName: 'Ada',
      name: 'Ada Lovelace',
      companyName: 'Acme Corp',
      tags: ['vip', 'wholesale'],
      emails: [{ address: 'ada.lovelace.0@acmecorp.example', primary: true }],
      phones: [{ e164: '+14155551000' }],
    });
    expect(c.addresses[0]).toMatchObject({ type: 'MAILING', country: 'GB' });
    const bare = mapCustomer(CUSTOMER_BARE);
    expect(modelProblems(bare, 'shopify')).toEqual([]);
    expect(bare).toMatchObject({ phones: [], addresses: [], companyName: null, source: { remoteId: '7000000002' } });
  });

  it('multiplies decimals exactly and refuses foreign global ids', () => {
    expect(multiplyDecimal('19.99', 3)).toBe('59.97');
    expect(multiplyDecimal('0.005', 7)).toBe('0.035');
    expect(multiplyDecimal('-1.5', 2)).toBe('-3.0');
    expect(idFromGid('gid://shopify/Order/12')).toBe('12');
    expect(() => idFromGid('gid://shopify/Product/12', 'Order')).toThrow(/Order global id/);
  });

  it('quotes search values so a filter cannot add its own terms', () => {
    expect(searchValue('a@b.com')).toBe('"a@b.com"');
    expect(searchValue('x" OR email:*')).toBe('"x\\" OR email:*"');
    expect(searchValue('back\\slash')).toBe('"back\\\\slash"');
  });

  it('the emulator seed shares its first customers with the HubSpot and Stripe demo people (same e-mails)', () => {
    const people = demoPeople(600, 42);
    const emails = [...new ShopStore(42).customers.values()].map((c) => c.email);
    expect(emails.slice(0, SHARED_PEOPLE)).toEqual(people.slice(SHARED_PEOPLE_FROM, SHARED_PEOPLE_FROM + SHARED_PEOPLE).map((p) => p.email));
    expect(new Set(emails).size).toBe(emails.length);
  });
});
