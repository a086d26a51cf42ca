// A push-to-pull bridge: turns a listener that pushes values (an event emitter, a Redis stream
// reader) into the async iterator graphql-ws subscriptions consume, with a bound on how far a
// slow consumer may fall behind. Generic: change events and connection status events both use it.
// A consumer that can take values synchronously (the WebSocket fan-out, see
// events/shared-execution.ts) switches it to direct delivery: values then skip the queue and the
// per-value promise, and the iterator only reports the end (or the failure) of the stream.

/** Values a consumer may fall behind before its stream is ended (it resubscribes from its cursor). */
const MAX_BUFFERED = 10_000;

/** Takes values synchronously; answers false when its consumer cannot keep up (the stream then fails as too slow). */
export interface DirectSink<T> {
  take(value: T): boolean;
}

/** An async iterator over pushed values that can also hand them to a synchronous sink. */
export interface PushStream<T> extends AsyncIterableIterator<T> {
  /** Delivers every value already queued, then every later one, to `sink` (once per stream). */
  deliverTo(sink: DirectSink<T>): void;
  /** Ends the stream as too slow (a sink that found out late, after an asynchronous step). */
  overflow(): void;
}

export function isPushStream<T>(value: unknown): value is PushStream<T> {
  return value instanceof PushStreamBase;
}

// A class, not closures: one object per open subscription (memory per idle subscriber counts).
// Subclasses (events/subscribe.ts) are the subscriber themselves: they call push() and fail() and
// override detached(), so an idle subscription is one object, without attach/push/fail closures.
export class PushStreamBase<T> implements PushStream<T> {
  private queue: T[] | null = null;
  /** The consumer's pending next(), if it is waiting for a value. */
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void } | null = null;
  private done = false;
  private failure: Error | null = null;
  private sink: DirectSink<T> | null = null;

  constructor(private readonly tooSlow: string) {}

  /** Called once when the stream ends (its consumer left, it failed or overflowed): stop pushing. */
  protected detached(): void {}

  /** Whether the stream has ended; a subclass stops pushing then. */
  protected get ended(): boolean {
    return this.done;
  }

  protected push(value: T): void {
    if (this.done) return;
    if (this.sink) {
      if (!this.sink.take(value)) this.fail(new Error(this.tooSlow));
    } else if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value, done: false });
    } else if ((this.queue ??= []).length >= MAX_BUFFERED) this.fail(new Error(this.tooSlow));
    else this.queue.push(value);
  }

  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.detached();
    this.sink = null;
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = null;
  }

  protected fail(err: Error): void {
    if (this.done) return;
    // A consumer already waiting gets the error itself; ending its wait with `done` would turn
    // the failure into a normal completion (a refused resume looked like a finished stream).
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.reject(err);
    } else this.failure = err;
    this.stop();
  }

  overflow(): void {
    this.fail(new Error(this.tooSlow));
  }

  deliverTo(sink: DirectSink<T>): void {
    if (this.sink) throw new Error('this stream already delivers to a sink');
    // Values queued before a failure are still delivered (as next() would), then the failure.
    const queued = this.queue;
    this.queue = null;
    if (queued)
      for (const value of queued)
        if (!sink.take(value)) {
          this.fail(new Error(this.tooSlow));
          return;
        }
    if (!this.done) this.sink = sink;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue?.length) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      return Promise.reject(f);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<T>> {
    this.stop();
    return Promise.reject(err);
  }
}

/**
 * An async iterator over values pushed by a listener: `attach` registers it (with `push` for
 * values and `fail` to end the stream with an error) and returns its removal, called when the
 * subscriber leaves. A subscriber that falls MAX_BUFFERED behind is ended with `tooSlow` rather
 * than losing values.
 */
export function pushStream<T>(
  attach: (push: (value: T) => void, fail: (err: Error) => void) => () => void,
  tooSlow = 'subscriber is too slow; subscribe again',
): PushStream<T> {
  return new AttachedStream(attach, tooSlow);
}

class AttachedStream<T> extends PushStreamBase<T> {
  private detach: (() => void) | null = null;

  constructor(attach: (push: (value: T) => void, fail: (err: Error) => void) => () => void, tooSlow: string) {
    super(tooSlow);
    const detach = attach(
      (value) => this.push(value),
      (err) => this.fail(err),
    );
    if (this.ended) detach();
    else this.detach = detach;
  }

  protected override detached(): void {
    const detach = this.detach;
    this.detach = null;
    detach?.();
  }
}
