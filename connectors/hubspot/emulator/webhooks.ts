// HubSpot's side of webhook delivery: store changes become HubSpot webhook events, delivered by the
// kit's sender the way HubSpot does: batched JSON arrays (≤ 100 events), signed (v3 + legacy v1
// headers), bounded concurrency per target (throttling.maxConcurrentRequests), retries with
// attemptNumber incremented and none after 400/401/403/404/405. HubSpot's real schedule (up to 10
// retries over ~24 h) is compressed into the target's retryDelaysMs.
//
// Signing is implemented here on its own (not imported from ../webhooks.ts) so the connector's
// verify() is tested against an independent signer.
import { createHash, createHmac } from 'node:crypto';
import { WebhookSender, type WebhookAttempt, type WebhookScheme, type WebhookTarget } from '../../sdk/emulator-kit/index.ts';
import { OBJECT_TYPE_DEFS, type ObjectType } from './schema.ts';
import type { StoreChange } from './store.ts';

/** One event in a delivery, in HubSpot's shape and key order. */
export interface HubSpotWebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  objectTypeId?: string;
}

/** One delivery attempt (a POST of one batch). */
export type WebhookDelivery = WebhookAttempt<{ eventIds: number[] }>;

export interface HubSpotWebhookOptions {
  portalId: number;
  appId: number;
  /** Events changing within this window go out in one POST. */
  batchWindowMs: number;
  /** Default for targets that do not say (HubSpot's throttling.maxConcurrentRequests). */
  maxConcurrentRequests: number;
  /** A POST not answered within this is a failed attempt (HubSpot waits ~5 s). */
  timeoutMs: number;
  firstEventId: number;
}

/** HubSpot's default throttling.maxConcurrentRequests. */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 10;
/** Events per POST ("Each request can contain up to 100 events"). */
export const MAX_EVENTS_PER_REQUEST = 100;
export const DEFAULT_BATCH_WINDOW_MS = 50;
export const DEFAULT_DELIVERY_TIMEOUT_MS = 5000;
/** Answers HubSpot does not retry (everything else non-2xx, timeouts and connection failures are retried). */
export const NO_RETRY_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 405]);
/** changeSource of events caused by admin mutations (HubSpot: CRM_UI, API, IMPORT, ...). */
const CHANGE_SOURCE = 'API';

/** The object types that produce webhook events, with the subscription style HubSpot uses for them. */
const SUBSCRIBED: Partial<Record<ObjectType, { prefix: 'contact' | 'object'; idBase: number }>> = {
  contacts: { prefix: 'contact', idBase: 2_100_000 },
  invoices: { prefix: 'object', idBase: 2_100_010 },
  orders: { prefix: 'object', idBase: 2_100_020 },
};
const ACTION_OFFSET = { creation: 1, propertyChange: 2, deletion: 3 } as const;

const SIGNED_URI_ESCAPES: Readonly<Record<string, string>> = {
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

/** The URL as signed: as sent, with the escapes HubSpot decodes before hashing decoded. */
function signedUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`.replace(/%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => SIGNED_URI_ESCAPES[m.toUpperCase()] ?? m);
}

function signedHeaders(body: Buffer, target: WebhookTarget, sentAtMs: number): Record<string, string> {
  const timestamp = String(sentAtMs);
  const { secret } = target;
  return {
    'content-type': 'application/json',
    'x-hubspot-signature-v3': createHmac('sha256', secret)
      .update(`POST${signedUrl(target.url)}`)
      .update(body)
      .update(timestamp)
      .digest('base64'),
    'x-hubspot-request-timestamp': timestamp,
    // HubSpot still sends the legacy v1 signature (sha256 hex of secret + body) for webhook subscriptions.
    'x-hubspot-signature': createHash('sha256').update(secret).update(body).digest('hex'),
    'x-hubspot-signature-version': 'v1',
  };
}

export type HubSpotWebhookSender = WebhookSender<HubSpotWebhookEvent, { eventIds: number[] }>;

export function hubspotWebhookSender(options: Pick<HubSpotWebhookOptions, 'batchWindowMs' | 'maxConcurrentRequests' | 'timeoutMs'>): HubSpotWebhookSender {
  const scheme: WebhookScheme<HubSpotWebhookEvent, { eventIds: number[] }> = {
    maxItemsPerDelivery: MAX_EVENTS_PER_REQUEST,
    batchWindowMs: options.batchWindowMs,
    timeoutMs: options.timeoutMs,
    body: (events, attempt) => Buffer.from(JSON.stringify(events.map((e) => ({ ...e, attemptNumber: attempt - 1 }))), 'utf8'),
    headers: signedHeaders,
    retries: (status) => !NO_RETRY_STATUSES.has(status),
    describe: (events) => ({ eventIds: events.map((e) => e.eventId) }),
    onTargetChange: 'drop',
    targetSetsConcurrency: true,
    defaultConcurrency: options.maxConcurrentRequests,
  };
  return new WebhookSender(scheme);
}

/** Turns store changes into HubSpot events: one per creation/deletion, one per changed property. */
export class HubSpotEventFactory {
  private nextEventId: number;

  constructor(private readonly options: Pick<HubSpotWebhookOptions, 'portalId' | 'appId' | 'firstEventId'>) {
    this.nextEventId = options.firstEventId;
  }

  eventsFor(change: StoreChange): HubSpotWebhookEvent[] {
    if (change.kind === 'associated') return [];
    const sub = SUBSCRIBED[change.objectType];
    if (!sub) return [];
    const typeId = OBJECT_TYPE_DEFS[change.objectType].typeId;
    const occurredAt = Date.parse(change.at);
    const make = (action: keyof typeof ACTION_OFFSET, extra: Partial<HubSpotWebhookEvent>): HubSpotWebhookEvent => {
      const event: HubSpotWebhookEvent = {
        eventId: this.nextEventId++,
        subscriptionId: sub.idBase + ACTION_OFFSET[action],
        portalId: this.options.portalId,
        appId: this.options.appId,
        occurredAt,
        subscriptionType: `${sub.prefix}.${action}`,
        attemptNumber: 0,
        objectId: Number(change.id),
        changeSource: CHANGE_SOURCE,
        ...extra,
      };
      if (sub.prefix === 'object') event.objectTypeId = typeId;
      return event;
    };
    // HubSpot sends "" as the value of a cleared property.
    if (change.kind === 'updated') return change.changed.map((c) => make('propertyChange', { propertyName: c.name, propertyValue: c.value ?? '' }));
    return [change.kind === 'created' ? make('creation', { changeFlag: 'NEW' }) : make('deletion', { changeFlag: 'DELETED' })];
  }
}
