// Stripe webhooks: `Stripe-Signature` verification and Event → ChangeEvent mapping. Pure: no I/O;
// the clock comes in as `input.now`. Both functions return Results and never throw.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { EntityType } from '../sdk/models.ts';
import type { ChangeEvent, ConnectorWebhooks, Result, WebhookVerifyInput } from '../sdk/types.ts';
import {
  eventMapOptions,
  isoFromUnix,
  mapCheckoutSession,
  mapCustomer,
  mapInvoice,
  type StripeCheckoutSession,
  type StripeEvent,
  type StripeInvoice,
} from './mappers.ts';

/**
 * Seconds a `t=` timestamp may be away from now. Our policy checks BOTH directions: an old
 * timestamp (a replay) and one too far in the future (a signer with a skewed or forged clock) are
 * rejected. This is stricter than Stripe's own SDKs, which only reject timestamps older than the
 * tolerance and let any future timestamp through.
 */
export const STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300;

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';

const SIGNATURE_SCHEME = 'v1';
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

const RAW_BODY_HINT =
  'Verify against the raw request body exactly as received (the bytes before any JSON parsing; re-serialized JSON, ' +
  'changed whitespace or newlines, or a re-encoded body never match).';

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: ConnectorError): Result<T> => ({ ok: false, error });
const invalidSignature = (message: string) => new ConnectorError('WEBHOOK_SIGNATURE_INVALID', message, { retryable: false });

/** hex(HMAC-SHA256(key = the whole `whsec_…` string as UTF-8, message = `${t}.${rawBody}`)). */
export function computeStripeSignature(timestamp: number | string, rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`, 'utf8').update(rawBody).digest('hex');
}

/** `t=<ts>,v1=<sig>`: what Stripe sends (tests and the emulator build headers with it). */
export function stripeSignatureHeader(timestamp: number, rawBody: Buffer | string, secret: string): string {
  return `t=${timestamp},${SIGNATURE_SCHEME}=${computeStripeSignature(timestamp, rawBody, secret)}`;
}

interface ParsedHeader {
  timestamp: number | null;
  signatures: string[];
}

/** `t=…,v1=…[,v1=…][,v0=…]`; unknown keys (v0, future schemes) are ignored. */
function parseSignatureHeader(value: string): ParsedHeader {
  const parsed: ParsedHeader = { timestamp: null, signatures: [] };
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === 't' && parsed.timestamp === null && /^\d{1,15}$/.test(val)) parsed.timestamp = Number(val);
    else if (key === SIGNATURE_SCHEME && val !== '') parsed.signatures.push(val);
  }
  return parsed;
}

function headerValue(headers: WebhookVerifyInput['headers'], name: string): string | undefined {
  // Typed as strings; tolerate what Node hands over for a repeated header (an array) all the same.
  const raw = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(raw) ? raw.join(',') : raw;
}

function secretNotes(secret: string): string {
  const notes: string[] = [];
  if (secret !== secret.trim()) {
    notes.push('The configured signing secret has leading or trailing whitespace (often a pasted newline); remove it.');
  } else if (/\s/.test(secret)) {
    notes.push('The configured signing secret contains whitespace.');
  }
  if (!secret.trim().startsWith('whsec_')) {
    notes.push("The configured secret does not look like an endpoint signing secret (it should start with 'whsec_'; an API key does not work).");
  }
  return notes.length > 0 ? ` ${notes.join(' ')}` : '';
}

/** Timing-safe: every candidate is compared in full, on equal-length 32-byte buffers. */
function anySignatureMatches(expectedHex: string, candidates: readonly string[]): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  let matched = false;
  for (const candidate of candidates) {
    if (!HEX_SHA256.test(candidate)) continue; // wrong length or not hex: cannot be a v1 signature
    const given = Buffer.from(candidate, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}

export function verifyStripeSignature(input: WebhookVerifyInput, toleranceSeconds = STRIPE_WEBHOOK_TOLERANCE_SECONDS): Result<void> {
  try {
    const secret: unknown = input.secret;
    const rawBody: unknown = input.rawBody;
    if (typeof secret !== 'string' || secret.trim() === '') {
      return fail(invalidSignature("No webhook signing secret is configured for this connection (Stripe's start with 'whsec_')."));
    }
    let body: Buffer;
    if (Buffer.isBuffer(rawBody)) body = rawBody;
    else if (typeof rawBody === 'string') body = Buffer.from(rawBody, 'utf8');
    else {
      return fail(
        invalidSignature(`The webhook body was handed over as a parsed ${rawBody === null ? 'null' : typeof rawBody}, not as raw bytes. ${RAW_BODY_HINT}`),
      );
    }
    const header = headerValue(input.headers, STRIPE_SIGNATURE_HEADER)?.trim();
    if (!header) return fail(invalidSignature('The request has no Stripe-Signature header.'));
    const parsed = parseSignatureHeader(header);
    if (parsed.timestamp === null) return fail(invalidSignature('The Stripe-Signature header has no valid t= timestamp.'));
    if (parsed.signatures.length === 0)
      return fail(invalidSignature('The Stripe-Signature header has no v1 signature (v0 and other schemes are not accepted).'));

    const expected = computeStripeSignature(parsed.timestamp, body, secret);
    if (!anySignatureMatches(expected, parsed.signatures)) {
      const what =
        parsed.signatures.length === 1
          ? 'The v1 signature in the Stripe-Signature header does not match the payload.'
          : `None of the ${parsed.signatures.length} v1 signatures in the Stripe-Signature header matches the payload.`;
      const empty = body.length === 0 ? ' The body is empty.' : '';
      return fail(invalidSignature(`${what}${empty} ${RAW_BODY_HINT}${secretNotes(secret)}`));
    }

    // Only after the signature holds, so an unsigned request learns nothing about our clock.
    const age = Math.floor(input.now / 1000) - parsed.timestamp;
    if (!Number.isFinite(age) || Math.abs(age) > toleranceSeconds) {
      const direction = age > 0 ? `${age} s old` : `${-age} s in the future`;
      return fail(
        new ConnectorError(
          'WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
          `The Stripe-Signature timestamp is ${Number.isFinite(age) ? direction : 'unusable'}; at most ${toleranceSeconds} s either way is accepted (replay protection; check the receiver's clock).`,
          { retryable: false },
        ),
      );
    }
    return ok(undefined);
  } catch (err) {
    return fail(invalidSignature(`Could not verify the Stripe signature: ${(err as Error).message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Event → ChangeEvent
// ---------------------------------------------------------------------------------------------

type ChangeType = ChangeEvent['type'];

interface Mapping {
  entity: EntityType;
  change: ChangeType;
  /** The `data.object.object` the event type must carry. */
  object: string;
}

/** Event types mapped by exact name; a mismatching data.object for one of these is malformed. */
const EXACT: Record<string, Mapping> = {
  'customer.created': { entity: 'Contact', change: 'CREATED', object: 'customer' },
  'customer.updated': { entity: 'Contact', change: 'UPDATED', object: 'customer' },
  'customer.deleted': { entity: 'Contact', change: 'DELETED', object: 'customer' },
  'invoice.created': { entity: 'Invoice', change: 'CREATED', object: 'invoice' },
  'invoice.deleted': { entity: 'Invoice', change: 'DELETED', object: 'invoice' },
  // Stripe emits no event when a session is created; completion is when the order comes into
  // being, so it is CREATED (consumers treat CREATED as an upsert: an open session may already
  // have been read through list). Every later session event is an UPDATED.
  'checkout.session.completed': { entity: 'Order', change: 'CREATED', object: 'checkout.session' },
  'checkout.session.expired': { entity: 'Order', change: 'UPDATED', object: 'checkout.session' },
  'checkout.session.async_payment_succeeded': { entity: 'Order', change: 'UPDATED', object: 'checkout.session' },
  'checkout.session.async_payment_failed': { entity: 'Order', change: 'UPDATED', object: 'checkout.session' },
};

/** invoice.* events that are not about a stored invoice (a preview without a stable id). */
const SKIPPED_INVOICE_EVENTS = new Set(['invoice.upcoming']);

function mappingFor(type: string, object: unknown): Mapping | null {
  const exact = EXACT[type];
  if (exact) return exact;
  // Every other invoice.* (finalized, paid, payment_succeeded, payment_failed, voided,
  // marked_uncollectible, sent, overdue, …) changes an existing invoice. Sub-objects under other
  // prefixes (invoiceitem.*, invoice_payment.*) do not start with "invoice.".
  if (type.startsWith('invoice.') && !SKIPPED_INVOICE_EVENTS.has(type) && object === 'invoice') {
    return { entity: 'Invoice', change: 'UPDATED', object: 'invoice' };
  }
  return null;
}

const badPayload = (message: string, cause?: unknown) => new ConnectorError('UPSTREAM_BAD_RESPONSE', message, { retryable: false, cause });

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * One Stripe Event (Stripe sends exactly one per request) → zero or one ChangeEvent.
 *
 * - model: the snapshot mapped with the existing mappers, updatedAt = the event time. A
 *   `*.deleted` snapshot still carries the full object; it becomes a tombstone model with
 *   `source.remoteDeleted: true` (not null), so the pipeline keeps the last known fields.
 * - model is null when the snapshot is known to be incomplete, so the pipeline refetches:
 *   Checkout Sessions (webhook snapshots never include `line_items`) and invoices whose embedded
 *   `lines` list has more pages (`has_more`).
 * - v2 "thin" events (`object: "v2.core.event"`) carry only ids and need a fetch of the event;
 *   they are out of scope and skipped (empty list), like unknown event types.
 * - `withModels: false` (toEventsWithoutModels): everything but the model, which stays null.
 */
export function stripeEventToChanges(rawBody: Buffer, withModels = true): Result<ChangeEvent[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : String(rawBody));
  } catch (err) {
    // JSON.parse's message quotes the input: never put the body in the error.
    return fail(badPayload(`The Stripe webhook body is not valid JSON (${rawBody.length} bytes).`, err));
  }
  if (!isRecord(parsed)) return fail(badPayload('The Stripe webhook body is not a JSON object.'));
  if (parsed['object'] === 'v2.core.event') return ok([]);
  if (parsed['object'] !== 'event') {
    return fail(badPayload(`The Stripe webhook body is not an Event (object=${JSON.stringify(parsed['object'] ?? null)}).`));
  }
  const { id, type, created, data } = parsed;
  if (typeof id !== 'string' || id === '' || typeof type !== 'string' || typeof created !== 'number' || !Number.isFinite(created)) {
    return fail(badPayload('The Stripe Event has no id, type or created.'));
  }
  const object = isRecord(data) ? data['object'] : undefined;
  if (!isRecord(object)) return fail(badPayload(`Stripe Event ${id} has no data.object.`));

  const mapping = mappingFor(type, object['object']);
  if (!mapping) return ok([]);
  if (object['object'] !== mapping.object) {
    return fail(badPayload(`Stripe Event ${id} (${type}) carries object=${JSON.stringify(object['object'] ?? null)}, not ${mapping.object}.`));
  }
  const remoteId = object['id'];
  if (typeof remoteId !== 'string' || remoteId === '') return fail(badPayload(`Stripe Event ${id} (${type}) has a data.object without an id.`));

  const event = parsed as unknown as StripeEvent;
  let model: ChangeEvent['model'];
  try {
    // Without models: a worker maps the stored body later.
    if (!withModels) model = null;
    else if (mapping.entity === 'Contact') model = mapCustomer(object, eventMapOptions(event));
    else if (mapping.entity === 'Invoice') {
      const inv = object as unknown as StripeInvoice;
      model = inv.lines?.has_more === true ? null : mapInvoice(inv, eventMapOptions(event));
    } else {
      const s = object as unknown as StripeCheckoutSession;
      const items = s.line_items;
      model = items && Array.isArray(items.data) && items.has_more === false ? mapCheckoutSession(s, eventMapOptions(event)) : null;
    }
  } catch (err) {
    if (err instanceof ConnectorError) return fail(err);
    return fail(new ConnectorError('MAPPING_FAILED', `Could not map Stripe Event ${id}: ${(err as Error).message}`, { retryable: false, cause: err }));
  }

  return ok([
    {
      eventId: id,
      type: mapping.change,
      entity: mapping.entity,
      remoteId,
      occurredAt: isoFromUnix(created) as string,
      // Event time in ms. Stripe's clock has one-second resolution: two events for one object in
      // the same second (invoice.paid + invoice.payment_succeeded) share a version.
      version: created * 1000,
      model,
      // Connect: events of connected accounts name the account.
      account: typeof parsed['account'] === 'string' ? parsed['account'] : null,
    },
  ]);
}

export const stripeWebhooks: ConnectorWebhooks = {
  verify: (input) => verifyStripeSignature(input),
  toEvents: (rawBody) => stripeEventToChanges(rawBody),
  // The Event carries the whole object: the intake answers from ids and stores the body, workers map it.
  toEventsWithoutModels: (rawBody) => stripeEventToChanges(rawBody, false),
  // A platform's Connect endpoint receives every connected account's events.
  accountSetting: 'connectedAccountId',
};
