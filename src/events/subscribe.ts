// One subscriber's stream of changes: its tenant's only (checked on every event), filtered by its
// arguments, optionally resumed after a cursor. Resume without gap or duplicate: the live listener
// is attached first and buffers; the retained history after the cursor is replayed; then buffered
// and live changes follow, each emitted only if its cursor is past the last one emitted.
//
// Every subscription of a process shares one listener on the change log per log (the log itself
// has one tail reader per shard per process): changes are routed by tenant to that tenant's
// subscribers, so an event costs nothing for other tenants' subscriptions, and an idle
// subscription is one object (ChangeSubscription) in its tenant's set.
import { GraphQLError } from 'graphql';
import type { ChangeLog } from './change-log.ts';
import { PushStreamBase } from '../util/push-stream.ts';
import { compareCursors, isCursor, type PublishedChange } from './model.ts';

const REPLAY_PAGE = 500;
const TOO_SLOW = 'subscriber is too slow; reconnect with `after` set to the last cursor received';

/** Counts open streams and deliveries (metrics); optional. */
export interface StreamObserver {
  opened(): void;
  delivered(): void;
  closed(): void;
}

/** Which of its tenant's changes a subscription wants (its arguments): a function or an object with `matches`. */
export type ChangeAccept = ((change: PublishedChange) => boolean) | { matches(change: PublishedChange): boolean };

/** The subscriptions of one change log in this process, by tenant, behind one listener on the log. */
export class TenantRouter {
  private readonly byTenant = new Map<string, Set<ChangeSubscription>>();
  private unlisten: (() => void) | null = null;
  private count = 0;

  constructor(private readonly log: ChangeLog) {}

  /** Subscriptions currently routed (all tenants). */
  get size(): number {
    return this.count;
  }

  /** Listeners this router holds on the change log (0 or 1, whatever the number of subscriptions). */
  get logListeners(): number {
    return this.unlisten ? 1 : 0;
  }

  add(sub: ChangeSubscription): void {
    let subs = this.byTenant.get(sub.tenantId);
    if (!subs) this.byTenant.set(sub.tenantId, (subs = new Set()));
    subs.add(sub);
    this.count++;
    this.unlisten ??= this.log.listen((change) => this.dispatch(change));
  }

  remove(sub: ChangeSubscription): void {
    const subs = this.byTenant.get(sub.tenantId);
    if (!subs?.delete(sub)) return;
    this.count--;
    if (subs.size === 0) this.byTenant.delete(sub.tenantId);
    if (this.count === 0 && this.unlisten) {
      this.unlisten();
      this.unlisten = null;
    }
  }

  private dispatch(change: PublishedChange): void {
    const subs = this.byTenant.get(change.tenantId);
    if (subs) for (const sub of subs) sub.offer(change);
  }
}

const routers = new WeakMap<ChangeLog, TenantRouter>();

/** The router of `log` in this process (one per log object). */
export function routerOf(log: ChangeLog): TenantRouter {
  let router = routers.get(log);
  if (!router) routers.set(log, (router = new TenantRouter(log)));
  return router;
}

/** One subscription: the stream its consumer reads and the subscriber its tenant's router calls. */
export class ChangeSubscription extends PushStreamBase<PublishedChange> {
  /** Cursor of the last change emitted (resume point); null when subscribed without `after` and nothing came yet. */
  private last: string | null;
  /** Live changes that arrived while the retained history is replayed. */
  private held: PublishedChange[] | null = null;
  private replaying: boolean;

  constructor(
    private readonly router: TenantRouter,
    readonly tenantId: string,
    private readonly accept: ChangeAccept,
    after: string | null,
    private readonly observer: StreamObserver | undefined,
  ) {
    super(TOO_SLOW);
    this.last = after;
    this.replaying = after !== null;
  }

  private wants(change: PublishedChange): boolean {
    // The tenant check runs on every event, whatever routed it here and whatever the arguments were.
    if (change.tenantId !== this.tenantId) return false;
    const accept = this.accept;
    return typeof accept === 'function' ? accept(change) : accept.matches(change);
  }

  /** A live change from the log (its tenant's router calls this). */
  offer(change: PublishedChange): void {
    if (!this.wants(change)) return;
    if (this.replaying) (this.held ??= []).push(change);
    else this.emit(change);
  }

  private emit(change: PublishedChange): void {
    if (this.last !== null && compareCursors(change.cursor, this.last) <= 0) return; // already delivered
    this.last = change.cursor;
    this.observer?.delivered();
    this.push(change);
  }

  /** Replays the retained history after `after`, then what arrived meanwhile. */
  async replay(log: ChangeLog, after: string): Promise<void> {
    try {
      const trimmed = await log.trimmedThrough(this.tenantId);
      if (trimmed !== null && compareCursors(after, trimmed) < 0) {
        throw new GraphQLError('`after` is older than the retained change history; query a fresh snapshot and resubscribe', {
          extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' },
        });
      }
      let cursor = after;
      for (;;) {
        if (this.ended) return;
        const page = await log.readAfter(this.tenantId, cursor, REPLAY_PAGE);
        for (const change of page) if (this.wants(change)) this.emit(change);
        if (page.length < REPLAY_PAGE) break;
        cursor = (page[page.length - 1] as PublishedChange).cursor;
      }
      this.replaying = false;
      const buffered = this.held ?? [];
      this.held = null;
      for (const change of buffered) this.emit(change);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  protected override detached(): void {
    this.router.remove(this);
    this.held = null;
    this.observer?.closed();
  }
}

export function changeStream(
  log: ChangeLog,
  tenantId: string,
  accept: ChangeAccept,
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
  const router = routerOf(log);
  const sub = new ChangeSubscription(router, tenantId, accept, after ?? null, observer);
  // Attached before the replay reads history, so nothing appended meanwhile is missed.
  router.add(sub);
  observer?.opened();
  if (after != null) void sub.replay(log, after);
  return sub;
}
