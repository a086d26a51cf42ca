// Xero webhooks, one URL per app (configured in the developer portal, not through the API): a POST
// whose body is `{events[], firstEventSequence, lastEventSequence, entropy}`, signed in
// `x-xero-signature` = base64(HMAC-SHA256(webhook key, raw body)) with no timestamp. Events name a
// resource by id only (resourceId, resourceUrl) — the pipeline refetches them in batches — and the
// organisation by tenantId, which routes them to the connections of that organisation
// (accountSetting). The "Intent to Receive" handshake is an ordinary delivery with no events: the
// route verifies it like any other (401 when wrongly signed), maps it to no change and answers 200
// with an empty body (manifest webhooks.acknowledge: 'empty'), queueing nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { ChangeEvent, ConnectorWebhooks, Result } from '../sdk/types.ts';
import { TENANT_SETTING } from './client.ts';

export const SIGNATURE_HEADER = 'x-xero-signature';

/** base64(HMAC-SHA256(key, rawBody)): what Xero sends in x-xero-signature. */
export function signXeroPayload(rawBody: Buffer | string, webhookKey: string): string {
  return createHmac('sha256', webhookKey).update(rawBody).digest('base64');
}

export interface XeroWebhookEvent {
  resourceUrl?: string;
  resourceId?: string;
  eventDateUtc?: string;
  eventType?: string;
  eventCategory?: string;
  tenantId?: string;
  tenantType?: string;
}

const CATEGORIES: Record<string, 'Contact' | 'Invoice'> = { CONTACT: 'Contact', INVOICE: 'Invoice' };
const TYPES: Record<string, ChangeEvent['type']> = { CREATE: 'CREATED', UPDATE: 'UPDATED' };

const fail = (code: ConnectorError['code'], message: string): { ok: false; error: ConnectorError } => ({
  ok: false,
  error: new ConnectorError(code, message, { retryable: false }),
});

/** eventDateUtc comes without a zone ("2024-06-21T01:15:39.902"): it is UTC. */
function utcMillis(value: string | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(ms) ? null : ms;
}

export const xeroWebhooks: ConnectorWebhooks = {
  accountSetting: TENANT_SETTING,

  verify({ rawBody, headers, secret }): Result<void> {
    const given = headers[SIGNATURE_HEADER];
    if (!given) return fail('WEBHOOK_SIGNATURE_INVALID', `missing ${SIGNATURE_HEADER} header`);
    if (secret !== secret.trim())
      return fail('WEBHOOK_SIGNATURE_INVALID', 'the configured webhook key has leading or trailing whitespace; copy it again from the Xero developer portal');
    const expected = Buffer.from(signXeroPayload(rawBody, secret), 'utf8');
    const actual = Buffer.from(given.trim(), 'utf8');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
      return fail(
        'WEBHOOK_SIGNATURE_INVALID',
        `${SIGNATURE_HEADER} does not match the body: is the webhook key the one shown for this app in the Xero developer portal, and is the raw body passed (not a re-serialized one)?`,
      );
    return { ok: true, value: undefined };
  },

  toEvents(rawBody): Result<ChangeEvent[]> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return fail('UPSTREAM_BAD_RESPONSE', 'Xero webhook body is not valid JSON');
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { events?: unknown }).events))
      return fail('UPSTREAM_BAD_RESPONSE', 'Xero webhook body has no events array');
    const out: ChangeEvent[] = [];
    for (const e of (parsed as { events: XeroWebhookEvent[] }).events) {
      if (!e || typeof e !== 'object') return fail('UPSTREAM_BAD_RESPONSE', 'Xero webhook event is not an object');
      const entity = CATEGORIES[String(e.eventCategory ?? '').toUpperCase()];
      const type = TYPES[String(e.eventType ?? '').toUpperCase()];
      // CREDITNOTE and SUBSCRIPTION events concern nothing this connector serves.
      if (!entity || !type) continue;
      const at = utcMillis(e.eventDateUtc);
      if (!e.resourceId || at === null || !e.tenantId) return fail('UPSTREAM_BAD_RESPONSE', 'Xero webhook event lacks resourceId, eventDateUtc or tenantId');
      out.push({
        // Xero gives no event id: the event's own fields are its identity (a redelivery repeats them).
        eventId: `${e.tenantId}:${String(e.eventCategory).toUpperCase()}:${e.resourceId}:${String(e.eventType).toUpperCase()}:${e.eventDateUtc}`,
        type,
        entity,
        remoteId: e.resourceId.toLowerCase(),
        occurredAt: new Date(at).toISOString(),
        version: at,
        model: null,
        account: e.tenantId,
      });
    }
    return { ok: true, value: out };
  },
};
