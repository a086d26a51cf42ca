// The durable queue between the webhook route and the workers. On Redis it has two stages: the
// intake stream (intake.ts), written with its deduplication markers before the webhook is
// acknowledged — one script call per shard for every change of an event-loop turn —, and BullMQ,
// into which the workers' processes move the entries: a job per provider change, retried with
// jittered exponential backoff, recovered from a crashed replica (stalled jobs), and handed to the
// dead-letter store after the last attempt. BullMQ does retries, backoff with jitter and stalled-job
// recovery in atomic Lua scripts; it was too costly to call per webhook at intake (its client-side
// job building was a fifth of the intake's CPU), hence the stream in front of it.
// Without Redis (embedded default) an in-memory queue keeps the same contract, minus durability.
import { DelayedError, Queue, WaitingError, Worker, type Job } from 'bullmq';
import { createRedis, hashTag, type RedisClient } from '../util/redis.ts';
import { DEFAULT_MOVER_SETTINGS, IntakeMover, IntakeWriter, type MoverSettings } from './intake.ts';
import { bounded } from '../util/bounded.ts';
import type { QueueStats } from '../observability/metrics.ts';
import { dedupeId, type QueuedChange } from './model.ts';

export interface QueueSettings {
  concurrency: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  dedupeTtlSeconds: number;
  /** Intake streams (Redis only; intake.ts): changes are spread over them by connection. Default 4. */
  intakeShards?: number;
  /** How movers reclaim entries of a mover that died (tests shorten it). */
  mover?: MoverSettings;
  /**
   * How long after it was received a change may still be put off by RetryLater without using up
   * an attempt; an older one's RetryLater counts as a failed attempt. Default DEFAULT_DEFER_MAX_AGE_MS.
   */
  deferMaxAgeMs?: number;
}

/** One day: past every provider's rate window (QuickBooks: a minute; Xero's daily allowance: midnight UTC). */
export const DEFAULT_DEFER_MAX_AGE_MS = 24 * 3_600_000;

/** Intake shards when the settings name none. */
export const DEFAULT_INTAKE_SHARDS = 4;
/**
 * How long BullMQ remembers a moved change's deduplication id: long enough to cover a second move of
 * the same entry (its mover died between the move and the acknowledgement, and another took it over
 * after claimIdleMs), short enough not to keep a second marker per event for the whole dedupe TTL.
 */
const MOVE_DEDUPE_MS = 3_600_000;

export type ChangeProcessor = (item: QueuedChange, attempt: number) => Promise<void>;
export type DeadLetterSink = (item: QueuedChange, error: string, attempts: number) => Promise<void>;

export interface ChangeQueue {
  readonly durable: boolean;
  /** Resolves once every item is durably accepted (or was a duplicate); rejects otherwise. */
  enqueue(items: QueuedChange[]): Promise<void>;
  /** Re-queues an item, bypassing deduplication (dead-letter replay). */
  replay(item: QueuedChange): Promise<void>;
  start(processor: ChangeProcessor, deadLetter: DeadLetterSink): void;
  /**
   * Shutdown, first step: takes no new job; a job in progress gets `graceMs` to finish, then is
   * handed back to the queue at once (another replica's worker takes it without waiting for the
   * stall timeout). Enqueueing still works until close().
   */
  stopWorkers(graceMs: number): Promise<WorkerStopReport>;
  close(): Promise<void>;
  /** Jobs by state and the oldest waiting job's age (read at metrics scrape). */
  stats(): Promise<QueueStats>;
}

export interface WorkerStopReport {
  /** Jobs that were in progress when the stop began and finished within the grace period. */
  finished: number;
  /** Jobs handed back to the queue for another worker (durable queue only). */
  handedBack: number;
}

/** Thrown by a processor for failures that retrying cannot fix (straight to the dead letters). */
export class PermanentFailure extends Error {
  override readonly name = 'PermanentFailure';
}

/**
 * Thrown by a processor when the provider asked us to wait (rate limited) or is down for every
 * request (an outage, UpstreamClient.outageFor): the change is tried again after `delayMs`, and
 * the wait does not use up one of its attempts, so a rate window or an outage longer
 * than the whole backoff (Xero's daily allowance; a soak saw QuickBooks' per-minute throttle use
 * up five attempts from 500 ms) does not send it to the dead letters. Only while the change is
 * younger than `deferMaxAgeMs`.
 */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';

  constructor(
    readonly delayMs: number,
    cause: Error,
  ) {
    super(cause.message, { cause });
  }
}

/** Whether a RetryLater may put the change off once more (else it counts as a failed attempt). */
export function mayDefer(err: unknown, item: QueuedChange, settings: Pick<QueueSettings, 'deferMaxAgeMs'>): err is RetryLater {
  return err instanceof RetryLater && Date.now() - Date.parse(item.receivedAt) < (settings.deferMaxAgeMs ?? DEFAULT_DEFER_MAX_AGE_MS);
}

const ENQUEUE_TIMEOUT_MS = 2_000;
/** Jobs per enqueue pipeline (see joinBatch): bounds one Redis write and the work behind one answer. */
const MAX_ENQUEUE_BATCH = 256;

interface EnqueueBatch {
  items: QueuedChange[];
  settled: Promise<void>;
}

/**
 * BullMQ's scripts touch many keys of a queue at once; on a Redis Cluster they must share a slot,
 * so the queue prefix is a hash tag ("{sb:events}", as BullMQ's Redis Cluster guide requires).
 */
export function bullPrefix(prefix: string): string {
  return hashTag(prefix);
}

export class BullChangeQueue implements ChangeQueue {
  readonly durable = true;
  private readonly queue: Queue<QueuedChange>;
  private readonly producer: RedisClient;
  private worker: Worker<QueuedChange> | null = null;
  private workerConnection: RedisClient | null = null;
  private active = 0;
  private handedBack = 0;
  private finishedWhileStopping = 0;
  private stopped: Promise<WorkerStopReport> | null = null;
  private openBatch: EnqueueBatch | null = null;
  /** Settles when the batch last sent to Redis is confirmed (or failed); the open batch waits for it. */
  private writing: Promise<void> = Promise.resolve();
  private readonly intake: IntakeWriter;
  private mover: IntakeMover | null = null;
  private moverQueue: Queue<QueuedChange> | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly settings: QueueSettings,
    private readonly onError: (err: unknown) => void,
    /** A stalled job (its worker died or lost its lock) was taken back for another worker (metrics, log). */
    private readonly onStalled: (jobId: string) => void = () => undefined,
  ) {
    // No offline queue: while Redis is unreachable an enqueue must fail at once (→ 503), never wait.
    this.producer = createRedis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    this.producer.on('error', onError);
    this.queue = new Queue<QueuedChange>('changes', { connection: this.producer, prefix: bullPrefix(prefix) });
    this.queue.on('error', onError);
    this.intake = new IntakeWriter(this.producer, prefix, settings.intakeShards ?? DEFAULT_INTAKE_SHARDS, settings.dedupeTtlSeconds);
  }

  /** The intake streams' keys (the benchmark watches them drain). */
  get intakeStreams(): string[] {
    return this.intake.streams;
  }

  private jobOptions(item: QueuedChange, dedupe: boolean) {
    return {
      attempts: this.settings.maxAttempts,
      backoff: { type: 'exponential', delay: this.settings.retryBaseDelayMs, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: { age: this.settings.dedupeTtlSeconds },
      ...(dedupe ? { deduplication: { id: dedupeId(item), ttl: Math.min(MOVE_DEDUPE_MS, this.settings.dedupeTtlSeconds * 1000) } } : {}),
    };
  }

  async enqueue(items: QueuedChange[]): Promise<void> {
    if (items.length === 0) return;
    await this.joinBatch(items);
  }

  /**
   * Every enqueue of one event-loop turn (all webhooks whose bodies arrived together) goes to Redis
   * together: one append script per intake shard, carrying each change and its dedupe marker. While
   * an earlier batch is still unconfirmed, the open batch keeps collecting and leaves when that one
   * is confirmed: under load a batch grows with Redis's round trip (one write for many webhooks)
   * instead of one write per webhook; when idle it leaves at the end of the turn as before. The
   * batch settles together (a failure answers 503 to every webhook in it; a shard's script that did
   * run makes those changes duplicates when the provider retries).
   */
  private joinBatch(items: QueuedChange[]): Promise<void> {
    let batch = this.openBatch;
    if (!batch) {
      const opened: EnqueueBatch = { items: [], settled: null as unknown as Promise<void> };
      opened.settled = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.writing)
        .then(() => {
          if (this.openBatch === opened) this.openBatch = null;
          const written = this.writeBatch(opened.items);
          this.writing = written.then(
            () => undefined,
            () => undefined,
          );
          return written;
        });
      batch = this.openBatch = opened;
    }
    for (const item of items) batch.items.push(item);
    // A full batch leaves now (at the end of the turn, or after the write in flight); later enqueues open the next one.
    if (batch.items.length >= MAX_ENQUEUE_BATCH) this.openBatch = null;
    return batch.settled;
  }

  /** One batch to the intake streams; one timer per batch (not per webhook): unconfirmed in time, it is a 503 for all of it. */
  private writeBatch(items: QueuedChange[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.intake.append(items),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`queue did not confirm within ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS);
      }),
    ]).then(
      () => clearTimeout(timer),
      (err: unknown) => {
        clearTimeout(timer);
        throw err;
      },
    );
  }

  async replay(item: QueuedChange): Promise<void> {
    await this.queue.add(item.change.entity, item, this.jobOptions(item, false));
  }

  start(processor: ChangeProcessor, deadLetter: DeadLetterSink): void {
    // Workers need a connection that waits through outages (blocking commands, retries forever).
    this.workerConnection = createRedis(this.redisUrl, { maxRetriesPerRequest: null });
    this.workerConnection.on('error', this.onError);
    // The intake's entries become BullMQ jobs here (on the workers' connection, which waits through outages).
    const mover = new Queue<QueuedChange>('changes', { connection: this.workerConnection, prefix: bullPrefix(this.prefix) });
    mover.on('error', this.onError);
    this.moverQueue = mover;
    this.mover = new IntakeMover(
      this.redisUrl,
      this.intake.streams,
      async (items) => {
        await mover.addBulk(items.map((item) => ({ name: item.change.entity, data: item, opts: this.jobOptions(item, true) })));
      },
      this.onError,
      this.settings.mover ?? DEFAULT_MOVER_SETTINGS,
    );
    this.mover.start();
    this.worker = new Worker<QueuedChange>(
      'changes',
      async (job: Job<QueuedChange>, token?: string, signal?: AbortSignal) => {
        const attempt = job.attemptsMade + 1;
        this.active++;
        try {
          // stopWorkers() cancels jobs still running after its grace period: the job goes back
          // to the waiting list now (its lock released), and the abandoned attempt's late result is
          // harmless (publishing is idempotent per record version).
          const handBack = signal ? abortion(signal) : null;
          const outcome = await Promise.race([processor(job.data, attempt).then(() => 'done' as const), ...(handBack ? [handBack.promise] : [])]);
          handBack?.dispose();
          if (outcome === 'handBack') {
            await job.moveToWait(token);
            this.handedBack++;
            throw new WaitingError();
          }
          if (this.stopped) this.finishedWhileStopping++;
        } catch (err) {
          if (err instanceof WaitingError) throw err;
          if (mayDefer(err, job.data, this.settings) && token) {
            // Back to the delayed set with its attempt count unchanged (DelayedError tells BullMQ
            // the job was moved, not failed).
            await job.moveToDelayed(Date.now() + err.delayMs, token);
            throw new DelayedError();
          }
          const last = attempt >= (job.opts.attempts ?? 1) || err instanceof PermanentFailure;
          if (!last) throw err;
          // The dead-letter record is the outcome of the last attempt: written durably, then the
          // job completes. If that write fails, the job fails and BullMQ keeps it (removeOnFail).
          await deadLetter(job.data, (err as Error).message ?? String(err), attempt);
          if (err instanceof PermanentFailure) return;
        } finally {
          this.active--;
        }
      },
      {
        connection: this.workerConnection,
        prefix: bullPrefix(this.prefix),
        concurrency: this.settings.concurrency,
        autorun: true,
        // A job whose worker died (replica crash, Redis outage) is taken over after its lock
        // expires. BullMQ's defaults (30 s lock, 30 s check) held events back ~1 min in the chaos
        // test; 10 s / 5 s bound it to ~15 s at the cost of slightly more lock renewals.
        lockDuration: 10_000,
        stalledInterval: 5_000,
        maxStalledCount: 3,
      },
    );
    this.worker.on('error', this.onError);
    this.worker.on('stalled', (jobId) => this.onStalled(jobId));
    // A job that stalled more than maxStalledCount times is failed by BullMQ itself, without
    // passing through the processor above: give it to the dead letters too, never lose it silently.
    this.worker.on('failed', (job, err) => {
      if (!job || !/stalled/i.test(err.message)) return;
      deadLetter(job.data, err.message, job.attemptsMade).catch(this.onError);
    });
  }

  /** Waiting: BullMQ's waiting jobs plus the intake entries not yet moved (the oldest of either sets the age). */
  async stats(): Promise<QueueStats> {
    const [counts, [oldest], intake] = await Promise.all([
      this.queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed'),
      this.queue.getJobs(['wait'], 0, 0, true),
      this.intake.backlog(),
    ]);
    return {
      waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0) + intake.entries,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      oldestWaitingAgeSeconds: Math.max(oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0, intake.oldestAgeSeconds),
    };
  }

  /** Moves intake entries pending in a mover that died, now (tests; otherwise every claimEveryMs). */
  reclaimIntake(): Promise<void> {
    return this.mover?.reclaimNow() ?? Promise.resolve();
  }

  stopWorkers(graceMs: number): Promise<WorkerStopReport> {
    this.stopped ??= (async () => {
      // The mover first: what it already read is moved and acknowledged; the rest stays in the stream.
      await this.mover?.stop(Math.min(graceMs, 2_000));
      const worker = this.worker;
      if (!worker) return { finished: 0, handedBack: 0 };
      // close() (not forced) stops fetching at once and resolves when the jobs in progress end.
      const closed = worker.close().catch(this.onError);
      await bounded(closed, graceMs);
      if (this.active > 0) worker.cancelAllJobs('the replica is shutting down');
      // Handing back talks to Redis: bounded, then the lock expiry (stalled-job recovery) is the fallback.
      await bounded(closed, 2_000);
      return { finished: this.finishedWhileStopping, handedBack: this.handedBack };
    })();
    return this.stopped;
  }

  async close(): Promise<void> {
    // A graceful close talks to Redis; with Redis gone it would wait forever, so it gets a bound,
    // then the connections are dropped. Jobs not handed back are recovered by another replica (stalled).
    await this.stopWorkers(0);
    await bounded(this.queue.close(), 2_000, this.onError);
    if (this.moverQueue) await bounded(this.moverQueue.close(), 2_000, this.onError);
    this.mover?.close();
    this.workerConnection?.disconnect();
    this.producer.disconnect();
  }
}

/** The embedded default: same contract, in this process only (nothing survives a restart). */
export class MemoryChangeQueue implements ChangeQueue {
  readonly durable = false;
  private readonly seen = new Map<string, number>();
  private arrivals = 0;
  private readonly pending: Array<{ item: QueuedChange; attempt: number }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private processor: ChangeProcessor | null = null;
  private deadLetter: DeadLetterSink | null = null;
  private closed = false;

  constructor(private readonly settings: QueueSettings) {}

  async enqueue(items: QueuedChange[]): Promise<void> {
    const now = Date.now();
    for (const item of items) {
      const id = dedupeId(item);
      const until = this.seen.get(id);
      if (until !== undefined && until > now) continue;
      this.seen.set(id, now + this.settings.dedupeTtlSeconds * 1000);
      // Held as a string, as every store gives it back (dead letters serialize the item as JSON).
      const held = { ...item, arrival: `0-${++this.arrivals}`, ...(Buffer.isBuffer(item.body) && { body: item.body.toString('utf8') }) };
      this.pending.push({ item: held, attempt: 1 });
    }
    if (this.seen.size > 200_000) for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
    this.pump();
  }

  async replay(item: QueuedChange): Promise<void> {
    this.pending.push({ item, attempt: 1 });
    this.pump();
  }

  async stats(): Promise<QueueStats> {
    const oldest = this.pending[0];
    return {
      waiting: this.pending.length,
      active: this.running,
      delayed: this.timers.size,
      failed: 0,
      oldestWaitingAgeSeconds: oldest ? Math.max(0, (Date.now() - Date.parse(oldest.item.receivedAt)) / 1000) : 0,
    };
  }

  start(processor: ChangeProcessor, deadLetter: DeadLetterSink): void {
    this.processor = processor;
    this.deadLetter = deadLetter;
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.processor && this.running < this.settings.concurrency && this.pending.length > 0) {
      const next = this.pending.shift() as { item: QueuedChange; attempt: number };
      this.running++;
      void this.run(next).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run({ item, attempt }: { item: QueuedChange; attempt: number }): Promise<void> {
    try {
      await (this.processor as ChangeProcessor)(item, attempt);
    } catch (err) {
      const deferred = mayDefer(err, item, this.settings);
      if (!deferred && (attempt >= this.settings.maxAttempts || err instanceof PermanentFailure)) {
        await (this.deadLetter as DeadLetterSink)(item, (err as Error).message ?? String(err), attempt).catch(() => undefined);
        return;
      }
      const base = this.settings.retryBaseDelayMs * 2 ** (attempt - 1);
      // ±50 % jitter, like the BullMQ settings; a deferral keeps its attempt number.
      const delay = deferred ? err.delayMs : base / 2 + Math.random() * base;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.pending.push({ item, attempt: deferred ? attempt : attempt + 1 });
        this.pump();
      }, delay);
      this.timers.add(timer);
    }
  }

  async stopWorkers(graceMs: number): Promise<WorkerStopReport> {
    // Nothing to hand back to: in memory, a job not finished within the grace period is lost (as
    // the startup warning says). Queued jobs stay queued until close().
    this.closed = true;
    const inProgress = this.running;
    const deadline = Date.now() + graceMs;
    while (this.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return { finished: inProgress - this.running, handedBack: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** A promise that resolves with 'handBack' when `signal` aborts (dispose() detaches it). */
function abortion(signal: AbortSignal): { promise: Promise<'handBack'>; dispose(): void } {
  let onAbort = () => {};
  const promise = new Promise<'handBack'>((resolve) => {
    onAbort = () => resolve('handBack');
    if (signal.aborted) resolve('handBack');
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
