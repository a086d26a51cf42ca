// QuickBooks Online webhooks: one app-wide endpoint (set in the Intuit Developer portal) receives
// the changes of every connected company. Each POST carries `intuit-signature`, the base64
// HMAC-SHA256 of the raw body keyed with the app's verifier token; nothing signs a timestamp, so
// there is no replay window to check (deliveries are deduplicated by event id downstream). Two
// body formats exist, and both are accepted:
// - the legacy notification: {"eventNotifications":[{"realmId","dataChangeEvent":{"entities":[
//   {"name","id","operation","lastUpdated","deletedId"?}]}}]}, batched, with no event id (the id
//   is built from realm, entity, record, operation and time);
// - the CloudEvents array that replaces it (opt-in in the portal, mandatory from 2026-05-15):
//   [{"specversion":"1.0","id","type":"qbo.<entity>.<action>.v1","time","intuitentityid",
//   "intuitaccountid","data":{}}].
// Both carry ids only: the pipeline refetches the records in batches (loaders.*.byIds).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { EntityType } from '../sdk/models.ts';
import type { ChangeEvent, ConnectorWebhooks, Result, WebhookVerifyInput } from '../sdk/types.ts';

export const SIGNATURE_HEADER = 'intuit-signature';
/** The connection setting that holds the company id (realmId) events are routed by. */
export const REALM_SETTING = 'realmId';

/** QuickBooks entity (either format's spelling, lower-cased) → the unified entity it changes. */
const ENTITIES: Record<string, EntityType> = { customer: 'Contact', invoice: 'Invoice', salesreceipt: 'Order' };
type ChangeType = ChangeEvent['type'];
const OPERATIONS: Record<string, ChangeType> = {
  create: 'CREATED',
  created: 'CREATED',
  update: 'UPDATED',
  updated: 'UPDATED',
  emailed: 'UPDATED',
  void: 'UPDATED',
  voided: 'UPDATED',
  merge: 'UPDATED',
  merged: 'UPDATED',
  delete: 'DELETED',
  deleted: 'DELETED',
};

/** base64(HMAC-SHA256(verifier token, raw body)): what Intuit puts in `intuit-signature`. */
export function signIntuitPayload(rawBody: Buffer | string, verifierToken: string): string {
  return createHmac('sha256', verifierToken).update(rawBody).digest('base64');
}

const invalid = (message: string): Result<void> => ({ ok: false, error: new ConnectorError('WEBHOOK_SIGNATURE_INVALID', message, { retryable: false }) });
const bad = (message: string): Result<ChangeEvent[]> => ({ ok: false, error: new ConnectorError('UPSTREAM_BAD_RESPONSE', message, { retryable: false }) });

export function verifyIntuitSignature(input: WebhookVerifyInput): Result<void> {
  const header = input.headers[SIGNATURE_HEADER];
  if (!header) return invalid(`missing ${SIGNATURE_HEADER} header (QuickBooks signs every notification; is a proxy stripping it?)`);
  if (!input.secret) return invalid('no verifier token configured for this connection (Intuit Developer portal › your app › Webhooks › Show verifier token)');
  const expected = createHmac('sha256', input.secret).update(input.rawBody).digest();
  const given = Buffer.from(header.trim(), 'base64');
  if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true, value: undefined };
  const hints: string[] = [];
  if (input.secret !== input.secret.trim()) hints.push('the configured verifier token has leading or trailing whitespace');
  if (/^\s|\s$/.test(input.rawBody.toString('utf8', 0, Math.min(input.rawBody.length, 64))))
    hints.push('the body starts or ends with whitespace: pass the raw bytes as received');
  return invalid(
    `${SIGNATURE_HEADER} does not match the body${hints.length ? ` (${hints.join('; ')})` : ' (sign the raw request bytes with the verifier token; a re-serialized JSON body never matches)'}`,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An instant as ISO-8601 UTC with milliseconds (CloudEvents times carry nanoseconds). */
function instant(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function legacyEvents(body: Record<string, unknown>): Result<ChangeEvent[]> {
  const notifications = body.eventNotifications;
  if (!Array.isArray(notifications)) return bad('not a QuickBooks notification: eventNotifications is missing');
  const events: ChangeEvent[] = [];
  for (const n of notifications) {
    if (!isObject(n)) return bad('eventNotifications[] must hold objects');
    const realmId = typeof n.realmId === 'string' ? n.realmId : null;
    const entities = isObject(n.dataChangeEvent) ? n.dataChangeEvent.entities : undefined;
    if (!realmId || !Array.isArray(entities)) return bad('a notification lacks realmId or dataChangeEvent.entities');
    for (const e of entities) {
      if (!isObject(e) || typeof e.name !== 'string' || typeof e.id !== 'string' || typeof e.operation !== 'string') {
        return bad('a dataChangeEvent entity lacks name, id or operation');
      }
      const entity = ENTITIES[e.name.toLowerCase()];
      const type = OPERATIONS[e.operation.toLowerCase()];
      if (!entity || !type) continue; // Payment, Estimate, … : not served (a payment also updates its invoice)
      const occurredAt = instant(e.lastUpdated);
      if (!occurredAt) return bad(`entity ${e.name} ${e.id}: lastUpdated is not an instant`);
      const version = Date.parse(occurredAt);
      const base = { entity, occurredAt, version, model: null, account: realmId };
      events.push({ ...base, eventId: `${realmId}:${e.name}:${e.id}:${e.operation}:${occurredAt}`, type, remoteId: e.id });
      // A merge folds deletedId into id: the merged-away record is gone.
      if (typeof e.deletedId === 'string' && e.deletedId !== '') {
        events.push({ ...base, eventId: `${realmId}:${e.name}:${e.deletedId}:Delete:${occurredAt}`, type: 'DELETED', remoteId: e.deletedId });
      }
    }
  }
  return { ok: true, value: events };
}

function cloudEvents(body: unknown[]): Result<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  for (const ce of body) {
    if (!isObject(ce)) return bad('CloudEvents batch must hold objects');
    const { id, type, intuitentityid, intuitaccountid } = ce;
    if (typeof id !== 'string' || typeof type !== 'string' || typeof intuitentityid !== 'string' || typeof intuitaccountid !== 'string') {
      return bad('a CloudEvent lacks id, type, intuitentityid or intuitaccountid');
    }
    const m = /^qbo\.([a-z]+)\.([a-z]+)\.v\d+$/i.exec(type);
    if (!m) return bad(`unknown CloudEvent type ${JSON.stringify(type.slice(0, 80))}`);
    const entity = ENTITIES[(m[1] as string).toLowerCase()];
    const change = OPERATIONS[(m[2] as string).toLowerCase()];
    if (!entity || !change) continue;
    const occurredAt = instant(ce.time);
    if (!occurredAt) return bad(`CloudEvent ${id}: time is not an instant`);
    events.push({
      eventId: id,
      type: change,
      entity,
      remoteId: intuitentityid,
      occurredAt,
      version: Date.parse(occurredAt),
      model: null,
      account: intuitaccountid,
    });
  }
  return { ok: true, value: events };
}

export function intuitEvents(rawBody: Buffer): Result<ChangeEvent[]> {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return bad('QuickBooks notification body is not valid JSON');
  }
  if (Array.isArray(body)) return cloudEvents(body);
  if (isObject(body)) return legacyEvents(body);
  return bad('QuickBooks notification body must be an object (legacy) or an array (CloudEvents)');
}

export const quickbooksWebhooks: ConnectorWebhooks = {
  verify: verifyIntuitSignature,
  toEvents: (rawBody) => intuitEvents(rawBody),
  accountSetting: REALM_SETTING,
};
