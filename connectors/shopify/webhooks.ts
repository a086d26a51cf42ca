// Shopify webhooks: `X-Shopify-Hmac-Sha256` verification and headers + body → ChangeEvent. Pure: no
// I/O, never throws. Shopify puts what a webhook is about in headers (topic, shop, event and
// delivery ids, trigger time) and the full resource in the body, in the REST shape of the
// subscription's API version. The events carry the id only (model: null) and the pipeline
// refetches through GraphQL: REST and GraphQL name and normalize fields differently (REST
// fulfillment_status `partial`/null vs GraphQL displayFulfillmentStatus, REST prices without the
// currency next to them, `includeFields` may trim the payload), and one mapper for one shape keeps
// a record the same whether it came from a read or an event. Compliance topics are verified and
// turned into the contract's privacy requests (shopifyCompliance), not change events.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { EntityType } from '../sdk/models.ts';
import type { ChangeEvent, ComplianceEvent, ConnectorWebhooks, PersonRecord, Result, WebhookVerifyInput } from '../sdk/types.ts';

export const SHOPIFY_HMAC_HEADER = 'x-shopify-hmac-sha256';
export const H = {
  hmac: SHOPIFY_HMAC_HEADER,
  topic: 'x-shopify-topic',
  shop: 'x-shopify-shop-domain',
  apiVersion: 'x-shopify-api-version',
  webhookId: 'x-shopify-webhook-id',
  eventId: 'x-shopify-event-id',
  triggeredAt: 'x-shopify-triggered-at',
} as const;

type Headers = Record<string, string | undefined>;
const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: ConnectorError): Result<T> => ({ ok: false, error });
const invalid = (message: string) => new ConnectorError('WEBHOOK_SIGNATURE_INVALID', message, { retryable: false });
const badPayload = (message: string) => new ConnectorError('UPSTREAM_BAD_RESPONSE', message, { retryable: false });

const RAW_BODY_HINT = 'Shopify signs the exact bytes it sends: verify the raw request body before any JSON parsing or re-serialization.';

/** base64(HMAC-SHA256(key = the app's client secret, message = the raw body)). */
export function shopifyWebhookHmac(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

function header(headers: Headers, name: string): string | undefined {
  const raw = (headers as Record<string, string | string[] | undefined>)[name];
  return (Array.isArray(raw) ? raw[0] : raw)?.trim() || undefined;
}

/**
 * There is no timestamp in the MAC, so there is no tolerance to check: replays are caught by the
 * dedupe key (toEvents), staleness by X-Shopify-Triggered-At.
 */
export function verifyShopifyWebhook(input: WebhookVerifyInput): Result<void> {
  const { secret } = input;
  if (typeof secret !== 'string' || secret.trim() === '')
    return fail(invalid("No webhook secret is configured for this connection (Shopify signs with the app's client secret)."));
  if (!Buffer.isBuffer(input.rawBody))
    return fail(invalid(`The webhook body was handed over as a parsed ${typeof input.rawBody}, not raw bytes. ${RAW_BODY_HINT}`));
  const given = header(input.headers, H.hmac);
  if (!given)
    return fail(invalid('The request has no X-Shopify-Hmac-Sha256 header (webhooks sent from the admin Notifications page are not signed for apps).'));
  const expected = createHmac('sha256', secret).update(input.rawBody).digest();
  const decoded = /^[A-Za-z0-9+/]{43}=$/.test(given) ? Buffer.from(given, 'base64') : null;
  if (!decoded || decoded.length !== expected.length || !timingSafeEqual(decoded, expected)) {
    const notes = secret !== secret.trim() ? ' The configured secret has leading or trailing whitespace.' : '';
    return fail(
      invalid(
        `X-Shopify-Hmac-Sha256 does not match the body. ${RAW_BODY_HINT} The key is the app's client secret (custom apps made in the admin: the webhook signing secret shown there).${notes}`,
      ),
    );
  }
  return ok(undefined);
}

/** Topic → the change it announces. */
const TOPICS: Record<string, { entity: EntityType; type: ChangeEvent['type'] }> = {
  'orders/create': { entity: 'Order', type: 'CREATED' },
  'orders/updated': { entity: 'Order', type: 'UPDATED' },
  'orders/paid': { entity: 'Order', type: 'UPDATED' },
  'orders/cancelled': { entity: 'Order', type: 'UPDATED' },
  'orders/fulfilled': { entity: 'Order', type: 'UPDATED' },
  'orders/partially_fulfilled': { entity: 'Order', type: 'UPDATED' },
  'orders/edited': { entity: 'Order', type: 'UPDATED' },
  'orders/delete': { entity: 'Order', type: 'DELETED' },
  'customers/create': { entity: 'Contact', type: 'CREATED' },
  'customers/update': { entity: 'Contact', type: 'UPDATED' },
  'customers/enable': { entity: 'Contact', type: 'UPDATED' },
  'customers/disable': { entity: 'Contact', type: 'UPDATED' },
  'customers/delete': { entity: 'Contact', type: 'DELETED' },
};

export const COMPLIANCE_TOPICS = ['customers/data_request', 'customers/redact', 'shop/redact'] as const;
export type ComplianceTopic = (typeof COMPLIANCE_TOPICS)[number];

/** What a mandatory compliance webhook asks of the app, in our terms. */
export interface ComplianceRequest {
  topic: ComplianceTopic;
  shop: string;
  /** customers/*: the customer's numeric id (null for shop/redact). */
  customerRemoteId: string | null;
  customerEmail: string | null;
  /** customers/redact: orders to erase; customers/data_request: orders requested. */
  orderRemoteIds: string[];
  /** customers/data_request: Shopify's id of the request (answer it within 30 days). */
  dataRequestId: string | null;
  webhookId: string | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const idText = (v: unknown): string | null =>
  typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' && /^\d+$/.test(v) ? v : null;

function parseBody(rawBody: Buffer): Result<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(rawBody.toString('utf8'));
    return isRecord(parsed) ? ok(parsed) : fail(badPayload('The Shopify webhook body is not a JSON object.'));
  } catch {
    return fail(badPayload(`The Shopify webhook body is not valid JSON (${rawBody.length} bytes).`));
  }
}

/** A compliance webhook (already verified) → what the gateway must do; null for other topics. */
export function complianceRequestOf(rawBody: Buffer, headers: Headers): Result<ComplianceRequest | null> {
  const topic = header(headers, H.topic);
  if (!topic || !(COMPLIANCE_TOPICS as readonly string[]).includes(topic)) return ok(null);
  const body = parseBody(rawBody);
  if (!body.ok) return body;
  const b = body.value;
  const customer = isRecord(b['customer']) ? b['customer'] : {};
  const orders = (b['orders_to_redact'] ?? b['orders_requested']) as unknown;
  const dataRequest = isRecord(b['data_request']) ? b['data_request'] : {};
  return ok({
    topic: topic as ComplianceTopic,
    shop: typeof b['shop_domain'] === 'string' ? b['shop_domain'] : (header(headers, H.shop) ?? ''),
    customerRemoteId: idText(customer['id']),
    customerEmail: typeof customer['email'] === 'string' ? customer['email'] : null,
    orderRemoteIds: Array.isArray(orders) ? orders.map(idText).filter((id): id is string => id !== null) : [],
    dataRequestId: idText(dataRequest['id']),
    webhookId: header(headers, H.webhookId) ?? null,
  });
}

/**
 * Headers + body → at most one ChangeEvent (model: null: the pipeline refetches through GraphQL).
 * Dedupe key: `X-Shopify-Event-Id` + topic — one event id is shared by the duplicates Shopify sends
 * for one event (and by the topics one action triggers, which differ by topic); without it, the
 * delivery's `X-Shopify-Webhook-Id`, stable across retries. Unknown topics are acknowledged
 * without events; compliance topics too (see complianceRequestOf).
 */
export function shopifyWebhookToChanges(rawBody: Buffer, headers: Headers = {}): Result<ChangeEvent[]> {
  const topic = header(headers, H.topic);
  if (!topic) return fail(badPayload('The Shopify webhook has no X-Shopify-Topic header (pass the request headers to toEvents).'));
  const mapping = TOPICS[topic];
  if ((COMPLIANCE_TOPICS as readonly string[]).includes(topic)) {
    const request = complianceRequestOf(rawBody, headers);
    return request.ok ? ok([]) : request;
  }
  if (!mapping) return ok([]);
  const body = parseBody(rawBody);
  if (!body.ok) return body;
  const remoteId = idText(body.value['id']);
  if (!remoteId) return fail(badPayload(`The Shopify ${topic} body has no numeric id.`));
  const eventId = header(headers, H.eventId);
  const webhookId = header(headers, H.webhookId);
  if (!eventId && !webhookId) return fail(badPayload('The Shopify webhook has neither X-Shopify-Event-Id nor X-Shopify-Webhook-Id.'));
  const triggered = Date.parse(header(headers, H.triggeredAt) ?? '');
  const updated = Date.parse(typeof body.value['updated_at'] === 'string' ? body.value['updated_at'] : '');
  return ok([
    {
      eventId: eventId ? `${eventId}/${topic}` : `webhook:${webhookId}`,
      type: mapping.type,
      entity: mapping.entity,
      remoteId,
      occurredAt: new Date(Number.isNaN(triggered) ? (Number.isNaN(updated) ? Date.now() : updated) : triggered).toISOString(),
      // The record's updated_at orders changes of one record; deletions carry none (refetch decides).
      version: Number.isNaN(updated) ? null : updated,
      model: null,
      account: header(headers, H.shop) ?? null,
    },
  ]);
}

/** A verified compliance delivery → the privacy request, in the contract's terms; none for other topics. */
export function shopifyCompliance(rawBody: Buffer, headers: Headers): Result<ComplianceEvent[]> {
  const parsed = complianceRequestOf(rawBody, headers);
  if (!parsed.ok || parsed.value === null) return parsed.ok ? ok([]) : parsed;
  const r = parsed.value;
  const requestId = r.webhookId ?? header(headers, H.eventId);
  if (!requestId) return fail(badPayload('The Shopify compliance webhook has neither X-Shopify-Webhook-Id nor X-Shopify-Event-Id.'));
  const records: PersonRecord[] = [
    ...(r.customerRemoteId ? [{ entity: 'Contact' as const, remoteId: r.customerRemoteId }] : []),
    ...r.orderRemoteIds.map((remoteId) => ({ entity: 'Order' as const, remoteId })),
  ];
  const account = r.shop || null;
  if (r.topic === 'shop/redact') return ok([{ kind: 'redact-account', requestId, account }]);
  if (r.topic === 'customers/redact') {
    if (records.length === 0 && !r.customerEmail) return fail(badPayload('The Shopify customers/redact body names no customer.'));
    return ok([{ kind: 'redact-person', requestId, account, records, email: r.customerEmail }]);
  }
  return ok([{ kind: 'data-request', requestId, account, records, email: r.customerEmail, providerRequestId: r.dataRequestId }]);
}

export const shopifyWebhooks = {
  verify: (input: WebhookVerifyInput) => verifyShopifyWebhook(input),
  // The second argument is contract v2's; today's route passes it (src/events/webhook-route.ts).
  toEvents: (rawBody: Buffer, headers?: Headers) => shopifyWebhookToChanges(rawBody, headers),
  // customers/redact, shop/redact, customers/data_request: acted on by the gateway (docs/webhooks.md).
  compliance: (rawBody: Buffer, headers: Headers) => shopifyCompliance(rawBody, headers),
  // One URL per app: events name their shop (X-Shopify-Shop-Domain), the connection keeps it as `shop`.
  accountSetting: 'shop',
} satisfies ConnectorWebhooks;
