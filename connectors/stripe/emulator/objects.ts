// Object builders shared by the seed and the admin mutations (records.ts), so both produce the
// same shapes (API version 2026-10-28.endive).
import { reorder, type CustomerObject, type InvoiceObject } from './store.ts';

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
