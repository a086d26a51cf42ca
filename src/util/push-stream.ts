// A push-to-pull bridge: turns a listener that pushes values (an event emitter, a Redis stream
// reader) into the async iterator graphql-ws subscriptions consume, with a bound on how far a
// slow consumer may fall behind. Generic: change events and connection status events both use it.

/** Values a consumer may fall behind before its stream is ended (it resubscribes from its cursor). */
const MAX_BUFFERED = 10_000;

/**
 * An async iterator over values pushed by a listener: `attach` registers it (with `push` for
 * values and `fail` to end the stream with an error) and returns its removal, called when the
 * subscriber leaves. A subscriber that falls MAX_BUFFERED behind is ended with `tooSlow` rather
 * than losing values.
 */
export function pushStream<T>(
  attach: (push: (value: T) => void, fail: (err: Error) => void) => () => void,
  tooSlow = 'subscriber is too slow; subscribe again',
): AsyncIterableIterator<T> {
  const queue: T[] = [];
  // The consumer's pending next(), if it is waiting for a value.
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void } | null = null;
  let done = false;
  let failure: Error | null = null;
  let detach: (() => void) | null = null;
  function stop(): void {
    if (done) return;
    done = true;
    detach?.();
    waiting?.resolve({ value: undefined, done: true });
    waiting = null;
  }
  function fail(err: Error): void {
    if (done) return;
    // A consumer already waiting gets the error itself; ending its wait with `done` would turn
    // the failure into a normal completion (a refused resume looked like a finished stream).
    if (waiting) {
      const w = waiting;
      waiting = null;
      w.reject(err);
    } else failure = err;
    stop();
  }
  detach = attach((value) => {
    if (done) return;
    if (waiting) {
      const w = waiting;
      waiting = null;
      w.resolve({ value, done: false });
    } else if (queue.length >= MAX_BUFFERED) fail(new Error(tooSlow));
    else queue.push(value);
  }, fail);
  if (done) detach();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift() as T, done: false });
      if (failure) {
        const f = failure;
        failure = null;
        return Promise.reject(f);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err?: unknown) {
      stop();
      return Promise.reject(err);
    },
  };
}
