// Signed webhook delivery for provider emulators, once: items (events) are batched per the
// provider's rule, POSTed to one target with bounded concurrency and a timeout, re-signed on every
// attempt, retried on the target's (compressed) schedule, and logged. What differs per provider is
// a WebhookScheme: the body bytes, the signature headers, which answers are retried, batching, and
// which deliveries must never overlap. Every timer and socket belongs to the sender, so stop()
// leaves nothing behind.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EmulatorAdminError } from './admin.ts';
import { pushBounded } from './wire.ts';

/** Delivery attempts the log keeps (the newest): tests read a few; a demo left running would grow it forever. */
const DELIVERY_LOG_LIMIT = 10_000;

/** The emulators' compressed stand-in for the providers' retry schedules (hours to days in reality). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000, 8000, 16000];
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 10;

export interface WebhookTarget {
  url: URL;
  secret: string;
  retryDelaysMs: readonly number[];
  maxConcurrentRequests: number;
}

/** What a provider changes about delivery. I: one item (event); M: what the log records of a delivery. */
export interface WebhookScheme<I, M> {
  /** Items per POST at most (HubSpot 100, Stripe 1). */
  maxItemsPerDelivery: number;
  /** How long to wait for more items before a partial batch goes out; 0 = after the current tick. */
  batchWindowMs: number;
  /** A POST without an answer within this is a failed attempt. */
  timeoutMs: number;
  /** The bytes of one attempt (attempt 1 is the first try). */
  body(items: readonly I[], attempt: number): Buffer;
  /** Headers of one attempt, signed afresh (a retry carries a new timestamp). */
  headers(body: Buffer, target: WebhookTarget, sentAtMs: number): Record<string, string>;
  /** Whether a non-2xx answer is retried; no answer at all (network error, timeout) always is. */
  retries(status: number): boolean;
  /** Deliveries with one key are never in flight together (Stripe: one object at a time). */
  exclusiveKey?(items: readonly I[]): string | null;
  /** The delivery log's provider fields (event ids, types). */
  describe(items: readonly I[]): M;
  /** A new target drops undelivered work ('drop', HubSpot) or takes it over ('follow', Stripe). */
  onTargetChange: 'drop' | 'follow';
  /** Whether a target may set maxConcurrentRequests (HubSpot's throttling setting). */
  targetSetsConcurrency: boolean;
  /** Parallel POSTs when the target does not say. */
  defaultConcurrency?: number;
}

/** One attempt to deliver one batch, in the order attempts finished. */
export type WebhookAttempt<M> = M & {
  /** Sequence number of the batch: the same on every attempt to deliver it. */
  delivery: number;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** The receiver's HTTP status; null when there was none (see error). */
  status: number | null;
  /** Network error, timeout or cancellation; null when a status came back. */
  error: string | null;
  url: string;
  /** When the attempt started (epoch ms). */
  at: number;
  durationMs: number;
};

export interface WebhookSenderState {
  /** Items waiting for the batch window to close. */
  buffered: number;
  /** Batches waiting for a free slot. */
  queued: number;
  inFlight: number;
  /** Batches waiting for their next attempt. */
  retrying: number;
  /** Timers the sender holds (batch window + retries). */
  timers: number;
}

/** What GET and PUT /__emulator/webhook show of the target (never the secret). */
export interface WebhookTargetView {
  url: string;
  retryDelaysMs: number[];
  maxConcurrentRequests: number;
}

interface Job<I> {
  delivery: number;
  items: I[];
  attempt: number;
  key: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a target from start options or PUT /__emulator/webhook; throws EmulatorAdminError(400). */
export function parseWebhookTarget(input: unknown, options: { targetSetsConcurrency: boolean; defaultConcurrency: number }): WebhookTarget {
  const bad = (message: string) => new EmulatorAdminError(400, message);
  const fields = ['url', 'secret', 'retryDelaysMs', ...(options.targetSetsConcurrency ? ['maxConcurrentRequests'] : [])];
  if (!isObject(input)) throw bad(`webhook target must be an object {${fields.join(', ')}}`);
  for (const k of Object.keys(input)) if (!fields.includes(k)) throw bad(`unknown webhook field ${k} (allowed: ${fields.join(', ')})`);
  if (typeof input.url !== 'string') throw bad('url must be a string');
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw bad(`url is not an absolute URL: ${JSON.stringify(input.url.slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('url must be http(s)');
  // The request line + Host a receiver sees: no fragment.
  url.hash = '';
  if (typeof input.secret !== 'string' || input.secret === '') throw bad('secret must be a non-empty string');
  const delays = input.retryDelaysMs;
  if (delays !== undefined && (!Array.isArray(delays) || !delays.every((d) => typeof d === 'number' && Number.isFinite(d) && d >= 0 && d <= 86_400_000))) {
    throw bad('retryDelaysMs must be an array of delays in ms (0 to 86400000)');
  }
  const concurrency = input.maxConcurrentRequests;
  if (concurrency !== undefined && (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1)) {
    throw bad('maxConcurrentRequests must be a positive integer');
  }
  return {
    url,
    secret: input.secret,
    retryDelaysMs: delays === undefined ? DEFAULT_RETRY_DELAYS_MS : (delays as number[]).slice(),
    maxConcurrentRequests: (concurrency as number | undefined) ?? options.defaultConcurrency,
  };
}

/** One POST; resolves with the status once the answer is read, rejects when there is none. */
function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false → one connection per POST, closed afterwards: nothing lingers after stop().
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false, signal });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
      res.on('close', () => reject(new Error('response aborted before its end')));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class WebhookSender<I, M> {
  private target: WebhookTarget | null = null;
  private nextDelivery = 1;
  private buffer: I[] = [];
  private windowTimer: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  private queue: Array<Job<I>> = [];
  private readonly inFlight = new Map<Job<I>, { abort: AbortController; done: Promise<void> }>();
  private readonly busyKeys = new Set<string>();
  private readonly retries = new Map<Job<I>, NodeJS.Timeout>();
  private log: Array<WebhookAttempt<M>> = [];
  private idleWaiters: Array<() => void> = [];
  private readonly listeners = new Set<(attempt: WebhookAttempt<M>) => void>();
  private stopped = false;

  constructor(private readonly scheme: WebhookScheme<I, M>) {}

  /** Checks a target without installing it (start options fail before a server listens). */
  parseTarget(input: unknown): WebhookTarget {
    return parseWebhookTarget(input, {
      targetSetsConcurrency: this.scheme.targetSetsConcurrency,
      defaultConcurrency: this.scheme.defaultConcurrency ?? DEFAULT_MAX_CONCURRENT_REQUESTS,
    });
  }

  /** Installs (or, with null, removes) the target. Throws EmulatorAdminError(400) on a bad one. */
  setTarget(input: unknown): void {
    const next = input === null ? null : this.parseTarget(input);
    if (next === null || this.scheme.onTargetChange === 'drop') this.cancel('cancelled: webhook target changed');
    if (!this.stopped) this.target = next;
    this.schedulePump();
  }

  describeTarget(): WebhookTargetView | null {
    const t = this.target;
    return t ? { url: t.url.toString(), retryDelaysMs: [...t.retryDelaysMs], maxConcurrentRequests: t.maxConcurrentRequests } : null;
  }

  get hasTarget(): boolean {
    return this.target !== null && !this.stopped;
  }

  /** Adds items for delivery; false (and nothing sent, now or later) when there is no target. */
  enqueue(items: readonly I[]): boolean {
    if (!this.hasTarget) return false;
    if (items.length === 0) return true;
    this.buffer.push(...items);
    const { maxItemsPerDelivery, batchWindowMs } = this.scheme;
    if (this.buffer.length >= maxItemsPerDelivery) this.flush();
    else if (batchWindowMs > 0) this.windowTimer ??= setTimeout(() => this.flush(), batchWindowMs);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the current mutation: every item it emits is queued, in order, before any is sent.
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  deliveries(): Array<WebhookAttempt<M>> {
    return this.log.map((d) => structuredClone(d));
  }

  /** Calls `listener` after every finished attempt (a retry, if any, is already scheduled). Returns an unsubscribe. */
  onDelivery(listener: (attempt: WebhookAttempt<M>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(): WebhookSenderState {
    return {
      buffered: this.buffer.length,
      queued: this.queue.length,
      inFlight: this.inFlight.size,
      retrying: this.retries.size,
      timers: this.retries.size + (this.windowTimer ? 1 : 0),
    };
  }

  /** Resolves once nothing is buffered, queued, in flight or waiting for a retry. */
  waitForIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Forgets the delivery log (POST /__emulator/reset); pending work stays. */
  clearLog(): void {
    this.log = [];
  }

  /** Cancels all pending work and timers, accepts nothing more, waits for aborted POSTs to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.target = null;
    const settling = [...this.inFlight.values()].map((f) => f.done);
    this.cancel('cancelled: emulator stopped');
    await Promise.allSettled(settling);
    this.listeners.clear();
    this.checkIdle();
  }

  // -------------------------------------------------------------------------------------------

  private flush(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    if (this.target) {
      while (this.buffer.length > 0) {
        const items = this.buffer.splice(0, this.scheme.maxItemsPerDelivery);
        this.queue.push({ delivery: this.nextDelivery++, items, attempt: 1, key: this.scheme.exclusiveKey?.(items) ?? null });
      }
    }
    this.buffer = [];
    this.pump();
  }

  private schedulePump(): void {
    queueMicrotask(() => this.pump());
  }

  /** Starts queued batches in FIFO order up to the target's concurrency, skipping busy keys. */
  private pump(): void {
    while (!this.stopped && this.target && this.inFlight.size < this.target.maxConcurrentRequests) {
      const index = this.queue.findIndex((j) => j.key === null || !this.busyKeys.has(j.key));
      if (index < 0) break;
      const [job] = this.queue.splice(index, 1);
      if (job) this.start(job, this.target);
    }
    this.checkIdle();
  }

  private start(job: Job<I>, target: WebhookTarget): void {
    const abort = new AbortController();
    if (job.key !== null) this.busyKeys.add(job.key);
    const done = this.attempt(job, target, abort.signal).finally(() => {
      this.inFlight.delete(job);
      if (job.key !== null) this.busyKeys.delete(job.key);
      this.pump();
    });
    this.inFlight.set(job, { abort, done });
  }

  private async attempt(job: Job<I>, target: WebhookTarget, signal: AbortSignal): Promise<void> {
    const startedAt = Date.now();
    const body = this.scheme.body(job.items, job.attempt);
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await post(target.url, this.scheme.headers(body, target, startedAt), body, this.scheme.timeoutMs, signal);
    } catch (err) {
      const cause: unknown = signal.aborted ? signal.reason : err;
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const record: WebhookAttempt<M> = {
      ...this.scheme.describe(job.items),
      delivery: job.delivery,
      attempt: job.attempt,
      status,
      error,
      url: target.url.toString(),
      at: startedAt,
      durationMs: Date.now() - startedAt,
    };
    pushBounded(this.log, record, DELIVERY_LOG_LIMIT);
    const delivered = status !== null && status >= 200 && status < 300;
    if (!delivered && !signal.aborted && (status === null || this.scheme.retries(status))) this.retryLater(job);
    for (const listener of this.listeners) listener(structuredClone(record));
  }

  private retryLater(job: Job<I>): void {
    const delay = this.target?.retryDelaysMs[job.attempt - 1];
    if (delay === undefined || this.stopped) return; // given up
    const timer = setTimeout(() => {
      this.retries.delete(job);
      if (this.stopped || !this.target) return this.checkIdle();
      // Back of the queue: a retried batch can arrive after newer ones, as with the real providers.
      this.queue.push({ ...job, attempt: job.attempt + 1 });
      this.pump();
    }, delay);
    this.retries.set(job, timer);
  }

  /** Drops everything undelivered: buffered items, queued batches, retries; aborts POSTs in flight. */
  private cancel(reason: string): void {
    if (this.windowTimer) clearTimeout(this.windowTimer);
    this.windowTimer = null;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.buffer = [];
    this.queue = [];
    for (const { abort } of this.inFlight.values()) abort.abort(new Error(reason));
    this.checkIdle();
  }

  private isIdle(): boolean {
    const nothingWaiting = this.buffer.length === 0 && this.windowTimer === null && !this.flushScheduled && this.queue.length === 0;
    return nothingWaiting && this.inFlight.size === 0 && this.retries.size === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The webhook part of every emulator's handle, the same names for every provider. */
export interface EmulatorWebhookHandle<M> {
  /** Same as PUT (target) / DELETE (null) /__emulator/webhook; throws EmulatorAdminError on a bad target. */
  setWebhook(target: unknown): void;
  /** Every finished delivery attempt, oldest first. */
  deliveries(): Array<WebhookAttempt<M>>;
  /** Called after every finished attempt (a retry, if any, is already scheduled); returns an unsubscribe. */
  onWebhookDelivery(listener: (attempt: WebhookAttempt<M>) => void): () => void;
  /** Resolves once no webhook is buffered, queued, in flight or waiting for a retry. */
  waitForIdle(): Promise<void>;
  webhookState(): WebhookSenderState;
}

export function webhookHandle<I, M>(sender: WebhookSender<I, M>): EmulatorWebhookHandle<M> {
  return {
    setWebhook: (target) => sender.setTarget(target),
    deliveries: () => sender.deliveries(),
    onWebhookDelivery: (listener) => sender.onDelivery(listener),
    waitForIdle: () => sender.waitForIdle(),
    webhookState: () => sender.state(),
  };
}
