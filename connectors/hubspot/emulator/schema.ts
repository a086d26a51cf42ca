// What the emulator knows about HubSpot's object types: names, the properties each type defines
// (with their HubSpot property type, which drives search comparisons and value formats), the
// properties returned when a request names none, and the association types between them.
// Sources and UNCONFIRMED names are listed in ../README.md.

export const OBJECT_TYPES = ['contacts', 'invoices', 'orders', 'line_items'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** HubSpot property types that change behaviour here: comparisons in search, value formats. */
export type PropertyKind = 'string' | 'number' | 'datetime' | 'date' | 'enumeration';

export interface ObjectTypeDef {
  name: ObjectType;
  /** Singular form used in association labels (`invoice_to_contact`) and `associations.<x>` filters. */
  singular: string;
  /** Upper-case object name used in HubSpot's batch error messages (`Could not get some CONTACT objects`). */
  errorName: string;
  /** Object type id (`0-1` for contacts). Invoices/orders/line items ids are UNCONFIRMED. */
  typeId: string;
  /** Key used in the v3 `associations` response map (HubSpot writes `line items` with a space). */
  associationKey: string;
  properties: Record<string, PropertyKind>;
  /** Returned when the request names no properties. */
  defaultProperties: string[];
  /** Returned on every read, whatever the request names. */
  alwaysProperties: string[];
  createdProperty: string;
  modifiedProperty: string;
  /** Free-text `query` in search looks at these. */
  searchableProperties: string[];
}

const contactProperties: Record<string, PropertyKind> = {
  email: 'string',
  firstname: 'string',
  lastname: 'string',
  phone: 'string',
  mobilephone: 'string',
  company: 'string',
  jobtitle: 'string',
  address: 'string',
  city: 'string',
  state: 'string',
  zip: 'string',
  country: 'string',
  lifecyclestage: 'enumeration',
  hs_additional_emails: 'string',
  createdate: 'datetime',
  lastmodifieddate: 'datetime',
  hs_object_id: 'number',
};

const invoiceProperties: Record<string, PropertyKind> = {
  hs_number: 'string',
  hs_title: 'string',
  hs_invoice_status: 'enumeration',
  hs_currency: 'enumeration',
  hs_invoice_date: 'date',
  hs_due_date: 'date',
  hs_payment_date: 'datetime',
  hs_subtotal: 'number',
  hs_tax: 'number',
  hs_discount: 'number',
  hs_amount_billed: 'number',
  hs_amount_paid: 'number',
  hs_balance_due: 'number',
  hs_createdate: 'datetime',
  hs_lastmodifieddate: 'datetime',
  hs_object_id: 'number',
};

const address = (prefix: string, withEmail: boolean): Record<string, PropertyKind> => ({
  [`${prefix}_firstname`]: 'string',
  [`${prefix}_lastname`]: 'string',
  ...(withEmail ? { [`${prefix}_email`]: 'string' } : {}),
  [`${prefix}_phone`]: 'string',
  [`${prefix}_street`]: 'string',
  [`${prefix}_city`]: 'string',
  [`${prefix}_state`]: 'string',
  [`${prefix}_postal_code`]: 'string',
  [`${prefix}_country`]: 'string',
});

const orderProperties: Record<string, PropertyKind> = {
  hs_order_name: 'string',
  hs_external_order_id: 'string',
  hs_source_store: 'string',
  hs_currency_code: 'enumeration',
  hs_subtotal_price: 'number',
  hs_shipping_cost: 'number',
  hs_tax: 'number',
  hs_order_discount: 'number',
  hs_total_price: 'number',
  hs_refund_amount: 'number',
  hs_pipeline_stage: 'enumeration',
  hs_payment_status: 'enumeration',
  hs_fulfillment_status: 'enumeration',
  ...address('hs_billing_address', true),
  ...address('hs_shipping_address', false),
  hs_createdate: 'datetime',
  hs_lastmodifieddate: 'datetime',
  hs_object_id: 'number',
};

const lineItemProperties: Record<string, PropertyKind> = {
  name: 'string',
  quantity: 'number',
  price: 'number',
  amount: 'number',
  hs_sku: 'string',
  hs_product_id: 'string',
  hs_line_item_currency_code: 'enumeration',
  createdate: 'datetime',
  hs_lastmodifieddate: 'datetime',
  hs_object_id: 'number',
};

export const OBJECT_TYPE_DEFS: Record<ObjectType, ObjectTypeDef> = {
  contacts: {
    name: 'contacts',
    singular: 'contact',
    errorName: 'CONTACT',
    typeId: '0-1',
    associationKey: 'contacts',
    properties: contactProperties,
    defaultProperties: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
    alwaysProperties: ['createdate', 'hs_object_id', 'lastmodifieddate'],
    createdProperty: 'createdate',
    modifiedProperty: 'lastmodifieddate',
    searchableProperties: ['email', 'firstname', 'lastname', 'phone', 'mobilephone', 'company'],
  },
  invoices: {
    name: 'invoices',
    singular: 'invoice',
    errorName: 'INVOICE',
    typeId: '0-53',
    associationKey: 'invoices',
    properties: invoiceProperties,
    defaultProperties: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    alwaysProperties: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    createdProperty: 'hs_createdate',
    modifiedProperty: 'hs_lastmodifieddate',
    searchableProperties: ['hs_number', 'hs_title'],
  },
  orders: {
    name: 'orders',
    singular: 'order',
    errorName: 'ORDER',
    typeId: '0-123',
    associationKey: 'orders',
    properties: orderProperties,
    defaultProperties: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    alwaysProperties: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    createdProperty: 'hs_createdate',
    modifiedProperty: 'hs_lastmodifieddate',
    searchableProperties: ['hs_order_name', 'hs_external_order_id'],
  },
  line_items: {
    name: 'line_items',
    singular: 'line_item',
    errorName: 'LINE_ITEM',
    typeId: '0-8',
    associationKey: 'line items',
    properties: lineItemProperties,
    defaultProperties: ['amount', 'createdate', 'hs_lastmodifieddate', 'hs_object_id', 'name', 'price', 'quantity'],
    alwaysProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    createdProperty: 'createdate',
    modifiedProperty: 'hs_lastmodifieddate',
    searchableProperties: ['name', 'hs_sku'],
  },
};

const ALIASES: Record<string, ObjectType> = {};
for (const def of Object.values(OBJECT_TYPE_DEFS)) {
  ALIASES[def.name] = def.name;
  ALIASES[def.singular] = def.name;
  ALIASES[def.typeId] = def.name;
}
// HubSpot also accepts the spaced/plural spellings in a few places.
ALIASES['lineitems'] = 'line_items';
ALIASES['line items'] = 'line_items';

/** Resolves `contacts`, `contact`, `0-1`, ... (case-insensitive) to the canonical name, or null. */
export function resolveObjectType(raw: string): ObjectType | null {
  return ALIASES[raw.trim().toLowerCase()] ?? null;
}

/**
 * HUBSPOT_DEFINED association type ids, per direction. invoice→contact 177 and order→line item 513
 * are seen in third-party integration code; the others are UNCONFIRMED.
 */
export const ASSOCIATION_TYPE_IDS: Record<string, number> = {
  'invoices->contacts': 177,
  'contacts->invoices': 178,
  'invoices->line_items': 409,
  'line_items->invoices': 410,
  'orders->contacts': 507,
  'contacts->orders': 508,
  'orders->line_items': 513,
  'line_items->orders': 514,
};

export function associationTypeId(from: ObjectType, to: ObjectType): number {
  return ASSOCIATION_TYPE_IDS[`${from}->${to}`] ?? 1;
}

/** The v3 `type` label of an association, e.g. `invoice_to_contact`. */
export function associationLabel(from: ObjectType, to: ObjectType): string {
  return `${OBJECT_TYPE_DEFS[from].singular}_to_${OBJECT_TYPE_DEFS[to].singular}`;
}
