// HubSpot webhooks: signature v3 verification and event mapping. HubSpot POSTs a JSON array of
// id-only events; every one becomes a ChangeEvent the gateway dedupes (eventId), orders (version)
// and completes by refetching the record (model is always null). Facts: providers/REFERENCE.md §1
// "Webhooks", HubSpot's request-validation guide; see README.md "Webhooks".
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { EntityType } from '../sdk/models.ts';
import type { ChangeEvent, ConnectorWebhooks, Result, WebhookVerifyInput } from '../sdk/types.ts';
import { HUBSPOT_WEBHOOK_TOLERANCE_SECONDS } from './manifest.ts';

export const SIGNATURE_HEADER = 'x-hubspot-signature-v3';
export const TIMESTAMP_HEADER = 'x-hubspot-request-timestamp';
/** Legacy (v1/v2, no timestamp) signature header; only used to explain a missing v3 header. */
const LEGACY_SIGNATURE_HEADER = 'x-hubspot-signature';

/** Largest |now − X-HubSpot-Request-Timestamp| accepted, in ms (HubSpot: "older than 5 minutes" → reject). */
export const SIGNATURE_TOLERANCE_MS = HUBSPOT_WEBHOOK_TOLERANCE_SECONDS * 1000;

/** Object type ids in `object.*` events (`objectTypeId`). */
export const OBJECT_TYPE_ID_CONTACTS = '0-1';
/** UNCONFIRMED: commonly cited for invoices, not verified against an official source (REFERENCE §1). */
export const OBJECT_TYPE_ID_INVOICES = '0-53';
/** UNCONFIRMED: commonly cited for orders, not verified against an official source (REFERENCE §1). */
export const OBJECT_TYPE_ID_ORDERS = '0-123';

const ENTITY_BY_OBJECT_TYPE_ID: Readonly<Record<string, EntityType>> = {
  [OBJECT_TYPE_ID_CONTACTS]: 'Contact',
  [OBJECT_TYPE_ID_INVOICES]: 'Invoice',
  [OBJECT_TYPE_ID_ORDERS]: 'Order',
};

// ---------------------------------------------------------------------------------------------
// Signature v3
// ---------------------------------------------------------------------------------------------

/**
 * Percent-encodings HubSpot's guide says to decode in the request URI before hashing (v3). Other
 * escapes (e.g. %20) stay as they are.
 */
const SIGNED_URI_DECODES: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
const SIGNED_URI_ESCAPES = /%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

/** The URI as HubSpot hashes it: the URL as called, with the escapes above decoded. */
export function signedUri(url: string): string {
  return url.replace(SIGNED_URI_ESCAPES, (m) => SIGNED_URI_DECODES[m.toUpperCase()] ?? m);
}

/** HMAC-SHA256(clientSecret, method + uri + rawBody + timestamp), raw digest. The body is hashed as the exact bytes received. */
function digest(secret: string, method: string, uri: string, rawBody: Buffer, timestamp: string): Buffer {
  return createHmac('sha256', secret).update(method, 'utf8').update(uri, 'utf8').update(rawBody).update(timestamp, 'utf8').digest();
}

/** The X-HubSpot-Signature-v3 value for a request (tests, emulators). */
export function signV3(secret: string, method: string, uri: string, rawBody: Buffer | string, timestamp: number | string): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  return digest(secret, method.toUpperCase(), uri, body, String(timestamp)).toString('base64');
}

function header(headers: WebhookVerifyInput['headers'], name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  // Names are promised lower-cased; tolerate a caller that did not.
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

const invalid = (message: string): Result<void> => ({ ok: false, error: new ConnectorError('WEBHOOK_SIGNATURE_INVALID', message) });
const outOfRange = (message: string): Result<void> => ({ ok: false, error: new ConnectorError('WEBHOOK_TIMESTAMP_OUT_OF_RANGE', message) });

const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;
/** Epoch ms has 13 digits until 2286; 9–11 digits is an epoch in seconds. */
const looksLikeSeconds = (ts: number) => ts >= 1e8 && ts < 1e11;

function matches(expected: Buffer, provided: Buffer): boolean {
  return expected.length === provided.length && timingSafeEqual(expected, provided);
}

/** Explains a mismatch without revealing the expected signature: the usual cause is the URL. */
function mismatchHint(input: WebhookVerifyInput, method: string, provided: Buffer, timestamp: string): string {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return ' The URL handed to verify() is not absolute; HubSpot signs the full URL it called (scheme, host, path, query).';
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const other = url.protocol === 'http:' ? 'https' : 'http';
    const swapped = input.url.replace(/^https?:/i, `${other}:`);
    if (matches(digest(input.secret, method, signedUri(swapped), input.rawBody, timestamp), provided)) {
      return ` It matches the same URL with ${other}://: the gateway probably sits behind a TLS-terminating proxy; configure its public URL.`;
    }
  }
  return " Check that the URL is exactly the one HubSpot called (public host, scheme, query string in its order), that the body is the raw bytes (not re-serialized JSON), and that the secret is the app's client secret (not an access token).";
}

export function verify(input: WebhookVerifyInput): Result<void> {
  const signature = header(input.headers, SIGNATURE_HEADER)?.trim();
  const rawTimestamp = header(input.headers, TIMESTAMP_HEADER)?.trim();
  if (!signature) {
    return invalid(
      header(input.headers, LEGACY_SIGNATURE_HEADER)
        ? 'X-HubSpot-Signature-v3 is missing: only the legacy X-HubSpot-Signature (v1/v2, no timestamp) came, which is not accepted.'
        : 'X-HubSpot-Signature-v3 header is missing: not a request from HubSpot, or a proxy dropped the X-HubSpot-* headers.',
    );
  }
  if (!rawTimestamp) return invalid('X-HubSpot-Request-Timestamp header is missing.');
  if (!/^\d{1,16}$/.test(rawTimestamp)) return invalid('X-HubSpot-Request-Timestamp is not an integer (HubSpot sends epoch milliseconds).');
  if (!BASE64_SHA256.test(signature)) {
    return invalid(
      HEX_SHA256.test(signature)
        ? 'X-HubSpot-Signature-v3 is hex-encoded (like v1/v2 signatures); v3 is the base64 of an HMAC-SHA256.'
        : 'X-HubSpot-Signature-v3 is not the base64 of an HMAC-SHA256 (44 characters).',
    );
  }
  if (input.secret === '') return invalid('No client secret is configured for this connection.');

  const method = input.method.toUpperCase();
  const provided = Buffer.from(signature, 'base64');
  // HubSpot's documented form first, then the URL exactly as given (identical for most URLs).
  let ok = false;
  for (const uri of new Set([signedUri(input.url), input.url])) {
    if (matches(digest(input.secret, method, uri, input.rawBody, rawTimestamp), provided)) ok = true;
  }
  if (!ok) return invalid(`X-HubSpot-Signature-v3 does not match the request.${mismatchHint(input, method, provided, rawTimestamp)}`);

  const timestamp = Number(rawTimestamp);
  const skewMs = input.now - timestamp;
  if (Math.abs(skewMs) > SIGNATURE_TOLERANCE_MS) {
    const limit = `${HUBSPOT_WEBHOOK_TOLERANCE_SECONDS} s`;
    if (looksLikeSeconds(timestamp)) {
      return outOfRange(`X-HubSpot-Request-Timestamp ${rawTimestamp} looks like epoch seconds; HubSpot sends milliseconds.`);
    }
    const seconds = Math.round(Math.abs(skewMs) / 1000);
    return outOfRange(
      skewMs > 0
        ? `X-HubSpot-Request-Timestamp is ${seconds} s old (limit ${limit}): a replayed or long-delayed request, or a slow server clock.`
        : `X-HubSpot-Request-Timestamp is ${seconds} s in the future (limit ${limit}): check this server's clock.`,
    );
  }
  return { ok: true, value: undefined };
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** What a subscription type's action means for the record. `merge` has its own handling. */
const ACTIONS: Readonly<Record<string, ChangeEvent['type'] | 'MERGE'>> = {
  creation: 'CREATED',
  propertyChange: 'UPDATED',
  deletion: 'DELETED',
  // GDPR deletion (contacts only): the record is gone like after a deletion.
  privacyDeletion: 'DELETED',
  // The inverse of a deletion: the record is visible again.
  restore: 'CREATED',
  merge: 'MERGE',
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class BadEvent extends Error {}

function idOf(event: Json, field: string, index: number): string {
  const v = event[field];
  // Ids above 2^53 would already have lost precision in JSON.parse (none are known to occur);
  // BigInt keeps them in plain digits instead of exponent notation.
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString();
  if (typeof v === 'string' && /^\d+$/.test(v)) return v;
  throw new BadEvent(`event [${index}] has no valid ${field}`);
}

function optionalIds(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x) => (typeof x === 'number' && Number.isSafeInteger(x)) || (typeof x === 'string' && /^\d+$/.test(x))).map(String);
}

/** Entity and action for a subscription type, or null when it is not one this connector maps. */
function classify(event: Json): { entity: EntityType; action: ChangeEvent['type'] | 'MERGE' } | null {
  const type = event.subscriptionType;
  if (typeof type !== 'string') return null;
  const dot = type.indexOf('.');
  if (dot < 0) return null;
  const scope = type.slice(0, dot);
  const name = type.slice(dot + 1);
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (action === undefined) return null;
  if (scope === 'contact') return { entity: 'Contact', action };
  // privacyDeletion exists for contacts only (generic object.* subscriptions do not carry it).
  if (scope === 'object' && name !== 'privacyDeletion') {
    const typeId = event.objectTypeId;
    const entity = typeof typeId === 'string' ? ENTITY_BY_OBJECT_TYPE_ID[typeId] : undefined;
    return entity ? { entity, action } : null;
  }
  return null;
}

function eventsFor(event: Json, index: number): ChangeEvent[] {
  const kind = classify(event);
  if (!kind) return [];
  const eventId = `${idOf(event, 'portalId', index)}:${idOf(event, 'subscriptionId', index)}:${idOf(event, 'eventId', index)}`;
  const objectId = idOf(event, 'objectId', index);
  const occurredAtMs = event.occurredAt;
  if (typeof occurredAtMs !== 'number' || !Number.isSafeInteger(occurredAtMs) || occurredAtMs < 0) {
    throw new BadEvent(`event [${index}] has no valid occurredAt (epoch ms)`);
  }
  const base = {
    entity: kind.entity,
    occurredAt: new Date(occurredAtMs).toISOString(),
    version: occurredAtMs,
    model: null,
    account: idOf(event, 'portalId', index),
  };
  if (kind.action !== 'MERGE') return [{ ...base, eventId, type: kind.action, remoteId: objectId }];

  // Merge: the surviving record changed (or was created by the merge); the others are gone.
  const primary = event.primaryObjectId === undefined ? objectId : idOf(event, 'primaryObjectId', index);
  const survivor = event.newObjectId === undefined || event.newObjectId === null ? primary : idOf(event, 'newObjectId', index);
  const out: ChangeEvent[] = [{ ...base, eventId, type: survivor === primary ? 'UPDATED' : 'CREATED', remoteId: survivor }];
  const gone = new Set([primary, objectId, ...optionalIds(event.mergedObjectIds)]);
  gone.delete(survivor);
  for (const id of gone) out.push({ ...base, eventId: `${eventId}:${id}`, type: 'DELETED', remoteId: id });
  return out;
}

/** "Each request can contain up to 100 events" (HubSpot's webhook docs): a larger body is not HubSpot's. */
export const MAX_EVENTS_PER_REQUEST = 100;

export function toEvents(rawBody: Buffer): Result<ChangeEvent[]> {
  const bad = (message: string): Result<ChangeEvent[]> => ({ ok: false, error: new ConnectorError('UPSTREAM_BAD_RESPONSE', message) });
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody.toString('utf8'));
  } catch {
    // JSON.parse's message quotes the input: never put it in the error.
    return bad(`HubSpot webhook body is not valid JSON (${rawBody.length} bytes).`);
  }
  if (!Array.isArray(parsed)) {
    return bad(`HubSpot webhook body must be a JSON array of events, got ${parsed === null ? 'null' : typeof parsed}.`);
  }
  if (parsed.length > MAX_EVENTS_PER_REQUEST) {
    return bad(`HubSpot webhook body holds ${parsed.length} events; HubSpot sends at most ${MAX_EVENTS_PER_REQUEST} per request.`);
  }
  const events: ChangeEvent[] = [];
  try {
    parsed.forEach((event: unknown, index) => {
      if (!isObject(event)) throw new BadEvent(`event [${index}] is not an object`);
      if (typeof event.subscriptionType !== 'string') throw new BadEvent(`event [${index}] has no subscriptionType`);
      events.push(...eventsFor(event, index));
    });
  } catch (err) {
    if (err instanceof BadEvent) return bad(`HubSpot webhook body: ${err.message}.`);
    throw err;
  }
  return { ok: true, value: events };
}

// Public apps have one webhook URL per app; each event names its portal.
export const hubspotWebhooks: ConnectorWebhooks = { verify, toEvents, accountSetting: 'portalId' };
