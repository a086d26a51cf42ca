// QuickBooks' side of webhook delivery, on the kit's sender: changes are aggregated for a short
// window and sent together, in the legacy notification format (grouped by company) or, when the
// app opted in, as a CloudEvents array; each POST is signed with `intuit-signature` (base64
// HMAC-SHA256 of the body with the verifier token). Intuit retries failed deliveries with backoff
// (the kit's compressed schedule stands in for it).
import { randomUUID } from 'node:crypto';
import { WebhookSender, type WebhookAttempt, type WebhookScheme } from '../../sdk/emulator-kit/index.ts';
import { SIGNATURE_HEADER, signIntuitPayload } from '../webhooks.ts';
import type { StoreChange } from './store.ts';

export type WebhookFormat = 'legacy' | 'cloudevents';
export type QboDeliveryInfo = { format: WebhookFormat; changes: Array<{ name: string; id: string; operation: string }> };
export type QboDelivery = WebhookAttempt<QboDeliveryInfo>;

interface Item extends StoreChange {
  realmId: string;
  /** Fixed when the change happens, so a redelivery carries the same CloudEvent id. */
  eventId: string;
}

/** Aggregation window: Intuit batches the changes of a few moments into one notification. */
export const BATCH_WINDOW_MS = 50;
const MAX_CHANGES_PER_DELIVERY = 100;
const CE_ACTION: Record<string, string> = { Create: 'created', Update: 'updated', Delete: 'deleted', Merge: 'merged', Void: 'voided', Emailed: 'updated' };

export function notificationBody(items: readonly Item[], format: WebhookFormat): Buffer {
  if (format === 'cloudevents') {
    return Buffer.from(
      JSON.stringify(
        items.map((c) => ({
          specversion: '1.0',
          id: c.eventId,
          source: 'intuit.emulator',
          type: `qbo.${c.name.toLowerCase()}.${CE_ACTION[c.operation] ?? 'updated'}.v1`,
          datacontenttype: 'application/json',
          time: new Date(c.at).toISOString(),
          intuitentityid: c.id,
          intuitaccountid: c.realmId,
          data: {},
        })),
      ),
    );
  }
  const byRealm = new Map<string, Item[]>();
  for (const c of items) byRealm.set(c.realmId, [...(byRealm.get(c.realmId) ?? []), c]);
  return Buffer.from(
    JSON.stringify({
      eventNotifications: [...byRealm].map(([realmId, changes]) => ({
        realmId,
        dataChangeEvent: { entities: changes.map((c) => ({ name: c.name, id: c.id, operation: c.operation, lastUpdated: new Date(c.at).toISOString() })) },
      })),
    }),
  );
}

export class QboWebhookDelivery {
  readonly sender: WebhookSender<Item, QboDeliveryInfo>;
  format: WebhookFormat;

  constructor(format: WebhookFormat = 'legacy') {
    this.format = format;
    const scheme: WebhookScheme<Item, QboDeliveryInfo> = {
      maxItemsPerDelivery: MAX_CHANGES_PER_DELIVERY,
      batchWindowMs: BATCH_WINDOW_MS,
      timeoutMs: 10_000,
      body: (items) => notificationBody(items, this.format),
      headers: (body, target) => ({ 'content-type': 'application/json', [SIGNATURE_HEADER]: signIntuitPayload(body, target.secret) }),
      retries: () => true,
      describe: (items) => ({ format: this.format, changes: items.map((c) => ({ name: c.name, id: c.id, operation: c.operation })) }),
      onTargetChange: 'drop',
      targetSetsConcurrency: false,
    };
    this.sender = new WebhookSender(scheme);
  }

  deliver(realmId: string, change: StoreChange): void {
    this.sender.enqueue([{ ...change, realmId, eventId: randomUUID() }]);
  }
}
