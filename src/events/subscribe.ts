// One subscriber's stream of changes: its tenant's only (checked on every event), filtered by its
// arguments, optionally resumed after a cursor. Resume without gap or duplicate: the live listener
// is attached first and buffers; the retained history after the cursor is replayed; then buffered
// and live changes follow, each emitted only if its cursor is past the last one emitted.
import { GraphQLError } from 'graphql';
import type { ChangeLog } from './change-log.ts';
import { pushStream } from '../util/push-stream.ts';
import { compareCursors, isCursor, type PublishedChange } from './model.ts';

const REPLAY_PAGE = 500;

/** Counts open streams and deliveries (metrics); optional. */
export interface StreamObserver {
  opened(): void;
  delivered(): void;
  closed(): void;
}

export function changeStream(
  log: ChangeLog,
  tenantId: string,
  accept: (change: PublishedChange) => boolean,
  after: string | null | undefined,
  observer?: StreamObserver,
): AsyncIterableIterator<PublishedChange> {
  if (after != null && !isCursor(after)) {
    throw new GraphQLError('`after` is not a change cursor', { extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } });
  }
  if (after != null && !log.accepts(after)) {
    // Issued before SWITCHBOARD_CHANGE_LOG_SHARDS changed: its stream is no longer this tenant's.
    throw new GraphQLError('`after` is from another change-log layout; query a fresh snapshot and resubscribe', {
      extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' },
    });
  }
  return pushStream<PublishedChange>((push, fail) => {
    let replaying = after != null;
    let last = after ?? null;
    let held: PublishedChange[] | null = null;
    const emit = (change: PublishedChange) => {
      if (last !== null && compareCursors(change.cursor, last) <= 0) return; // already delivered
      last = change.cursor;
      observer?.delivered();
      push(change);
    };
    const unlisten = log.listen((change) => {
      // The tenant check runs on every event, whatever the subscription arguments were.
      if (change.tenantId !== tenantId || !accept(change)) return;
      if (replaying) (held ??= []).push(change);
      else emit(change);
    });
    if (after != null) {
      void (async () => {
        try {
          const trimmed = await log.trimmedThrough(tenantId);
          if (trimmed !== null && compareCursors(after, trimmed) < 0) {
            throw new GraphQLError('`after` is older than the retained change history; query a fresh snapshot and resubscribe', {
              extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' },
            });
          }
          let cursor = after;
          for (;;) {
            const page = await log.readAfter(tenantId, cursor, REPLAY_PAGE);
            for (const change of page) if (change.tenantId === tenantId && accept(change)) emit(change);
            if (page.length < REPLAY_PAGE) break;
            cursor = (page[page.length - 1] as PublishedChange).cursor;
          }
          replaying = false;
          const buffered = held ?? [];
          held = null;
          for (const change of buffered) emit(change);
        } catch (err) {
          fail(err as Error);
        }
      })();
    }
    observer?.opened();
    return () => {
      unlisten();
      observer?.closed();
    };
  }, 'subscriber is too slow; reconnect with `after` set to the last cursor received');
}
