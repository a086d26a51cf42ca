// Delivers the store's Events to one webhook endpoint the way Stripe does: one POST per event,
// the Event's exact JSON bytes, `Stripe-Signature: t=<now>,v1=<hmac>` over exactly those bytes
// (re-signed with a fresh t on every attempt), retries after a non-2xx or a network error on a
// compressed schedule, bounded concurrency. Everything is timers and sockets this class owns, so
// stop() leaves nothing behind.
import { createHmac } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { EmulatorWebhookTarget } from '../../sdk/emulator.ts';
import type { EventObject } from './store.ts';

/** Compressed from Stripe's live schedule (exponential backoff for up to 3 days). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000, 16000];
export const DEFAULT_WEBHOOK_CONCURRENCY = 10;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** One delivery attempt, in the order attempts finished. */
export interface WebhookDelivery {
  eventId: string;
  type: string;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** The receiver's HTTP status; null when the attempt failed without one (see error). */
  status: number | null;
  /** Network error, timeout or cancellation; null when an HTTP status came back. */
  error: string | null;
  /** When the attempt started (ms since epoch). */
  at: number;
  durationMs: number;
}

export interface WebhookSenderOptions {
  concurrency?: number;
  timeoutMs?: number;
}

interface Target {
  url: URL;
  secret: string;
  retryDelaysMs: readonly number[];
}

interface Job {
  event: EventObject;
  /** The exact bytes sent on every attempt. */
  body: Buffer;
  /** The object the event is about: two events of one object are never in flight together. */
  objectKey: string;
  attempt: number;
}

export function signStripePayload(body: Buffer, secret: string, timestampSeconds: number): string {
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestampSeconds}.`, 'utf8').update(body).digest('hex');
  return `t=${timestampSeconds},v1=${hmac}`;
}

/** Checks a target from options or the admin API; throws a TypeError naming the problem. */
export function validateTarget(value: unknown): EmulatorWebhookTarget {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError('webhook target must be an object {url, secret, retryDelaysMs?}');
  const t = value as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!['url', 'secret', 'retryDelaysMs'].includes(k)) throw new TypeError(`unknown webhook field ${k}`);
  if (typeof t['url'] !== 'string') throw new TypeError('webhook url must be a string');
  let url: URL;
  try {
    url = new URL(t['url']);
  } catch {
    throw new TypeError(`webhook url is not a URL: ${t['url']}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('webhook url must be http(s)');
  if (typeof t['secret'] !== 'string' || t['secret'] === '') throw new TypeError('webhook secret must be a non-empty string (whsec_…)');
  const delays = t['retryDelaysMs'];
  if (delays !== undefined && (!Array.isArray(delays) || delays.some((d) => typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > 2 ** 31 - 1))) {
    throw new TypeError('webhook retryDelaysMs must be an array of delays in ms (0 … 2^31-1)');
  }
  return { url: t['url'], secret: t['secret'], ...(delays !== undefined ? { retryDelaysMs: (delays as number[]).slice() } : {}) };
}

export class WebhookSender {
  private target: Target | null = null;
  /** Ready to send, oldest first. */
  private queue: Job[] = [];
  private readonly inFlight = new Map<Job, ClientRequest>();
  private readonly busyObjects = new Set<string>();
  /** Jobs waiting for their next attempt. */
  private readonly retries = new Map<Job, NodeJS.Timeout>();
  private log: WebhookDelivery[] = [];
  private idleWaiters: Array<() => void> = [];
  private readonly deliveryListeners = new Set<(delivery: WebhookDelivery) => void>();
  /** eventId → delivered (true) or not yet / given up (false); absent when no endpoint existed. */
  private readonly outcome = new Map<string, boolean>();
  private pumpScheduled = false;
  private stopped = false;
  private readonly concurrency: number;
  private readonly timeoutMs: number;

  constructor(options: WebhookSenderOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_WEBHOOK_CONCURRENCY);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  }

  /**
   * Sets (or replaces) the endpoint. Queued deliveries and pending retries go to the new URL,
   * signed with the new secret. null removes it: nothing queued or retrying is sent any more and
   * requests in flight are cancelled.
   */
  setTarget(target: EmulatorWebhookTarget | null): void {
    if (target === null) {
      this.target = null;
      this.cancelAll('cancelled: webhook endpoint removed');
      return;
    }
    const t = validateTarget(target);
    this.target = { url: new URL(t.url), secret: t.secret, retryDelaysMs: t.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS };
  }

  describeTarget(): { url: string; retryDelaysMs: number[] } | null {
    return this.target ? { url: this.target.url.toString(), retryDelaysMs: [...this.target.retryDelaysMs] } : null;
  }

  /** Called for every new Event; without an endpoint the event is not delivered (now or later), like Stripe. */
  enqueue(event: EventObject): void {
    if (this.stopped || !this.target) return;
    event['pending_webhooks'] = 1;
    const body = Buffer.from(JSON.stringify(event, null, 2), 'utf8');
    const object = event.data.object as { object?: unknown; id?: unknown };
    this.outcome.set(event.id, false);
    this.queue.push({ event, body, objectKey: `${String(object.object)}:${String(object.id)}`, attempt: 1 });
    this.schedulePump();
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  /** Called after every finished attempt; returns the unsubscribe function. */
  onDelivery(listener: (delivery: WebhookDelivery) => void): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  /** true: delivered; false: pending or given up; undefined: there was no endpoint for it. */
  deliveredOk(eventId: string): boolean | undefined {
    return this.outcome.get(eventId);
  }

  state(): { queued: number; inFlight: number; retrying: number } {
    return { queued: this.queue.length, inFlight: this.inFlight.size, retrying: this.retries.size };
  }

  isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0 && this.retries.size === 0;
  }

  /** Resolves once nothing is queued, in flight or waiting for a retry. */
  waitForIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels everything and accepts no more events. */
  stop(): void {
    this.stopped = true;
    this.cancelAll('cancelled: emulator stopped');
  }

  // -------------------------------------------------------------------------------------------

  private cancelAll(reason: string): void {
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.queue = [];
    for (const [job, req] of [...this.inFlight]) {
      this.inFlight.delete(job);
      this.busyObjects.delete(job.objectKey);
      req.destroy(new Error(reason));
    }
    this.checkIdle();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // After the current mutation: every event it emits is queued, in order, before any is sent.
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Starts queued jobs in FIFO order, up to the concurrency limit, one per object at a time. */
  private pump(): void {
    while (!this.stopped && this.target && this.inFlight.size < this.concurrency) {
      const index = this.queue.findIndex((j) => !this.busyObjects.has(j.objectKey));
      if (index < 0) break;
      const [job] = this.queue.splice(index, 1);
      if (job) this.send(job, this.target);
    }
    this.checkIdle();
  }

  private send(job: Job, target: Target): void {
    const started = Date.now();
    const header = signStripePayload(job.body, target.secret, Math.floor(started / 1000));
    const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      const wasActive = this.inFlight.delete(job);
      this.busyObjects.delete(job.objectKey);
      const delivery: WebhookDelivery = { eventId: job.event.id, type: job.event.type, attempt: job.attempt, status, error, at: started, durationMs: Date.now() - started };
      this.log.push(delivery);
      if (wasActive) {
        if (status !== null && status >= 200 && status < 300) {
          this.outcome.set(job.event.id, true);
          job.event['pending_webhooks'] = 0;
        } else {
          this.retryLater(job);
        }
      } // else cancelled (endpoint removed, emulator stopped): no retry
      for (const l of this.deliveryListeners) l({ ...delivery });
      this.pump();
    };
    const req = request(target.url, {
      method: 'POST',
      agent: false, // one connection per delivery, closed afterwards: no pooled sockets outlive stop()
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(job.body.length),
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        accept: '*/*; q=0.5, application/xml',
        'cache-control': 'no-cache',
        'stripe-signature': header,
      },
    });
    this.inFlight.set(job, req);
    this.busyObjects.add(job.objectKey);
    req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
    req.on('response', (res) => {
      res.resume(); // the body is not read (Stripe only keeps a truncated copy for the Dashboard)
      res.on('end', () => finish(res.statusCode ?? null, null));
      res.on('error', (err) => finish(null, `response failed: ${err.message}`));
      res.on('close', () => finish(null, 'response aborted before its end'));
    });
    req.on('error', (err) => finish(null, err.message || String(err)));
    req.end(job.body);
  }

  private retryLater(job: Job): void {
    const delays = this.target?.retryDelaysMs ?? [];
    const delay = delays[job.attempt - 1];
    if (delay === undefined || this.stopped || !this.target) return; // given up: outcome stays false
    const timer = setTimeout(() => {
      this.retries.delete(job);
      if (this.stopped || !this.target) return this.checkIdle();
      // Back of the queue: a retried event can arrive after newer ones (Stripe does not order either).
      this.queue.push({ ...job, attempt: job.attempt + 1 });
      this.pump();
    }, delay);
    this.retries.set(job, timer);
  }

  private checkIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
