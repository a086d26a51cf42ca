// Stripe's side of webhook delivery, on the kit's sender: one POST per Event, the Event's exact
// JSON bytes, `Stripe-Signature: t=<now>,v1=<hmac>` over exactly those bytes (re-signed with a
// fresh t on every attempt), every non-2xx retried, two events of one object never in flight
// together. Also what Stripe tracks per event: pending_webhooks and whether delivery succeeded
// (the events list's delivery_success filter).
import { createHmac } from 'node:crypto';
import { WebhookSender, type WebhookAttempt, type WebhookScheme } from '../../sdk/emulator-kit/index.ts';
import type { EventObject } from './store.ts';

export { DEFAULT_RETRY_DELAYS_MS } from '../../sdk/emulator-kit/index.ts';
export const DEFAULT_WEBHOOK_CONCURRENCY = 10;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** One delivery attempt, in the order attempts finished. */
export type WebhookDelivery = WebhookAttempt<{ eventId: string; type: string }>;

export interface WebhookSenderOptions {
  concurrency?: number | undefined;
  timeoutMs?: number | undefined;
}

interface QueuedEvent {
  event: EventObject;
  /** The exact bytes sent on every attempt. */
  body: Buffer;
  /** The object the event is about. */
  objectKey: string;
}

export function signStripePayload(body: Buffer, secret: string, timestampSeconds: number): string {
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestampSeconds}.`, 'utf8').update(body).digest('hex');
  return `t=${timestampSeconds},v1=${hmac}`;
}

export class StripeEventDelivery {
  readonly webhooks: WebhookSender<QueuedEvent, { eventId: string; type: string }>;
  /** eventId → delivered (true) or not yet / given up (false); absent when no endpoint existed. */
  private readonly outcome = new Map<string, boolean>();
  /** Events not delivered yet: their pending_webhooks drops to 0 once one attempt succeeds. */
  private readonly pending = new Map<string, EventObject>();

  constructor(options: WebhookSenderOptions = {}) {
    const scheme: WebhookScheme<QueuedEvent, { eventId: string; type: string }> = {
      maxItemsPerDelivery: 1,
      batchWindowMs: 0,
      timeoutMs: options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
      body: ([item]) => (item as QueuedEvent).body,
      headers: (body, target, sentAtMs) => ({
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        accept: '*/*; q=0.5, application/xml',
        'cache-control': 'no-cache',
        'stripe-signature': signStripePayload(body, target.secret, Math.floor(sentAtMs / 1000)),
      }),
      retries: () => true,
      exclusiveKey: ([item]) => item?.objectKey ?? null,
      describe: ([item]) => ({ eventId: item?.event.id ?? '', type: item?.event.type ?? '' }),
      onTargetChange: 'follow',
      targetSetsConcurrency: false,
      defaultConcurrency: Math.max(1, options.concurrency ?? DEFAULT_WEBHOOK_CONCURRENCY),
    };
    this.webhooks = new WebhookSender(scheme);
    this.webhooks.onDelivery((d) => {
      if (d.status === null || d.status < 200 || d.status >= 300) return;
      this.outcome.set(d.eventId, true);
      const event = this.pending.get(d.eventId);
      if (event) event['pending_webhooks'] = 0;
      this.pending.delete(d.eventId);
    });
  }

  /** Called for every new Event; without an endpoint the event is not delivered (now or later), like Stripe. */
  enqueue(event: EventObject): void {
    if (!this.webhooks.hasTarget) return;
    event['pending_webhooks'] = 1;
    const object = event.data.object as { object?: unknown; id?: unknown };
    this.outcome.set(event.id, false);
    this.pending.set(event.id, event);
    const body = Buffer.from(JSON.stringify(event, null, 2), 'utf8');
    this.webhooks.enqueue([{ event, body, objectKey: `${String(object.object)}:${String(object.id)}` }]);
  }

  /** true: delivered; false: pending or given up; undefined: there was no endpoint for it. */
  deliveredOk(eventId: string): boolean | undefined {
    return this.outcome.get(eventId);
  }
}
