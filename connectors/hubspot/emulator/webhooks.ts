// The emulator's webhook sender: turns store changes into HubSpot webhook events and delivers them
// like HubSpot does: batched JSON arrays (≤ 100 events), signed (v3 + legacy v1 headers), with
// bounded concurrency per target and retries with attemptNumber incremented. HubSpot's real retry
// schedule (up to 10 retries over ~24 h) is compressed into retryDelaysMs.
//
// Signing is implemented here on its own (not imported from ../webhooks.ts) so the connector's
// verify() is tested against an independent signer.
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { EmulatorWebhookTarget } from '../../sdk/emulator.ts';
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
export interface WebhookDelivery {
  /** Sequence number of the batch; the same on every attempt to deliver it. */
  batch: number;
  /** attemptNumber carried by the events: 0 for the first POST, 1 for the first retry, ... */
  attempt: number;
  /** HTTP status answered; null when there was no answer (network error, timeout, cancelled). */
  status: number | null;
  error: string | null;
  eventIds: number[];
  url: string;
  /** Epoch ms when the attempt ended. */
  at: number;
}

export interface WebhookSenderState {
  /** Events waiting for the batch window to close. */
  buffered: number;
  /** Batches waiting for a free concurrency slot. */
  queued: number;
  inFlight: number;
  retriesScheduled: number;
  /** Timers the sender holds (batch window + scheduled retries). */
  timers: number;
}

export interface WebhookSenderOptions {
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

/** What PUT /__emulator/webhook (and the start option) accepts. */
export interface WebhookTargetInput extends EmulatorWebhookTarget {
  maxConcurrentRequests?: number;
}

/** Emulated redelivery delays (HubSpot's real schedule is ~10 retries spread over 24 h). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000, 16000];
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

export class WebhookTargetError extends Error {}

interface Target {
  url: string;
  /** What gets signed: the URL as sent, with the escapes HubSpot decodes before hashing decoded. */
  signedUrl: string;
  parsed: URL;
  secret: string;
  retryDelaysMs: number[];
  maxConcurrentRequests: number;
}

interface Job {
  batch: number;
  target: Target;
  events: HubSpotWebhookEvent[];
  attempt: number;
}

const SIGNED_URI_ESCAPES: Readonly<Record<string, string>> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$',
  '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

function resolveTarget(input: unknown, defaultConcurrency: number): Target {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new WebhookTargetError('webhook target must be an object {url, secret, retryDelaysMs?, maxConcurrentRequests?}');
  const t = input as Record<string, unknown>;
  if (typeof t.url !== 'string') throw new WebhookTargetError('url must be a string');
  let parsed: URL;
  try {
    parsed = new URL(t.url);
  } catch {
    throw new WebhookTargetError(`url is not an absolute URL: ${JSON.stringify(t.url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new WebhookTargetError('url must be http(s)');
  if (typeof t.secret !== 'string' || t.secret === '') throw new WebhookTargetError('secret must be a non-empty string (the app client secret)');
  let retryDelaysMs = [...DEFAULT_RETRY_DELAYS_MS];
  if (t.retryDelaysMs !== undefined) {
    if (!Array.isArray(t.retryDelaysMs) || !t.retryDelaysMs.every((d) => typeof d === 'number' && Number.isFinite(d) && d >= 0 && d <= 86_400_000)) {
      throw new WebhookTargetError('retryDelaysMs must be an array of delays in ms (0 to 86400000)');
    }
    retryDelaysMs = t.retryDelaysMs as number[];
  }
  let maxConcurrentRequests = defaultConcurrency;
  if (t.maxConcurrentRequests !== undefined) {
    if (typeof t.maxConcurrentRequests !== 'number' || !Number.isInteger(t.maxConcurrentRequests) || t.maxConcurrentRequests < 1) {
      throw new WebhookTargetError('maxConcurrentRequests must be a positive integer');
    }
    maxConcurrentRequests = t.maxConcurrentRequests;
  }
  // The request line + Host header a receiver sees: no fragment, default port omitted.
  const url = `${parsed.origin}${parsed.pathname}${parsed.search}`;
  const signedUrl = url.replace(/%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => SIGNED_URI_ESCAPES[m.toUpperCase()] ?? m);
  return { url, signedUrl, parsed, secret: t.secret, retryDelaysMs, maxConcurrentRequests };
}

/** Validates a target without installing it (start options fail fast). */
export function checkWebhookTarget(input: unknown): void {
  resolveTarget(input, DEFAULT_MAX_CONCURRENT_REQUESTS);
}

/** One POST; resolves with the status once the answer is read, rejects on no answer. */
function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false → one connection per POST, closed afterwards: nothing lingers after stop().
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false, signal });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const done = () => clearTimeout(timer);
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => {
        done();
        resolve(res.statusCode ?? 0);
      });
      res.on('error', (err) => {
        done();
        reject(err);
      });
    });
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.end(body);
  });
}

export class WebhookSender {
  private target: Target | null = null;
  private nextEventId: number;
  private nextBatch = 1;
  private buffer: HubSpotWebhookEvent[] = [];
  private windowTimer: NodeJS.Timeout | null = null;
  private queue: Job[] = [];
  private inFlight = new Set<Promise<void>>();
  private retryTimers = new Set<NodeJS.Timeout>();
  private log: WebhookDelivery[] = [];
  private idleWaiters: Array<() => void> = [];
  private deliveryListeners = new Set<(delivery: WebhookDelivery) => void>();
  private abort = new AbortController();
  private stopped = false;

  constructor(private readonly options: WebhookSenderOptions) {
    this.nextEventId = options.firstEventId;
  }

  /** Installs (or, with null, removes) the target. Undelivered events of a previous target are dropped. */
  setTarget(input: WebhookTargetInput | null): void {
    const next = input === null ? null : resolveTarget(input, this.options.maxConcurrentRequests);
    this.cancel();
    if (!this.stopped) this.target = next;
  }

  describeTarget(): { url: string; retryDelaysMs: number[]; maxConcurrentRequests: number } | null {
    const t = this.target;
    return t ? { url: t.url, retryDelaysMs: [...t.retryDelaysMs], maxConcurrentRequests: t.maxConcurrentRequests } : null;
  }

  /** Store listener: one event per creation/deletion, one per changed property. */
  onStoreChange(change: StoreChange): void {
    if (!this.target || this.stopped || change.kind === 'associated') return;
    const sub = SUBSCRIBED[change.objectType];
    if (!sub) return;
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
    if (change.kind === 'updated') {
      // HubSpot sends "" as the value of a cleared property.
      this.add(change.changed.map((c) => make('propertyChange', { propertyName: c.name, propertyValue: c.value ?? '' })));
    } else {
      this.add([change.kind === 'created' ? make('creation', { changeFlag: 'NEW' }) : make('deletion', { changeFlag: 'DELETED' })]);
    }
  }

  private add(events: HubSpotWebhookEvent[]): void {
    if (events.length === 0) return;
    this.buffer.push(...events);
    if (this.buffer.length >= MAX_EVENTS_PER_REQUEST) this.flush();
    else if (!this.windowTimer) this.windowTimer = setTimeout(() => this.flush(), this.options.batchWindowMs);
  }

  private flush(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    const target = this.target;
    if (target) {
      while (this.buffer.length > 0) {
        this.queue.push({ batch: this.nextBatch++, target, events: this.buffer.splice(0, MAX_EVENTS_PER_REQUEST), attempt: 0 });
      }
    }
    this.buffer = [];
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.stopped) {
      const limit = this.queue[0]?.target.maxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_REQUESTS;
      if (this.inFlight.size >= limit) break;
      const job = this.queue.shift();
      if (!job) break;
      const running: Promise<void> = this.deliver(job).finally(() => {
        this.inFlight.delete(running);
        this.pump();
        this.checkIdle();
      });
      this.inFlight.add(running);
    }
    this.checkIdle();
  }

  private async deliver(job: Job): Promise<void> {
    const signal = this.abort.signal;
    const body = Buffer.from(JSON.stringify(job.events.map((e) => ({ ...e, attemptNumber: job.attempt }))), 'utf8');
    // Signed afresh on every attempt: a retry carries a new timestamp.
    const timestamp = String(Date.now());
    const { secret, signedUrl } = job.target;
    const headers = {
      'content-type': 'application/json',
      'x-hubspot-signature-v3': createHmac('sha256', secret).update(`POST${signedUrl}`).update(body).update(timestamp).digest('base64'),
      'x-hubspot-request-timestamp': timestamp,
      // HubSpot still sends the legacy v1 signature (sha256 hex of secret + body) for webhook subscriptions.
      'x-hubspot-signature': createHash('sha256').update(secret).update(body).digest('hex'),
      'x-hubspot-signature-version': 'v1',
    };
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await post(job.target.parsed, headers, body, this.options.timeoutMs, signal);
    } catch (err) {
      error = signal.aborted ? 'cancelled' : err instanceof Error ? err.message : String(err);
    }
    const delivery: WebhookDelivery = { batch: job.batch, attempt: job.attempt, status, error, eventIds: job.events.map((e) => e.eventId), url: job.target.url, at: Date.now() };
    this.log.push(delivery);
    const delivered = status !== null && status >= 200 && status < 300;
    const retryable = !delivered && (status === null || !NO_RETRY_STATUSES.has(status));
    const delay = job.target.retryDelaysMs[job.attempt];
    if (retryable && delay !== undefined && !signal.aborted && !this.stopped) {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.queue.push({ ...job, attempt: job.attempt + 1 });
        this.pump();
      }, delay);
      this.retryTimers.add(timer);
    }
    // Listeners see the state after the attempt (a retry, if any, is already scheduled).
    for (const listener of this.deliveryListeners) listener({ ...delivery, eventIds: [...delivery.eventIds] });
  }

  /** Calls `listener` after every delivery attempt. Returns an unsubscribe. */
  onDelivery(listener: (delivery: WebhookDelivery) => void): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  /** Drops everything undelivered: buffered events, queued batches, scheduled retries; aborts POSTs in flight. */
  private cancel(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    this.buffer = [];
    this.queue = [];
    this.abort.abort();
    this.abort = new AbortController();
    this.checkIdle();
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => ({ ...d, eventIds: [...d.eventIds] }));
  }

  state(): WebhookSenderState {
    return {
      buffered: this.buffer.length,
      queued: this.queue.length,
      inFlight: this.inFlight.size,
      retriesScheduled: this.retryTimers.size,
      timers: this.retryTimers.size + (this.windowTimer ? 1 : 0),
    };
  }

  private isIdle(): boolean {
    return this.buffer.length === 0 && this.windowTimer === null && this.queue.length === 0 && this.inFlight.size === 0 && this.retryTimers.size === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once nothing is buffered, queued, in flight or waiting to be retried. */
  waitForIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels pending work and timers and waits for aborted POSTs to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.target = null;
    this.cancel();
    await Promise.allSettled([...this.inFlight]);
    this.deliveryListeners.clear();
    this.checkIdle();
  }
}
