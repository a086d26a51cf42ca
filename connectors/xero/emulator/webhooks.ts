// Xero's side of webhook delivery, on the kit's sender: changes of every organisation go to the
// app's one URL, batched (Xero sends several events per POST) as `{events, firstEventSequence,
// lastEventSequence, entropy}`, signed in x-xero-signature; anything but a 200 is retried (Xero
// retries with decreasing frequency for 24 hours; the emulator's schedule is compressed). The
// "Intent to Receive" check sends empty-event payloads, some correctly and some wrongly signed, and
// passes only when every correct one gets 200 with an empty body within 5 s and every wrong one 401.
import { randomBytes } from 'node:crypto';
import { WebhookSender, type WebhookAttempt, type WebhookScheme } from '../../sdk/emulator-kit/index.ts';
import { signXeroPayload } from '../webhooks.ts';
import type { StoreChange } from './store.ts';

export const INTENT_TIMEOUT_MS = 5000;
const BATCH_WINDOW_MS = 50;

export interface XeroDeliveryInfo {
  events: number;
  firstEventSequence: number;
  lastEventSequence: number;
}
export type XeroDelivery = WebhookAttempt<XeroDeliveryInfo>;

interface Item extends StoreChange {
  sequence: number;
}

const entropy = () => randomBytes(15).toString('base64url').toUpperCase().slice(0, 20);
const eventDate = (ms: number) => new Date(ms).toISOString().replace('Z', '');

export interface IntentCheck {
  ok: boolean;
  attempts: Array<{ signedCorrectly: boolean; status: number | null; bodyBytes: number; ms: number; pass: boolean }>;
}

export class XeroWebhookDelivery {
  readonly sender: WebhookSender<Item, XeroDeliveryInfo>;
  private sequence = 0;

  constructor(private readonly apiBase: () => string) {
    const scheme: WebhookScheme<Item, XeroDeliveryInfo> = {
      maxItemsPerDelivery: 50,
      batchWindowMs: BATCH_WINDOW_MS,
      timeoutMs: INTENT_TIMEOUT_MS,
      body: (items) => Buffer.from(this.payload(items), 'utf8'),
      headers: (body, target) => ({
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Xero-Webhooks',
        'x-xero-signature': signXeroPayload(body, target.secret),
      }),
      // Only a 200 counts as received.
      retries: (status) => status !== 200,
      describe: (items) => ({ events: items.length, firstEventSequence: items[0]?.sequence ?? 0, lastEventSequence: items[items.length - 1]?.sequence ?? 0 }),
      onTargetChange: 'drop',
      targetSetsConcurrency: false,
      defaultConcurrency: 1,
    };
    this.sender = new WebhookSender(scheme);
  }

  deliver(change: StoreChange): boolean {
    this.sequence += 1;
    return this.sender.enqueue([{ ...change, sequence: this.sequence }]);
  }

  private payload(items: readonly Item[]): string {
    const events = items.map((c) => ({
      resourceUrl: `${this.apiBase()}/api.xro/2.0/${c.category === 'CONTACT' ? 'Contacts' : 'Invoices'}/${c.resourceId}`,
      resourceId: c.resourceId,
      eventDateUtc: eventDate(c.at),
      eventType: c.kind,
      eventCategory: c.category,
      tenantId: c.tenantId,
      tenantType: 'ORGANISATION',
    }));
    return JSON.stringify({
      events,
      firstEventSequence: items[0]?.sequence ?? 0,
      lastEventSequence: items[items.length - 1]?.sequence ?? 0,
      entropy: entropy(),
    });
  }

  /** Xero's "Intent to Receive": four empty payloads, two signed with the key and two not. */
  async intentToReceive(url: string, key: string): Promise<IntentCheck> {
    const attempts: IntentCheck['attempts'] = [];
    for (const signedCorrectly of [true, false, true, false]) {
      const body = JSON.stringify({ events: [], lastEventSequence: 0, firstEventSequence: 0, entropy: entropy() });
      const signature = signXeroPayload(body, signedCorrectly ? key : `${key}-not-the-key`);
      const started = performance.now();
      let status: number | null = null;
      let bodyBytes = 0;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', 'x-xero-signature': signature },
          body,
          signal: AbortSignal.timeout(INTENT_TIMEOUT_MS),
        });
        status = res.status;
        bodyBytes = (await res.arrayBuffer()).byteLength;
      } catch {
        status = null;
      }
      const ms = Math.round(performance.now() - started);
      const pass = signedCorrectly ? status === 200 && bodyBytes === 0 && ms <= INTENT_TIMEOUT_MS : status === 401;
      attempts.push({ signedCorrectly, status, bodyBytes, ms, pass });
    }
    return { ok: attempts.every((a) => a.pass), attempts };
  }
}
