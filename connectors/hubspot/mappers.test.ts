import { describe, expect, it } from 'vitest';
import { modelProblems } from '../sdk/validate.ts';
import {
  associatedIds,
  mapContact,
  mapInvoice,
  mapLineItem,
  mapLineItems,
  mapOrder,
  toCalendarDate,
  toE164,
  toInstant,
  type HubSpotObject,
} from './mappers.ts';
import { readFixture, recordedFixtures } from './test-support.ts';

const contacts = readFixture<{ results: HubSpotObject[] }>('contacts-batch-read-207.json').results;
const invoices = readFixture<{ results: HubSpotObject[] }>('invoices-list-with-associations.json').results;
const orders = readFixture<{ results: HubSpotObject[] }>('orders-list-with-associations.json').results;
const lineItems = readFixture<{ results: HubSpotObject[] }>('line-items-batch-read.json').results;

const at = <T>(xs: T[], i: number): T => {
  const x = xs[i];
  if (x === undefined) throw new Error(`fixture index ${i} missing`);
  return x;
};

const related = (record: HubSpotObject) => ({ contactRemoteId: associatedIds(record, 'contacts')?.[0] ?? null });
const lineItemRecords = new Map(lineItems.map((li) => [li.id, li]));
/** A record's line items as the connector's lineItems loader maps them (association order, parent currency). */
const linesOf = (record: HubSpotObject, currency: string | null) => mapLineItems(associatedIds(record, 'line_items') ?? [], lineItemRecords, currency);

describe('mapContact', () => {
  it('maps a full contact', () => {
    const raw = at(contacts, 0);
    const c = mapContact(raw, { portalId: 62515 });
    expect(c).toMatchObject({
      entity: 'Contact',
      source: {
        provider: 'hubspot',
        remoteId: '151',
        remoteUrl: 'https://app.hubspot.com/contacts/62515/record/0-1/151',
        remoteCreatedAt: '2019-10-30T03:30:17.883Z',
        remoteUpdatedAt: '2024-03-01T22:33:09.011Z',
        remoteDeleted: false,
      },
      firstName: 'Bryan',
      lastName: 'Cooper',
      name: 'Bryan Cooper',
      jobTitle: 'CEO',
      companyName: 'Biglytics',
      tags: [],
      customFields: { lifecyclestage: 'customer' },
      createdAt: '2019-10-30T03:30:17.883Z',
      updatedAt: '2024-03-01T22:33:09.011Z',
    });
    // Primary first, additional addresses split on ';', case-insensitive duplicates of the primary dropped.
    expect(c.emails).toEqual([
      { address: 'bcooper@biglytics.net', type: 'OTHER', primary: true },
      { address: 'bryan.cooper@gmail.com', type: 'OTHER', primary: false },
    ]);
    expect(c.phones).toEqual([
      { number: '+1 877-929-0687', e164: '+18779290687', type: 'WORK' },
      { number: '(877) 929-0687', e164: null, type: 'MOBILE' },
    ]);
    expect(c.addresses).toEqual([
      { type: 'MAILING', name: null, line1: '25 First Street', line2: null, city: 'Cambridge', region: 'MA', postalCode: '02139', country: 'United States' },
    ]);
    expect(c.raw).toBe(raw);
    expect(modelProblems(c, 'hubspot')).toEqual([]);
  });

  it('treats null and blank properties as absent', () => {
    const c = mapContact(at(contacts, 1));
    expect(c.source.remoteUrl).toBeNull();
    expect(c.lastName).toBeNull();
    expect(c.name).toBe('Marie');
    expect(c.companyName).toBeNull();
    expect(c.addresses).toEqual([]);
    expect(c.phones).toEqual([{ number: '+33 6 12 34 56 78', e164: '+33612345678', type: 'MOBILE' }]);
    expect(modelProblems(c, 'hubspot')).toEqual([]);
  });

  it('marks archived contacts as remotely deleted', () => {
    const c = mapContact(readFixture<HubSpotObject>('contact-archived.json'));
    expect(c.source.remoteDeleted).toBe(true);
    expect(c.emails).toEqual([]);
    expect(c.name).toBeNull();
  });

  it('rejects an object without an id', () => {
    expect(() => mapContact({ id: '', properties: {} })).toThrow(/without an id/);
  });
});

describe('mapInvoice', () => {
  it('maps an open USD invoice with associations; line items deferred, mapped in association order', () => {
    const raw = at(invoices, 0);
    const inv = mapInvoice(raw, related(raw), { portalId: '62515' });
    expect(inv).toMatchObject({
      entity: 'Invoice',
      source: { remoteId: '44446244097', remoteUrl: 'https://app.hubspot.com/contacts/62515/record/0-53/44446244097', remoteDeleted: false },
      number: 'INV-1042',
      status: 'OPEN',
      statusRaw: 'open',
      contactRemoteId: '151',
      orderRemoteId: null,
      issueDate: '2023-03-08',
      dueDate: '2023-04-07',
      paidAt: null,
      currency: 'USD',
      subtotal: { amount: '18.18', currency: 'USD' },
      tax: { amount: '1.82', currency: 'USD' },
      discount: null,
      total: { amount: '20.00', currency: 'USD' },
      amountPaid: { amount: '0.00', currency: 'USD' },
      balance: { amount: '20.00', currency: 'USD' },
    });
    expect(inv.lineItems).toBeNull();
    expect(linesOf(raw, inv.currency)).toEqual([
      {
        remoteId: '9301',
        description: 'Extra seat',
        quantity: '2',
        unitPrice: { amount: '5.00', currency: 'USD' },
        amount: { amount: '10.00', currency: 'USD' },
        sku: 'ADD-SEAT',
        productRemoteId: '1500004',
      },
      // No line item currency: the invoice's applies.
      {
        remoteId: '9302',
        description: 'Custom work',
        quantity: '1',
        unitPrice: { amount: '8.18', currency: 'USD' },
        amount: { amount: '8.18', currency: 'USD' },
        sku: null,
        productRemoteId: null,
      },
    ]);
    expect(modelProblems(inv, 'hubspot')).toEqual([]);
  });

  it('maps a paid zero-decimal invoice with epoch-ms and ISO date forms', () => {
    const raw = at(invoices, 1);
    const inv = mapInvoice(raw, related(raw));
    expect(inv.status).toBe('PAID');
    expect(inv.currency).toBe('JPY');
    expect(inv.total).toEqual({ amount: '33000', currency: 'JPY' });
    expect(inv.balance).toEqual({ amount: '0', currency: 'JPY' });
    expect(inv.issueDate).toBe('2023-05-20');
    expect(inv.dueDate).toBe('2023-06-20');
    expect(inv.paidAt).toBe('2023-06-01T12:00:00.000Z');
    const lines = linesOf(raw, inv.currency);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.unitPrice).toEqual({ amount: '15000', currency: 'JPY' });
    expect(modelProblems({ ...inv, lineItems: lines }, 'hubspot')).toEqual([]);
    expect(modelProblems(inv, 'hubspot')).toEqual([]);
  });

  it('maps a voided invoice without associations', () => {
    const raw = at(invoices, 2);
    const inv = mapInvoice(raw, related(raw));
    expect(inv.status).toBe('VOID');
    expect(inv.statusRaw).toBe('voided');
    expect(inv.number).toBeNull();
    expect(inv.contactRemoteId).toBeNull();
    expect(linesOf(raw, inv.currency)).toEqual([]);
    expect(inv.amountPaid).toBeNull();
  });

  it('normalizes unknown statuses to UNKNOWN and keeps the raw value', () => {
    const raw: HubSpotObject = { ...at(invoices, 0), properties: { ...at(invoices, 0).properties, hs_invoice_status: 'pending_approval' } };
    const inv = mapInvoice(raw, { contactRemoteId: null });
    expect(inv.status).toBe('UNKNOWN');
    expect(inv.statusRaw).toBe('pending_approval');
  });

  it('fails loudly on an amount that is not a decimal', () => {
    const raw: HubSpotObject = { ...at(invoices, 0), properties: { ...at(invoices, 0).properties, hs_amount_billed: '1,234.50' } };
    expect(() => mapInvoice(raw, { contactRemoteId: null })).toThrow(/hs_amount_billed/);
  });
});

describe('mapOrder', () => {
  it('maps an order with addresses, statuses and money', () => {
    const raw = at(orders, 0);
    const o = mapOrder(raw, related(raw), { portalId: '62515' });
    expect(o).toMatchObject({
      entity: 'Order',
      source: { remoteId: '394209000123', remoteUrl: 'https://app.hubspot.com/contacts/62515/record/0-123/394209000123' },
      number: '#1001',
      status: 'OPEN',
      statusRaw: 'processed',
      paymentStatus: 'PAID',
      paymentStatusRaw: 'paid',
      fulfillmentStatus: 'PARTIALLY_FULFILLED',
      fulfillmentStatusRaw: 'Partially fulfilled',
      customerRemoteId: '151',
      customerEmail: 'ada@example.de',
      customerName: 'Ada Lovelace',
      currency: 'EUR',
      subtotal: { amount: '149.85', currency: 'EUR' },
      shipping: { amount: '4.95', currency: 'EUR' },
      tax: { amount: '28.47', currency: 'EUR' },
      discount: { amount: '0.00', currency: 'EUR' },
      total: { amount: '183.27', currency: 'EUR' },
      refunded: null,
      billingAddress: {
        type: 'BILLING',
        name: 'Ada Lovelace',
        line1: 'Invalidenstraße 1',
        line2: null,
        city: 'Berlin',
        region: 'BE',
        postalCode: '10115',
        country: 'DE',
      },
      shippingAddress: {
        type: 'SHIPPING',
        name: 'Ada Lovelace',
        line1: 'Am Kanal 2',
        line2: null,
        city: 'Potsdam',
        region: 'BB',
        postalCode: '14467',
        country: 'DE',
      },
      placedAt: '2024-02-10T16:20:00.000Z',
    });
    expect(o.lineItems).toBeNull();
    expect(linesOf(raw, o.currency).map((li) => li.remoteId)).toEqual(['9401']);
    expect(modelProblems(o, 'hubspot')).toEqual([]);
  });

  it('maps a cancelled, refunded order without addresses or name', () => {
    const raw = at(orders, 1);
    const o = mapOrder(raw, related(raw));
    expect(o.number).toBe('shopify-5513');
    expect(o.status).toBe('CANCELLED');
    expect(o.paymentStatus).toBe('REFUNDED');
    expect(o.fulfillmentStatus).toBe('UNKNOWN');
    expect(o.fulfillmentStatusRaw).toBeNull();
    expect(o.billingAddress).toBeNull();
    expect(o.shippingAddress).toBeNull();
    expect(o.customerName).toBeNull();
    expect(o.refunded).toEqual({ amount: '12.00', currency: 'USD' });
    expect(o.subtotal).toEqual({ amount: '12.00', currency: 'USD' });
    expect(modelProblems(o, 'hubspot')).toEqual([]);
  });
});

describe('helpers', () => {
  it('reads association keys, including HubSpot\'s "line items" spelling', () => {
    const raw = at(invoices, 0);
    expect(associatedIds(raw, 'contacts')).toEqual(['151']);
    expect(associatedIds(raw, 'line_items')).toEqual(['9301', '9302']);
    expect(associatedIds(at(invoices, 2), 'contacts')).toBeNull();
    expect(associatedIds({ id: '1', properties: {}, associations: { line_items: { results: [{ id: '7' }] } } }, 'line_items')).toEqual(['7']);
  });

  it('converts HubSpot instants and dates', () => {
    expect(toInstant('1715072400000')).toBe('2024-05-07T09:00:00.000Z');
    expect(toInstant('2024-05-07T09:00:00Z')).toBe('2024-05-07T09:00:00.000Z');
    expect(toInstant('not a date')).toBeNull();
    // The canonical form is returned as it is; anything else the way Date reads it.
    expect(toInstant('2024-05-07T09:00:00.123Z')).toBe('2024-05-07T09:00:00.123Z');
    expect(toInstant('2024-02-29T23:59:59.999Z')).toBe('2024-02-29T23:59:59.999Z');
    for (const odd of [
      '2023-02-29T00:00:00.000Z',
      '2100-02-29T00:00:00.000Z',
      '2024-04-31T10:00:00.000Z',
      '2024-05-07T24:00:00.000Z',
      ' 2024-05-07T09:00:00.000Z',
    ])
      expect(toInstant(odd), odd).toBe(Number.isNaN(Date.parse(odd.trim())) ? null : new Date(Date.parse(odd.trim())).toISOString());
    expect(toInstant('2024-13-01T00:00:00.000Z')).toBeNull();
    expect(toCalendarDate('2024-05-07')).toBe('2024-05-07');
    expect(toCalendarDate('1715040000000')).toBe('2024-05-07');
    expect(toCalendarDate('')).toBeNull();
  });

  it('derives E.164 only from numbers with a country code', () => {
    expect(toE164('+1 (415) 555-0100')).toBe('+14155550100');
    expect(toE164('415 555 0100')).toBeNull();
    expect(toE164('+0 123')).toBeNull();
  });

  it('leaves out line item ids without a record (deleted since the association was read)', () => {
    expect(mapLineItems(['9302', '404', '9301'], lineItemRecords, 'USD').map((li) => li.remoteId)).toEqual(['9302', '9301']);
  });

  it('maps a line item without a currency to null money', () => {
    const li = mapLineItem({ id: '5', properties: { name: 'x', price: '1.5', quantity: 'two' } }, null);
    expect(li).toMatchObject({ unitPrice: null, amount: null, quantity: null, description: 'x' });
  });

  it('maps every recorded fixture to a valid model', () => {
    const fixtures = recordedFixtures();
    expect(fixtures.length).toBeGreaterThanOrEqual(8);
    for (const f of fixtures) {
      const model = f.map(f.raw);
      expect(model.entity).toBe(f.entity);
      expect(modelProblems(model, 'hubspot'), f.name).toEqual([]);
    }
  });
});
