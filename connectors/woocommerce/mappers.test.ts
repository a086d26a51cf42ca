// WooCommerce mappers against recorded payloads: exact money in two-, zero- and three-decimal
// currencies, guest orders, GMT dates, "" as null, and status normalization with the raw value kept.
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { modelProblems } from '../sdk/validate.ts';
import { gmtInstant, mapCustomer, mapOrder, sumDecimals, type WooOrder } from './mappers.ts';
import { readFixture } from './test-support.ts';

describe('mapOrder', () => {
  it('maps a USD order with a registered customer, discounts and partial refunds exactly', () => {
    const o = mapOrder(readFixture('order-usd-partially-refunded.json'), { storeUrl: 'https://shop.example.com/' });
    expect(modelProblems(o, 'woocommerce')).toEqual([]);
    expect(o).toMatchObject({
      number: '727',
      status: 'OPEN',
      statusRaw: 'processing',
      paymentStatus: 'PARTIALLY_REFUNDED',
      fulfillmentStatus: 'UNFULFILLED',
      customerRemoteId: '25',
      customerEmail: 'grace.hopper@globex.example',
      customerName: 'Grace Hopper',
      currency: 'USD',
      subtotal: { amount: '81.00', currency: 'USD' },
      shipping: { amount: '10.00', currency: 'USD' },
      tax: { amount: '6.93', currency: 'USD' },
      discount: { amount: '4.50', currency: 'USD' },
      total: { amount: '93.43', currency: 'USD' },
      refunded: { amount: '12.35', currency: 'USD' },
      // The *_gmt date, not the site-time one.
      createdAt: '2026-03-14T09:15:00Z',
      updatedAt: '2026-03-15T15:40:12Z',
    });
    expect(o.source.remoteUrl).toBe('https://shop.example.com/wp-admin/post.php?post=727&action=edit');
    expect(o.lineItems![0]).toEqual({
      remoteId: '315',
      description: 'Woo Single #1',
      quantity: '2',
      unitPrice: { amount: '20.25', currency: 'USD' },
      amount: { amount: '40.50', currency: 'USD' },
      sku: 'woo-single-1',
      productRemoteId: '93',
    });
    // Variations link the variation; an empty sku is null; an integer price is padded.
    expect(o.lineItems![1]).toMatchObject({ sku: null, productRemoteId: '23', unitPrice: { amount: '12.00', currency: 'USD' } });
    expect(o.shippingAddress).toMatchObject({ type: 'SHIPPING', line2: 'Suite 4', region: 'CA', country: 'US', name: 'Grace Hopper' });
  });

  it("keeps a guest checkout's buyer on the order (customer_id 0 → no contact link), in whole yen", () => {
    const o = mapOrder(readFixture('order-guest-jpy.json'));
    expect(modelProblems(o, 'woocommerce')).toEqual([]);
    expect(o).toMatchObject({
      customerRemoteId: null,
      customerEmail: 'yukihiro.matsumoto.412@tyrell.example',
      customerName: 'Yukihiro Matsumoto',
      status: 'COMPLETED',
      paymentStatus: 'PAID',
      fulfillmentStatus: 'FULFILLED',
      total: { amount: '14300', currency: 'JPY' },
      tax: { amount: '1227', currency: 'JPY' },
      refunded: null,
    });
    // An all-empty shipping block is no address.
    expect(o.shippingAddress).toBeNull();
  });

  it('keeps three decimals for KWD and reads a full refund', () => {
    const o = mapOrder(readFixture('order-kwd-refunded.json'));
    expect(modelProblems(o, 'woocommerce')).toEqual([]);
    expect(o).toMatchObject({
      number: 'KW-1301',
      status: 'COMPLETED',
      paymentStatus: 'REFUNDED',
      statusRaw: 'refunded',
      total: { amount: '15.065', currency: 'KWD' },
      shipping: { amount: '1.250', currency: 'KWD' },
      refunded: { amount: '15.065', currency: 'KWD' },
    });
    expect(o.lineItems![0]?.unitPrice).toEqual({ amount: '13.815', currency: 'KWD' });
  });

  it('normalizes amounts served with more decimals than the currency has (dp=3) without rounding anything away', () => {
    const raw = readFixture<WooOrder>('order-guest-jpy.json');
    const o = mapOrder({ ...raw, total: '14300.000', shipping_total: '800.000' });
    expect(o.total).toEqual({ amount: '14300', currency: 'JPY' });
    const usd = mapOrder({ ...readFixture<WooOrder>('order-usd-partially-refunded.json'), total: '93.430' });
    expect(usd.total).toEqual({ amount: '93.43', currency: 'USD' });
  });

  it.each([
    ['pending', 'OPEN', 'UNPAID', 'UNFULFILLED'],
    ['on-hold', 'OPEN', 'UNPAID', 'UNFULFILLED'],
    ['processing', 'OPEN', 'PAID', 'UNFULFILLED'],
    ['completed', 'COMPLETED', 'PAID', 'FULFILLED'],
    ['cancelled', 'CANCELLED', 'UNPAID', 'UNKNOWN'],
    ['failed', 'CANCELLED', 'UNPAID', 'UNKNOWN'],
    ['refunded', 'COMPLETED', 'REFUNDED', 'UNKNOWN'],
    ['checkout-draft', 'OPEN', 'UNPAID', 'UNFULFILLED'],
    ['wc-custom-status', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN'],
  ])('status %s → %s / %s / %s, raw kept', (status, orderStatus, payment, fulfillment) => {
    const raw = { ...readFixture<WooOrder>('order-guest-jpy.json'), status, date_paid_gmt: null };
    expect(mapOrder(raw)).toMatchObject({
      status: orderStatus,
      paymentStatus: payment,
      fulfillmentStatus: fulfillment,
      statusRaw: status,
      paymentStatusRaw: status,
      fulfillmentStatusRaw: status,
    });
  });

  it('marks a trashed order deleted and fails closed on a broken payload', () => {
    expect(mapOrder({ ...readFixture<WooOrder>('order-guest-jpy.json'), status: 'trash' }).source.remoteDeleted).toBe(true);
    expect(() => mapOrder({ id: 'x' })).toThrow(ConnectorError);
    expect(() => mapOrder({ ...readFixture<WooOrder>('order-guest-jpy.json'), total: '1,430' })).toThrow(expect.objectContaining({ code: 'MAPPING_FAILED' }));
  });
});

describe('mapCustomer', () => {
  it('maps names, both e-mails, phones and addresses, dates from *_gmt', () => {
    const c = mapCustomer(readFixture('customer.json'));
    expect(modelProblems(c, 'woocommerce')).toEqual([]);
    expect(c).toMatchObject({
      name: 'Grace Hopper',
      companyName: 'Globex',
      createdAt: '2026-02-03T13:21:09Z',
      updatedAt: '2026-03-10T08:02:44Z',
      customFields: { role: 'customer', username: 'grace.hopper', isPayingCustomer: true },
    });
    expect(c.emails).toEqual([
      { address: 'grace.hopper@globex.example', type: 'OTHER', primary: true },
      { address: 'accounts@globex.example', type: 'OTHER', primary: false },
    ]);
    expect(c.phones).toEqual([{ number: '+33 1 42 68 53 00', e164: '+33142685300', type: 'OTHER' }]);
    expect(c.addresses.map((a) => [a.type, a.line2, a.region])).toEqual([
      ['BILLING', 'Bâtiment B', null],
      ['SHIPPING', null, null],
    ]);
  });

  it('falls back to the username and the creation date for a customer never saved since registering', () => {
    const c = mapCustomer(readFixture('customer-never-modified.json'));
    expect(modelProblems(c, 'woocommerce')).toEqual([]);
    expect(c).toMatchObject({ name: 'newbie', firstName: null, updatedAt: '2026-04-01T06:00:00Z', addresses: [], phones: [] });
  });
});

describe('helpers', () => {
  it('adds decimal strings exactly (0.1 + 0.2 is 0.3 here)', () => {
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(sumDecimals(['-12.00', '-0.35'])).toBe('-12.35');
    expect(sumDecimals(['13.815', '1.25'])).toBe('15.065');
    expect(sumDecimals(['14300', '0.000'])).toBe('14300.000');
    expect(() => sumDecimals(['1e3'])).toThrow(RangeError);
  });

  it('reads WooCommerce GMT dates as UTC and refuses zoned or malformed ones', () => {
    expect(gmtInstant('2026-01-02T03:04:05')).toBe('2026-01-02T03:04:05Z');
    expect(gmtInstant('')).toBeNull();
    expect(() => gmtInstant('2026-01-02 03:04:05')).toThrow(RangeError);
  });
});
