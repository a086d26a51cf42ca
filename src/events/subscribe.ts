// One subscriber's stream of changes: its tenant's only (checked on every event), filtered by its
// arguments, optionally resumed after a cursor. Resume without gap or duplicate: the live listener
// is attached first and buffers; the retained history after the cursor is replayed; then buffered
// and live changes follow, each emitted only if its cursor is past the last one emitted.
import { GraphQLError } from 'graphql';
import type { ChangeLog } from './change-log.ts';
import { compareCursors, isCursor, type PublishedChange } from './model.ts';

const REPLAY_PAGE = 500;
/** A subscriber that falls this far behind is disconnected rather than buffering without bound. */
const MAX_BUFFERED = 10_000;

export function changeStream(
  log: ChangeLog,
  tenantId: string,
  accept: (change: PublishedChange) => boolean,
  after: string | null | undefined,
): AsyncIterableIterator<PublishedChange> {
  if (after != null && !isCursor(after)) {
    throw new GraphQLError('`after` is not a change cursor', { extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } });
  }
  return pushStream<PublishedChange>((push, fail) => {
    let replaying = after != null;
    let last = after ?? null;
    const held: PublishedChange[] = [];
    const emit = (change: PublishedChange) => {
      if (last !== null && compareCursors(change.cursor, last) <= 0) return; // already delivered
      last = change.cursor;
      push(change);
    };
    const unlisten = log.listen((change) => {
      // The tenant check runs on every event, whatever the subscription arguments were.
      if (change.tenantId !== tenantId || !accept(change)) return;
      if (replaying) held.push(change);
      else emit(change);
    });
    if (after != null) {
      void (async () => {
        try {
          const trimmed = await log.trimmedThrough();
          if (trimmed !== null && compareCursors(after, trimmed) < 0) {
            throw new GraphQLError('`after` is older than the retained change history; query a fresh snapshot and resubscribe', { extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } });
          }
          let cursor = after;
          for (;;) {
            const page = await log.readAfter(cursor, REPLAY_PAGE);
            for (const change of page) if (change.tenantId === tenantId && accept(change)) emit(change);
            if (page.length < REPLAY_PAGE) break;
            cursor = (page[page.length - 1] as PublishedChange).cursor;
          }
          replaying = false;
          for (const change of held.splice(0)) emit(change);
        } catch (err) {
          fail(err as Error);
        }
      })();
    }
    return unlisten;
  }, 'subscriber is too slow; reconnect with `after` set to the last cursor received');
}

/**
 * An async iterator over values pushed by a listener: `attach` registers it (with `push` for
 * values and `fail` to end the stream with an error) and returns its removal, called when the
 * subscriber leaves. A subscriber that falls MAX_BUFFERED behind is ended with `tooSlow` rather
 * than losing values.
 */
export function pushStream<T>(attach: (push: (value: T) => void, fail: (err: Error) => void) => () => void, tooSlow = 'subscriber is too slow; subscribe again'): AsyncIterableIterator<T> {
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
