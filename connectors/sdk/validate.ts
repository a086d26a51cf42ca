// Structural checks of a mapped model: what every mapper's output must satisfy before the gateway
// serves it. Used by the conformance suite and by mapper unit tests.
import type { AddressModel, EntityModel, LineItemModel, MoneyModel } from './models.ts';

const DECIMAL = /^-?\d+(\.\d+)?$/;
const CURRENCY = /^[A-Z]{3}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const INVOICE_STATUS = ['DRAFT', 'OPEN', 'PARTIALLY_PAID', 'PAID', 'VOID', 'UNCOLLECTIBLE', 'UNKNOWN'];
const ORDER_STATUS = ['OPEN', 'COMPLETED', 'CANCELLED', 'EXPIRED', 'UNKNOWN'];
const PAYMENT_STATUS = ['PAID', 'UNPAID', 'PARTIALLY_PAID', 'REFUNDED', 'PARTIALLY_REFUNDED', 'NOT_REQUIRED', 'UNKNOWN'];
const FULFILLMENT_STATUS = ['FULFILLED', 'UNFULFILLED', 'PARTIALLY_FULFILLED', 'NOT_REQUIRED', 'UNKNOWN'];

/** Returns every problem found, as "path: what is wrong"; empty when the model is valid. */
export function modelProblems(model: EntityModel, provider?: string): string[] {
  const p: string[] = [];
  const str = (path: string, v: unknown, nullable = true) => {
    if (v === null && nullable) return;
    if (typeof v !== 'string') p.push(`${path}: expected string${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
  };
  const match = (path: string, v: unknown, re: RegExp) => {
    if (v === null || v === undefined) return;
    if (typeof v !== 'string' || !re.test(v)) p.push(`${path}: ${JSON.stringify(v)} does not match ${re}`);
  };
  const money = (path: string, m: MoneyModel | null) => {
    if (m === null) return;
    if (typeof m !== 'object') return p.push(`${path}: expected Money or null`);
    match(`${path}.amount`, m.amount, DECIMAL);
    match(`${path}.currency`, m.currency, CURRENCY);
    if (typeof m.amount !== 'string') p.push(`${path}.amount: must be a decimal string, got ${typeof m.amount}`);
  };
  const oneOf = (path: string, v: unknown, allowed: string[]) => {
    if (!allowed.includes(v as string)) p.push(`${path}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  };
  const address = (path: string, a: AddressModel | null) => {
    if (a === null) return;
    oneOf(`${path}.type`, a.type, ['BILLING', 'SHIPPING', 'MAILING', 'OTHER']);
    for (const k of ['name', 'line1', 'line2', 'city', 'region', 'postalCode', 'country'] as const) str(`${path}.${k}`, a[k]);
  };
  const lines = (items: LineItemModel[] | null) => {
    if (items === null) return; // deferred: the connector's lineItems loader serves them
    if (!Array.isArray(items)) return p.push('lineItems: expected array or null (deferred)');
    items.forEach((li, i) => {
      str(`lineItems[${i}].description`, li.description);
      match(`lineItems[${i}].quantity`, li.quantity, DECIMAL);
      money(`lineItems[${i}].unitPrice`, li.unitPrice);
      money(`lineItems[${i}].amount`, li.amount);
    });
  };

  const s = model.source;
  if (!s || typeof s !== 'object') return ['source: missing'];
  str('source.remoteId', s.remoteId, false);
  if (s.remoteId === '') p.push('source.remoteId: empty');
  if (provider !== undefined && s.provider !== provider) p.push(`source.provider: expected "${provider}", got "${s.provider}"`);
  if (typeof s.remoteDeleted !== 'boolean') p.push('source.remoteDeleted: expected boolean');
  match('source.remoteCreatedAt', s.remoteCreatedAt, INSTANT);
  match('source.remoteUpdatedAt', s.remoteUpdatedAt, INSTANT);
  match('createdAt', model.createdAt, INSTANT);
  match('updatedAt', model.updatedAt, INSTANT);

  if (model.entity === 'Contact') {
    for (const k of ['firstName', 'lastName', 'name', 'jobTitle', 'companyName'] as const) str(k, model[k]);
    if (!Array.isArray(model.emails)) p.push('emails: expected array');
    else
      model.emails.forEach((e, i) => {
        if (typeof e.address !== 'string' || !e.address.includes('@')) p.push(`emails[${i}].address: not an e-mail address`);
        oneOf(`emails[${i}].type`, e.type, ['WORK', 'PERSONAL', 'OTHER']);
      });
    if (Array.isArray(model.emails) && model.emails.filter((e) => e.primary).length > 1) p.push('emails: more than one primary');
    if (!Array.isArray(model.phones)) p.push('phones: expected array');
    else model.phones.forEach((ph, i) => match(`phones[${i}].e164`, ph.e164, /^\+[1-9]\d{1,14}$/));
    if (!Array.isArray(model.addresses)) p.push('addresses: expected array');
    else model.addresses.forEach((a, i) => address(`addresses[${i}]`, a));
    if (!Array.isArray(model.tags)) p.push('tags: expected array');
  } else if (model.entity === 'Invoice') {
    oneOf('status', model.status, INVOICE_STATUS);
    match('issueDate', model.issueDate, DATE);
    match('dueDate', model.dueDate, DATE);
    match('paidAt', model.paidAt, INSTANT);
    match('currency', model.currency, CURRENCY);
    for (const k of ['subtotal', 'tax', 'discount', 'total', 'amountPaid', 'balance'] as const) money(k, model[k]);
    oneOf('kind', model.kind, ['RECEIVABLE', 'PAYABLE']);
    for (const k of ['memo', 'paymentTerms'] as const) str(k, model[k]);
    match('exchangeRate', model.exchangeRate, /^\d+(\.\d+)?$/);
    match('baseCurrency', model.baseCurrency, CURRENCY);
    if (model.payments !== null && !Array.isArray(model.payments)) p.push('payments: expected array or null');
    else
      (model.payments ?? []).forEach((pay, i) => {
        money(`payments[${i}].amount`, pay.amount);
        match(`payments[${i}].date`, pay.date, DATE);
        str(`payments[${i}].method`, pay.method);
      });
    lines(model.lineItems);
  } else if (model.entity === 'Order') {
    oneOf('status', model.status, ORDER_STATUS);
    oneOf('paymentStatus', model.paymentStatus, PAYMENT_STATUS);
    oneOf('fulfillmentStatus', model.fulfillmentStatus, FULFILLMENT_STATUS);
    match('placedAt', model.placedAt, INSTANT);
    match('currency', model.currency, CURRENCY);
    for (const k of ['subtotal', 'shipping', 'tax', 'discount', 'total', 'refunded'] as const) money(k, model[k]);
    address('billingAddress', model.billingAddress);
    address('shippingAddress', model.shippingAddress);
    lines(model.lineItems);
  } else {
    p.push(`entity: unknown ${(model as { entity: unknown }).entity}`);
  }
  return p;
}
