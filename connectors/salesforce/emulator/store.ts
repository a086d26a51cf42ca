// The org's records, in Salesforce's REST shape: 18-character ids with their case-safe suffix,
// datetimes as `2026-01-05T10:00:00.000+0000` in whole seconds (SystemModstamp changes on every
// write, deletion included), deleted records kept in the recycle bin (IsDeleted = true), seen
// only by queryAll.
import { DEMO_EPOCH_MS, demoPeople } from '../../sdk/demo-data.ts';
import { seededRandom } from '../../sdk/emulator.ts';
import { API_VERSION } from '../client.ts';
import type { SObjectSchema } from './soql.ts';

export type SfRecord = Record<string, unknown> & { Id: string; IsDeleted: boolean; SystemModstamp: string };
export type SObjectName = 'Contact' | 'Order' | 'OrderItem';

const common: SObjectSchema = { Id: 'id', CreatedDate: 'datetime', LastModifiedDate: 'datetime', SystemModstamp: 'datetime', IsDeleted: 'boolean' };
const address = (p: string): SObjectSchema => ({
  [`${p}Street`]: 'string',
  [`${p}City`]: 'string',
  [`${p}State`]: 'string',
  [`${p}PostalCode`]: 'string',
  [`${p}Country`]: 'string',
});

export const SCHEMAS: Record<SObjectName, SObjectSchema> = {
  Contact: {
    ...common,
    FirstName: 'string',
    LastName: 'string',
    Name: 'string',
    Salutation: 'string',
    Email: 'string',
    Phone: 'string',
    MobilePhone: 'string',
    Title: 'string',
    AccountId: 'id',
    OwnerId: 'id',
    ...address('Mailing'),
  },
  Order: {
    ...common,
    OrderNumber: 'string',
    AccountId: 'id',
    Status: 'string',
    StatusCode: 'string',
    EffectiveDate: 'date',
    EndDate: 'date',
    TotalAmount: 'number',
    Type: 'string',
    Description: 'string',
    BillToContactId: 'id',
    ShipToContactId: 'id',
    Pricebook2Id: 'id',
    ActivatedDate: 'datetime',
    OwnerId: 'id',
    ...address('Billing'),
    ...address('Shipping'),
  },
  OrderItem: {
    ...common,
    OrderId: 'id',
    Product2Id: 'id',
    PricebookEntryId: 'id',
    Quantity: 'number',
    UnitPrice: 'number',
    TotalPrice: 'number',
    ListPrice: 'number',
    Description: 'string',
  },
};

/** Key prefixes of the standard objects. */
const PREFIX: Record<SObjectName | 'Account' | 'Product2', string> = { Contact: '003', Order: '801', OrderItem: '802', Account: '001', Product2: '01t' };

/** The 3-character case-safe suffix of a 15-character id (Salesforce's published algorithm). */
export function caseSafeSuffix(id15: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let k = 0; k < 5; k++) {
      const c = id15[chunk * 5 + k] as string;
      if (c >= 'A' && c <= 'Z') bits |= 1 << k;
    }
    suffix += alphabet[bits];
  }
  return suffix;
}

/** `2026-01-05T10:00:00.000+0000`, whole seconds. */
export function sfDateTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}.000+0000`;
}

export class SalesforceStore {
  readonly records: Record<SObjectName, Map<string, SfRecord>> = { Contact: new Map(), Order: new Map(), OrderItem: new Map() };
  private counter = 0;
  private orderNumber = 100;
  /** The clock records are stamped with (tests move it to make same-second ties). */
  now: () => number = Date.now;

  newId(type: SObjectName | 'Account' | 'Product2'): string {
    this.counter++;
    const id15 = `${PREFIX[type]}5g000${this.counter.toString(36).toUpperCase().padStart(7, '0')}`.slice(0, 15);
    return id15 + caseSafeSuffix(id15);
  }

  attributes(type: SObjectName, id: string) {
    return { type, url: `/services/data/${API_VERSION}/sobjects/${type}/${id}` };
  }

  /** The record as the REST API shows it, with only `fields` (in that order) when given. */
  view(type: SObjectName, record: SfRecord, fields?: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { attributes: this.attributes(type, record.Id) };
    for (const f of fields ?? Object.keys(SCHEMAS[type])) out[f] = record[f] ?? null;
    return out;
  }

  insert(type: SObjectName, fields: Record<string, unknown>, at = this.now()): SfRecord {
    const stamp = sfDateTime(at);
    const record: SfRecord = { Id: this.newId(type), CreatedDate: stamp, LastModifiedDate: stamp, SystemModstamp: stamp, IsDeleted: false, ...fields };
    if (type === 'Contact') record['Name'] = [record['FirstName'], record['LastName']].filter(Boolean).join(' ');
    if (type === 'Order') record['OrderNumber'] = String(this.orderNumber++).padStart(8, '0');
    this.records[type].set(record.Id, record);
    return record;
  }

  /** Only live records: a deleted one is in the recycle bin. */
  find(type: SObjectName, id: string): SfRecord | undefined {
    const r = this.records[type].get(id) ?? (id.length === 15 ? [...this.records[type].values()].find((x) => x.Id.startsWith(id)) : undefined);
    return r && !r.IsDeleted ? r : undefined;
  }

  update(type: SObjectName, id: string, fields: Record<string, unknown>): SfRecord | undefined {
    const r = this.find(type, id);
    if (!r) return undefined;
    Object.assign(r, fields);
    if (type === 'Contact') r['Name'] = [r['FirstName'], r['LastName']].filter(Boolean).join(' ');
    this.touch(r);
    if (type === 'OrderItem') this.rollUp(r['OrderId'] as string);
    return r;
  }

  delete(type: SObjectName, id: string): SfRecord | undefined {
    const r = this.find(type, id);
    if (!r) return undefined;
    r.IsDeleted = true;
    r['SystemModstamp'] = sfDateTime(this.now());
    return r;
  }

  touch(r: SfRecord): void {
    const stamp = sfDateTime(this.now());
    r['LastModifiedDate'] = stamp;
    r['SystemModstamp'] = stamp;
  }

  /** Order.TotalAmount is the roll-up of its OrderItems' TotalPrice (in cents, to stay exact). */
  rollUp(orderId: string): void {
    const order = this.find('Order', orderId);
    if (!order) return;
    let cents = 0;
    for (const item of this.records.OrderItem.values())
      if (item['OrderId'] === orderId && !item.IsDeleted) cents += Math.round(Number(item['TotalPrice']) * 100);
    order['TotalAmount'] = cents / 100;
  }
}

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = { contacts: 40, orders: 30 };
/** Where Salesforce's contacts start in the shared demo population (other emulators use other ranges). */
export const SALESFORCE_PEOPLE_OFFSET = 0;

export function seedStore(store: SalesforceStore, seed: number, scale: { contacts?: number | undefined; orders?: number | undefined } = {}): void {
  const rnd = seededRandom(seed + 6);
  const contacts = scale.contacts ?? DEFAULT_SCALE.contacts;
  const orders = scale.orders ?? DEFAULT_SCALE.orders;
  const people = demoPeople(SALESFORCE_PEOPLE_OFFSET + contacts, seed).slice(SALESFORCE_PEOPLE_OFFSET);
  const day = 86_400_000;
  const contactIds: string[] = [];
  const accountIds: string[] = [];
  for (const [i, p] of people.entries()) {
    if (i % 4 === 0) accountIds.push(store.newId('Account'));
    const at = DEMO_EPOCH_MS + Math.floor(rnd() * 300) * day;
    const c = store.insert(
      'Contact',
      {
        FirstName: p.firstName,
        LastName: p.lastName,
        Salutation: null,
        Email: p.email,
        Phone: p.phone,
        MobilePhone: null,
        Title: p.jobTitle,
        AccountId: accountIds[accountIds.length - 1],
        OwnerId: '0055g00000AbCdEFGH',
        MailingStreet: p.address.line1,
        MailingCity: p.address.city,
        MailingState: p.address.region,
        MailingPostalCode: p.address.postalCode,
        MailingCountry: p.address.country,
      },
      at,
    );
    contactIds.push(c.Id);
  }
  const statuses = ['Draft', 'Activated', 'Activated', 'Activated'];
  for (let i = 0; i < orders; i++) {
    const contact = contactIds[Math.floor(rnd() * contactIds.length)] ?? null;
    const at = DEMO_EPOCH_MS + Math.floor(rnd() * 300) * day;
    const status = statuses[Math.floor(rnd() * statuses.length)] as string;
    const contactRecord = contact ? store.find('Contact', contact) : undefined;
    const order = store.insert(
      'Order',
      {
        AccountId: contactRecord?.['AccountId'] ?? store.newId('Account'),
        Status: status,
        StatusCode: status,
        EffectiveDate: new Date(at).toISOString().slice(0, 10),
        EndDate: null,
        TotalAmount: 0,
        Type: null,
        Description: null,
        BillToContactId: contact,
        ShipToContactId: contact,
        Pricebook2Id: '01s5g00000XyZaBAAV',
        ActivatedDate: status === 'Activated' ? sfDateTime(at + 3_600_000) : null,
        OwnerId: '0055g00000AbCdEFGH',
        BillingStreet: contactRecord?.['MailingStreet'] ?? null,
        BillingCity: contactRecord?.['MailingCity'] ?? null,
        BillingState: contactRecord?.['MailingState'] ?? null,
        BillingPostalCode: contactRecord?.['MailingPostalCode'] ?? null,
        BillingCountry: contactRecord?.['MailingCountry'] ?? null,
        ShippingStreet: null,
        ShippingCity: null,
        ShippingState: null,
        ShippingPostalCode: null,
        ShippingCountry: null,
      },
      at,
    );
    const lines = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < lines; k++) {
      const unitCents = 500 + Math.floor(rnd() * 20_000);
      const qty = 1 + Math.floor(rnd() * 4);
      store.insert(
        'OrderItem',
        {
          OrderId: order.Id,
          Product2Id: store.newId('Product2'),
          PricebookEntryId: null,
          Quantity: qty,
          UnitPrice: unitCents / 100,
          ListPrice: unitCents / 100,
          TotalPrice: (unitCents * qty) / 100,
          Description: `Item ${k + 1}`,
        },
        at,
      );
    }
    store.rollUp(order.Id);
  }
}
