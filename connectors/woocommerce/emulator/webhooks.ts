// WooCommerce's side of webhook delivery, on the kit's sender: one POST per change, the resource
// as `trim(wp_json_encode(payload))` (PHP escapes "/" and non-ASCII), X-WC-Webhook-* headers and
// the base64 HMAC-SHA256 signature. WooCommerce never retries a failed delivery: the target's
// retry schedule is empty unless a test sets one, and after more than 5 consecutive failures the
// webhook is disabled and delivers nothing more (woocommerce_max_webhook_delivery_failures).
// Creating a webhook sends the unsigned ping, form body `webhook_id=<id>`.
import { createHash } from 'node:crypto';
import { WebhookSender, type WebhookAttempt, type WebhookScheme } from '../../sdk/emulator-kit/index.ts';
import { signWooPayload } from '../webhooks.ts';
import type { Topic } from './store.ts';

export const USER_AGENT = 'WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)';
export const MAX_DELIVERY_FAILURES = 5;
const DELIVERY_TIMEOUT_MS = 60_000;

/** One webhook per topic, all pointing at the target, as a store owner sets them up. */
export const WEBHOOK_IDS: Record<Topic, number> = {
  'customer.created': 1,
  'customer.updated': 2,
  'customer.deleted': 3,
  'order.created': 4,
  'order.updated': 5,
  'order.deleted': 6,
  'order.restored': 7,
};

export type WooDeliveryInfo = { topic: Topic | 'ping'; resourceId: number | null; webhookId: number };
export type WooDelivery = WebhookAttempt<WooDeliveryInfo>;

interface Item extends WooDeliveryInfo {
  body: Buffer;
}

/** PHP's json_encode defaults: "/" as "\/", non-ASCII as \uXXXX. */
export function phpJsonEncode(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export class WooWebhookDelivery {
  readonly sender: WebhookSender<Item, WooDeliveryInfo>;
  private readonly items = new WeakMap<Buffer, Item>();
  private consecutiveFailures = 0;
  private disabled = false;

  constructor(private readonly storeUrl: () => string) {
    const scheme: WebhookScheme<Item, WooDeliveryInfo> = {
      maxItemsPerDelivery: 1,
      batchWindowMs: 0,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      body: ([item]) => (item as Item).body,
      headers: (body, target, sentAtMs) => this.headers(body, target.secret, sentAtMs),
      // WooCommerce logs the failure and moves on.
      retries: () => false,
      describe: ([item]) => ({ topic: item?.topic ?? 'ping', resourceId: item?.resourceId ?? null, webhookId: item?.webhookId ?? 0 }),
      onTargetChange: 'drop',
      targetSetsConcurrency: false,
      defaultConcurrency: 1,
    };
    this.sender = new WebhookSender(scheme);
    this.sender.onDelivery((d) => {
      if (d.topic === 'ping') return;
      // Success is any 2xx-3xx answer (WooCommerce: 200 ≤ code ≤ 302).
      const ok = d.status !== null && d.status >= 200 && d.status <= 302;
      this.consecutiveFailures = ok ? 0 : this.consecutiveFailures + 1;
      if (this.consecutiveFailures > MAX_DELIVERY_FAILURES) this.disabled = true;
    });
  }

  /** The target without a retry schedule unless one is given: WooCommerce has none. */
  setTarget(input: unknown): void {
    const withDefaults = input && typeof input === 'object' && !('retryDelaysMs' in input) ? { ...input, retryDelaysMs: [] } : input;
    this.sender.setTarget(withDefaults);
    this.consecutiveFailures = 0;
    this.disabled = false;
  }

  status(): { status: 'active' | 'disabled'; consecutiveFailures: number } {
    return { status: this.disabled ? 'disabled' : 'active', consecutiveFailures: this.consecutiveFailures };
  }

  deliver(topic: Topic, resourceId: number, payload: unknown): void {
    if (this.disabled) return;
    this.enqueue({ topic, resourceId, webhookId: WEBHOOK_IDS[topic], body: Buffer.from(phpJsonEncode(payload).trim(), 'utf8') });
  }

  /** What creating a webhook sends first. */
  ping(webhookId: number): boolean {
    return this.enqueue({ topic: 'ping', resourceId: null, webhookId, body: Buffer.from(`webhook_id=${webhookId}`, 'utf8') });
  }

  private headers(body: Buffer, secret: string, sentAtMs: number): Record<string, string> {
    const item = this.items.get(body);
    // wp_remote_post with a string body: WordPress sends it form-encoded, with no WooCommerce headers.
    if (!item || item.topic === 'ping') return { 'user-agent': USER_AGENT, 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' };
    const [resource, event] = item.topic.split('.') as [string, string];
    return {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-wc-webhook-source': `${this.storeUrl()}/`,
      'x-wc-webhook-topic': item.topic,
      'x-wc-webhook-resource': resource,
      'x-wc-webhook-event': event,
      'x-wc-webhook-signature': signWooPayload(body, secret),
      'x-wc-webhook-id': String(item.webhookId),
      // wp_hash(webhook id . time()): the same for two deliveries of one webhook within a second.
      'x-wc-webhook-delivery-id': createHash('md5')
        .update(`${item.webhookId}${Math.floor(sentAtMs / 1000)}`)
        .digest('hex'),
    };
  }

  private enqueue(item: Item): boolean {
    // The sender hands headers() the very Buffer body() returned: the item is found by it.
    this.items.set(item.body, item);
    return this.sender.enqueue([item]);
  }
}
