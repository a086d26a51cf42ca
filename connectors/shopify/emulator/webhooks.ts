// Shopify's side of webhook delivery, on the kit's sender: one POST per topic and resource, the
// REST JSON body, X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256 of those bytes with the app secret,
// the topic, shop, API version, webhook (delivery) id, event id and trigger time as headers. Every
// non-2xx is retried (Shopify: 8 times over 4 hours; compressed here) with the same body, ids and
// trigger time. Shopify waits 5 s for an answer.
import { randomUUID } from 'node:crypto';
import { WebhookSender, type WebhookAttempt, type WebhookScheme } from '../../sdk/emulator-kit/index.ts';
import { shopifyWebhookHmac } from '../webhooks.ts';
import { SHOPIFY_API_VERSION } from '../queries.ts';

export interface ShopifyWebhookItem {
  topic: string;
  body: Buffer;
  webhookId: string;
  eventId: string;
  triggeredAt: string;
}
export type ShopifyWebhookDelivery = WebhookAttempt<{ topic: string; webhookId: string; eventId: string }>;

export const WEBHOOK_TIMEOUT_MS = 5_000;

export function shopifyWebhookSender(shop: string): WebhookSender<ShopifyWebhookItem, { topic: string; webhookId: string; eventId: string }> {
  const scheme: WebhookScheme<ShopifyWebhookItem, { topic: string; webhookId: string; eventId: string }> = {
    maxItemsPerDelivery: 1,
    batchWindowMs: 0,
    timeoutMs: WEBHOOK_TIMEOUT_MS,
    body: ([item]) => (item as ShopifyWebhookItem).body,
    headers: (body, target) => {
      const [item] = pending.get(body) ?? [];
      return {
        'content-type': 'application/json',
        'user-agent': 'Shopify-Captain-Hook',
        'x-shopify-topic': item?.topic ?? '',
        'x-shopify-hmac-sha256': shopifyWebhookHmac(body, target.secret),
        'x-shopify-shop-domain': shop,
        'x-shopify-api-version': SHOPIFY_API_VERSION,
        'x-shopify-webhook-id': item?.webhookId ?? '',
        'x-shopify-event-id': item?.eventId ?? '',
        'x-shopify-triggered-at': item?.triggeredAt ?? '',
      };
    },
    retries: () => true,
    describe: ([item]) => ({ topic: item?.topic ?? '', webhookId: item?.webhookId ?? '', eventId: item?.eventId ?? '' }),
    onTargetChange: 'follow',
    targetSetsConcurrency: false,
  };
  // The scheme signs by body; the body's item carries the headers' values.
  const pending = new WeakMap<Buffer, [ShopifyWebhookItem]>();
  const sender = new WebhookSender(scheme);
  const enqueue = sender.enqueue.bind(sender);
  sender.enqueue = (items) => {
    for (const item of items) pending.set(item.body, [item]);
    return enqueue(items);
  };
  return sender;
}

/** One webhook for a topic and its REST payload; `eventId` is shared by the topics one change fires. */
export function webhookItem(topic: string, payload: Record<string, unknown>, eventId: string, now = Date.now()): ShopifyWebhookItem {
  return { topic, body: Buffer.from(JSON.stringify(payload), 'utf8'), webhookId: randomUUID(), eventId, triggeredAt: new Date(now).toISOString() };
}
