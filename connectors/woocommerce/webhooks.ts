// WooCommerce webhooks: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(raw body, webhook secret)),
// with no timestamp (so no replay window to check); topic, resource, event and ids travel in
// headers; the body is the full resource as GET /wc/v3/<resource>s/<id> shows it ({id} only for
// *.deleted). When a webhook is created WooCommerce first POSTs an unsigned ping, form body
// `webhook_id=<id>`, and refuses to save the webhook unless the answer is exactly 200.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { EntityType } from '../sdk/models.ts';
import { minorUnitExponent } from '../sdk/money.ts';
import type { ChangeEvent, ConnectorWebhooks, Result, WebhookVerifyInput } from '../sdk/types.ts';
import { gmtInstant, gmtMillis, mapCustomer, mapOrder } from './mappers.ts';

export const SIGNATURE_HEADER = 'x-wc-webhook-signature';
export const WOO_HEADERS = {
  source: 'x-wc-webhook-source',
  topic: 'x-wc-webhook-topic',
  resource: 'x-wc-webhook-resource',
  event: 'x-wc-webhook-event',
  signature: SIGNATURE_HEADER,
  webhookId: 'x-wc-webhook-id',
  deliveryId: 'x-wc-webhook-delivery-id',
} as const;

type Headers = Record<string, string | undefined>;

export function signWooPayload(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(rawBody).digest('base64');
}

/** WooCommerce's creation ping: exactly `webhook_id=<digits>`, no signature header. */
export function isPing(rawBody: Buffer, headers: Headers): boolean {
  return headers[SIGNATURE_HEADER] === undefined && /^webhook_id=\d{1,20}$/.test(rawBody.toString('latin1').trim());
}

const fail = (code: 'WEBHOOK_SIGNATURE_INVALID', message: string): Result<never> => ({
  ok: false,
  error: new ConnectorError(code, message, { retryable: false }),
});

export function verifyWooWebhook(input: WebhookVerifyInput): Result<void> {
  const { rawBody, headers, secret } = input;
  const given = headers[SIGNATURE_HEADER];
  if (!given) return fail('WEBHOOK_SIGNATURE_INVALID', `missing ${SIGNATURE_HEADER} header: is this a WooCommerce webhook delivery?`);
  const expected = Buffer.from(signWooPayload(rawBody, secret), 'utf8');
  const actual = Buffer.from(given.trim(), 'utf8');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return fail(
      'WEBHOOK_SIGNATURE_INVALID',
      'X-WC-Webhook-Signature does not match: the secret must be the webhook\'s own "Secret" (WooCommerce › Settings › Advanced › Webhooks), not the REST consumer secret, without surrounding spaces; and the body must reach us byte for byte (no proxy re-encoding the JSON)',
    );
  }
  return { ok: true, value: undefined };
}

const ENTITY_OF: Record<string, EntityType> = { customer: 'Contact', order: 'Order' };
const TYPE_OF: Record<string, ChangeEvent['type']> = { created: 'CREATED', updated: 'UPDATED', restored: 'UPDATED', deleted: 'DELETED' };

const bad = (message: string): Result<never> => ({ ok: false, error: new ConnectorError('UPSTREAM_BAD_RESPONSE', message, { retryable: false }) });

/**
 * The dedupe key. WooCommerce has no event id: X-WC-Webhook-Delivery-ID is a hash of the webhook id
 * and the current second, new on every send. So a changed record is keyed by what identifies its
 * state — topic, id, date_modified_gmt and a digest of the exact body — which a re-send of the same
 * state (a second webhook on the same topic and URL, an Action Scheduler re-run) repeats, while two
 * changes within the same second differ in their bytes. A delete carries only {id}, identical every
 * time, so it is keyed by its delivery: a repeated DELETED is harmless, a swallowed one after a
 * restore would not be.
 */
export function wooEventId(topic: string, id: number, modifiedGmt: string | null, rawBody: Buffer, deliveryId: string | undefined): string {
  if (modifiedGmt === null) return `${topic}:${id}:delivery:${deliveryId ?? createHash('sha256').update(rawBody).digest('hex').slice(0, 16)}`;
  return `${topic}:${id}:${modifiedGmt}:${createHash('sha256').update(rawBody).digest('hex').slice(0, 16)}`;
}

export function wooToEvents(rawBody: Buffer, headers?: Headers): Result<ChangeEvent[]> {
  if (!headers) return bad('WooCommerce events are described by their X-WC-Webhook-* headers, which did not reach toEvents');
  const topic = headers[WOO_HEADERS.topic] ?? '';
  const [resource = '', event = ''] = topic.split('.');
  const entity = ENTITY_OF[resource];
  const type = TYPE_OF[event];
  // Other topics (product.*, coupon.*, action.*) are acknowledged and ignored: answering an error
  // would only count towards WooCommerce disabling the webhook after 5 failures.
  if (!entity || !type) return { ok: true, value: [] };
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return bad(`the ${topic} body is not JSON`);
  }
  const id = (body as { id?: unknown } | null)?.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return bad(`the ${topic} body has no numeric id`);
  const deliveryId = headers[WOO_HEADERS.deliveryId];
  if (type === 'DELETED') {
    return {
      ok: true,
      value: [
        {
          eventId: wooEventId(topic, id, null, rawBody, deliveryId),
          type,
          entity,
          remoteId: String(id),
          occurredAt: new Date().toISOString(),
          version: null,
          model: null,
        },
      ],
    };
  }
  try {
    const raw = body as { date_modified_gmt?: string | null; date_created_gmt?: string | null };
    const modified = raw.date_modified_gmt ?? raw.date_created_gmt ?? null;
    const mapped = entity === 'Order' ? mapOrder(body) : mapCustomer(body);
    // Payloads round amounts to the store's decimals (usually 2): a three-decimal currency's order
    // is refetched with dp=3 instead of served from the payload.
    const model = mapped.entity === 'Order' && mapped.currency !== null && minorUnitExponent(mapped.currency) > 2 ? null : mapped;
    return {
      ok: true,
      value: [
        {
          eventId: wooEventId(topic, id, modified, rawBody, deliveryId),
          type,
          entity,
          remoteId: String(id),
          occurredAt: gmtInstant(modified) ?? new Date().toISOString(),
          version: gmtMillis(modified),
          model,
        },
      ],
    };
  } catch (err) {
    return { ok: false, error: err instanceof ConnectorError ? err : new ConnectorError('MAPPING_FAILED', String(err), { retryable: false }) };
  }
}

export const wooWebhooks: ConnectorWebhooks = {
  verify: verifyWooWebhook,
  toEvents: wooToEvents,
  // The creation ping is unsigned by WooCommerce itself and carries no change.
  isHandshake: isPing,
};
