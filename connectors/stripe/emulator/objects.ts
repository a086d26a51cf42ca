// Object builders shared by the seed and the admin mutations (records.ts), so both produce the
// same shapes (API version 2026-10-28.endive).
import { reorder, type CheckoutItemObject, type CustomerObject, type InvoiceObject, type Json, type SessionObject, type StripeStore } from './store.ts';

/** What differs between one new draft invoice and another; the rest is Stripe's draft defaults. */
export interface DraftInvoiceFields {
  id: string;
  customer: CustomerObject;
  currency: string;
  collection_method: InvoiceObject['collection_method'];
  created: number;
  livemode: boolean;
  due_date: number | null;
  description: string | null;
  discounts: string[];
  metadata: Record<string, string>;
  auto_advance: boolean;
  automatically_finalizes_at: number | null;
}

/**
 * A draft invoice with no lines yet: the totals are zero until `recomputeInvoice` (the store's
 * insertInvoice) derives them from the lines. The customer_* fields copy the customer as it is now.
 */
export function draftInvoice(f: DraftInvoiceFields): InvoiceObject {
  const c = f.customer;
  return reorder({
    id: f.id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Switchboard Demo',
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: f.auto_advance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: f.automatically_finalizes_at,
    billing_reason: 'manual',
    collection_method: f.collection_method,
    created: f.created,
    currency: f.currency,
    custom_fields: null,
    customer: c.id,
    customer_account: null,
    customer_address: c['address'] ?? null,
    customer_email: c.email,
    customer_name: c.name,
    customer_phone: c['phone'] ?? null,
    customer_shipping: c['shipping'] ?? null,
    customer_tax_exempt: c['tax_exempt'] ?? 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: f.description,
    discounts: f.discounts,
    due_date: f.due_date,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    livemode: f.livemode,
    metadata: f.metadata,
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: f.created,
    period_start: f.created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: { amount_tax_display: null, pdf: { page_size: 'auto' }, template: null, template_version: null },
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: null,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  }) as InvoiceObject;
}

/** What differs between one product and another; the rest is a plain service product. */
export interface ProductFields {
  id: string;
  created: number;
  livemode: boolean;
  name: string;
  shippable: boolean | null;
}

/** A product with no default price yet (the seed sets `default_price` once its prices exist). */
export function newProduct(f: ProductFields): Json & { id: string } {
  return reorder({
    id: f.id,
    object: 'product',
    active: true,
    created: f.created,
    default_price: null as string | null,
    description: null,
    images: [],
    livemode: f.livemode,
    marketing_features: [],
    metadata: {},
    name: f.name,
    package_dimensions: null,
    shippable: f.shippable,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: 'service',
    unit_label: null,
    updated: f.created,
    url: null,
  });
}

/** What differs between one one-time per-unit price and another. */
export interface PriceFields<U extends number | null> {
  id: string;
  active: boolean;
  created: number;
  currency: string;
  livemode: boolean;
  product: string;
  tax_behavior: 'exclusive' | 'unspecified';
  unit_amount: U;
  unit_amount_decimal: string;
}

/** A one-time, per-unit price of `product`. */
export function newPrice<U extends number | null>(f: PriceFields<U>): Json & { id: string; product: string; unit_amount: U } {
  return reorder({
    id: f.id,
    object: 'price',
    active: f.active,
    billing_scheme: 'per_unit',
    created: f.created,
    currency: f.currency,
    custom_unit_amount: null,
    livemode: f.livemode,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: f.product,
    recurring: null,
    tax_behavior: f.tax_behavior,
    tiers_mode: null,
    transform_quantity: null,
    type: 'one_time',
    unit_amount: f.unit_amount,
    unit_amount_decimal: f.unit_amount_decimal,
  });
}

/** What differs between one Checkout Session line item and another. */
export interface CheckoutItemFields {
  id: string;
  currency: string;
  description: string | null;
  /** Copied (structuredClone) into the item. */
  price: Json & { product: string };
  quantity: number;
  amount_subtotal: number;
  amount_discount: number;
  amount_tax: number;
}

/** A Checkout Session line item; amount_total = subtotal - discount + tax. */
export function checkoutItem(f: CheckoutItemFields): CheckoutItemObject {
  return reorder({
    id: f.id,
    object: 'item',
    adjustable_quantity: null,
    amount_discount: f.amount_discount,
    amount_subtotal: f.amount_subtotal,
    amount_tax: f.amount_tax,
    amount_total: f.amount_subtotal - f.amount_discount + f.amount_tax,
    currency: f.currency,
    description: f.description,
    metadata: {},
    price: structuredClone(f.price),
    quantity: f.quantity,
  }) as unknown as CheckoutItemObject;
}

/** What differs between one new (open, unpaid) Checkout Session and another. */
export interface CheckoutSessionFields {
  id: string;
  created: number;
  currency: string;
  livemode: boolean;
  /** null for a guest checkout. */
  customer: CustomerObject | null;
  /** Only used for a guest checkout (a customer's session has customer_email null). */
  customer_email: string | null;
  client_reference_id: string | null;
  /** A coupon applied to the whole session, if any. */
  coupon: string | null;
  metadata: Record<string, string>;
  /** A fixed-rate shipping option (and address collection), if the order ships. */
  shipping: { amount: number; rate: string } | null;
  /** The random fragment of the hosted page URL (40 chars). */
  url_fragment: string;
}

/**
 * An open, unpaid Checkout Session in payment mode. The amounts are zero until the store's
 * insertSession derives them from the line items.
 */
export function newCheckoutSession(f: CheckoutSessionFields): SessionObject {
  const { id, customer, shipping } = f;
  return reorder({
    id,
    object: 'checkout.session',
    adaptive_pricing: { enabled: false },
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: 0,
    amount_total: 0,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: 'https://shop.example.com/cart',
    client_reference_id: f.client_reference_id,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: f.created,
    currency: f.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: customer?.id ?? null,
    customer_account: null,
    customer_creation: customer ? null : 'if_required',
    customer_details: customer
      ? { address: null, business_name: null, email: customer.email, individual_name: null, name: null, phone: null, tax_exempt: 'none', tax_ids: null }
      : null,
    customer_email: customer ? null : f.customer_email,
    discounts: f.coupon ? [{ coupon: f.coupon, promotion_code: null }] : [],
    expires_at: f.created + 86_400,
    integration_identifier: null,
    invoice: null,
    invoice_creation: {
      enabled: false,
      invoice_data: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: null, metadata: {}, rendering_options: null },
    },
    livemode: f.livemode,
    locale: null,
    managed_payments: null,
    metadata: f.metadata,
    mode: 'payment',
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: 'if_required',
    payment_method_configuration_details: null,
    payment_method_options: { card: { request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: customer ? { allow_redisplay_filters: ['always'], payment_method_remove: 'disabled', payment_method_save: null } : null,
    setup_intent: null,
    shipping_address_collection: shipping ? { allowed_countries: ['CA', 'DE', 'FR', 'GB', 'JP', 'NL', 'US'] } : null,
    shipping_cost: shipping ? { amount_subtotal: shipping.amount, amount_tax: 0, amount_total: shipping.amount, shipping_rate: shipping.rate } : null,
    shipping_options: shipping ? [{ shipping_amount: shipping.amount, shipping_rate: shipping.rate }] : [],
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: 'https://shop.example.com/thanks?session_id={CHECKOUT_SESSION_ID}',
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted_page',
    url: `https://checkout.stripe.com/c/pay/${id}#${f.url_fragment}`,
    wallet_options: null,
  }) as SessionObject;
}

/**
 * The PaymentIntent a completed Checkout Session paid with (card, captured automatically).
 * `processing` stands for a delayed payment method that has not settled yet.
 */
export function newPaymentIntent(
  store: StripeStore,
  id: string,
  session: SessionObject,
  at: number,
  status: 'succeeded' | 'processing',
): Json & { id: string } {
  return reorder({
    id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: session['amount_total'],
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: status === 'succeeded' ? session['amount_total'] : 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic_async',
    client_secret: `${id}_secret_${store.chars(25)}`,
    confirmation_method: 'automatic',
    created: at,
    currency: session['currency'],
    customer: session.customer,
    customer_account: null,
    description: null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: status === 'succeeded' ? store.newId('ch') : null,
    livemode: store.livemode,
    managed_payments: null,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: store.newId('pm'),
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status,
    transfer_data: null,
    transfer_group: null,
  });
}
