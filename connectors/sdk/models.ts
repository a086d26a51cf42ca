// The unified model every connector maps into. These are the internal shapes the GraphQL
// resolvers are typed against (codegen mappers); the SDL in schema/ is their public face.
// Dates that are calendar dates are 'YYYY-MM-DD' strings; instants are ISO-8601 strings in UTC.

export const ENTITY_TYPES = ['Contact', 'Invoice', 'Order'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** A decimal amount as a string (never a float) with an upper-case ISO 4217 code. */
export interface MoneyModel {
  amount: string;
  currency: string;
}

/** Provenance filled by the connector; the gateway adds connectionId, fetchedAt and cacheStatus. */
export interface SourceModel {
  provider: string;
  remoteId: string;
  remoteUrl: string | null;
  remoteCreatedAt: string | null;
  remoteUpdatedAt: string | null;
  remoteDeleted: boolean;
}

export type EmailType = 'WORK' | 'PERSONAL' | 'OTHER';
export interface EmailModel {
  address: string;
  type: EmailType;
  primary: boolean;
}

export type PhoneType = 'WORK' | 'MOBILE' | 'HOME' | 'FAX' | 'OTHER';
export interface PhoneModel {
  /** As the provider stores it. */
  number: string;
  /** E.164 form when it can be derived without guessing a country; else null. */
  e164: string | null;
  type: PhoneType;
}

export type AddressType = 'BILLING' | 'SHIPPING' | 'MAILING' | 'OTHER';
export interface AddressModel {
  type: AddressType;
  name: string | null;
  line1: string | null;
  line2: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  /** ISO 3166-1 alpha-2 when the provider gives one, else the provider's text. */
  country: string | null;
}

export interface ContactModel {
  entity: 'Contact';
  source: SourceModel;
  firstName: string | null;
  lastName: string | null;
  /** Display name: the provider's full name, or first + last. */
  name: string | null;
  jobTitle: string | null;
  companyName: string | null;
  emails: EmailModel[];
  phones: PhoneModel[];
  addresses: AddressModel[];
  tags: string[];
  customFields: Record<string, unknown>;
  createdAt: string | null;
  updatedAt: string | null;
  raw: unknown;
}

export interface LineItemModel {
  remoteId: string | null;
  description: string | null;
  /** Decimal string: providers allow fractional quantities. */
  quantity: string | null;
  unitPrice: MoneyModel | null;
  amount: MoneyModel | null;
  sku: string | null;
  productRemoteId: string | null;
}

/** PARTIALLY_PAID: open with 0 < balance < total (see `openInvoiceStatus`). */
export type InvoiceStatus = 'DRAFT' | 'OPEN' | 'PARTIALLY_PAID' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE' | 'UNKNOWN';

/** RECEIVABLE: we bill a customer (sales invoice). PAYABLE: a supplier bills us (bill). */
export type InvoiceKind = 'RECEIVABLE' | 'PAYABLE';

/** One payment applied to an invoice. */
export interface InvoicePaymentModel {
  remoteId: string | null;
  /** The part of the payment applied to this invoice, in the invoice's currency. */
  amount: MoneyModel;
  /** Calendar date the payment was made. */
  date: string | null;
  /** The provider's payment method or type as given (e.g. "card", "Check"); null when unknown. */
  method: string | null;
}

export interface InvoiceModel {
  entity: 'Invoice';
  source: SourceModel;
  number: string | null;
  kind: InvoiceKind;
  status: InvoiceStatus;
  statusRaw: string | null;
  /** Remote id of the billed contact in the same connection. */
  contactRemoteId: string | null;
  /** Remote id of the originating order in the same connection. */
  orderRemoteId: string | null;
  issueDate: string | null;
  dueDate: string | null;
  paidAt: string | null;
  currency: string | null;
  subtotal: MoneyModel | null;
  tax: MoneyModel | null;
  discount: MoneyModel | null;
  total: MoneyModel | null;
  amountPaid: MoneyModel | null;
  balance: MoneyModel | null;
  /** Free text printed on the invoice for the customer (Stripe description, QuickBooks CustomerMemo, Xero Reference). */
  memo: string | null;
  /** The provider's payment terms as text (e.g. "Net 30"). */
  paymentTerms: string | null;
  /** Decimal string: units of `baseCurrency` per one unit of the invoice currency; null when the provider gives none. */
  exchangeRate: string | null;
  /** The books' home currency that `exchangeRate` converts into. */
  baseCurrency: string | null;
  /** Null: the provider does not expose payments per invoice (as opposed to [] = none made). */
  payments: InvoicePaymentModel[] | null;
  /** Null: deferred, served on demand by the connector's `loaders.Invoice.lineItems` (DeferredPartLoader). */
  lineItems: LineItemModel[] | null;
  createdAt: string | null;
  updatedAt: string | null;
  raw: unknown;
}

export type OrderStatus = 'OPEN' | 'COMPLETED' | 'CANCELLED' | 'EXPIRED' | 'UNKNOWN';
export type PaymentStatus = 'PAID' | 'UNPAID' | 'PARTIALLY_PAID' | 'REFUNDED' | 'PARTIALLY_REFUNDED' | 'NOT_REQUIRED' | 'UNKNOWN';
export type FulfillmentStatus = 'FULFILLED' | 'UNFULFILLED' | 'PARTIALLY_FULFILLED' | 'NOT_REQUIRED' | 'UNKNOWN';

export interface OrderModel {
  entity: 'Order';
  source: SourceModel;
  number: string | null;
  status: OrderStatus;
  statusRaw: string | null;
  paymentStatus: PaymentStatus;
  paymentStatusRaw: string | null;
  fulfillmentStatus: FulfillmentStatus;
  fulfillmentStatusRaw: string | null;
  /** Remote id of the buying contact in the same connection. */
  customerRemoteId: string | null;
  /** Customer details as captured on the order (guest checkouts have no contact record). */
  customerEmail: string | null;
  customerName: string | null;
  currency: string | null;
  /** Null: deferred, served on demand by the connector's `loaders.Order.lineItems` (DeferredPartLoader). */
  lineItems: LineItemModel[] | null;
  subtotal: MoneyModel | null;
  shipping: MoneyModel | null;
  tax: MoneyModel | null;
  discount: MoneyModel | null;
  total: MoneyModel | null;
  refunded: MoneyModel | null;
  billingAddress: AddressModel | null;
  shippingAddress: AddressModel | null;
  placedAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  raw: unknown;
}

export type EntityModel = ContactModel | InvoiceModel | OrderModel;
export interface EntityModelMap {
  Contact: ContactModel;
  Invoice: InvoiceModel;
  Order: OrderModel;
}
