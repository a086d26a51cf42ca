// What travels through the event pipeline: a verified provider change waiting to be processed
// (QueuedChange), and a processed change as subscribers receive it (PublishedChange).
import type { EntityModel, EntityType } from '../../connectors/sdk/models.ts';
import type { ChangeEvent } from '../../connectors/sdk/types.ts';

export interface QueuedChange {
  tenantId: string;
  connectionId: string;
  provider: string;
  change: ChangeEvent;
  receivedAt: string;
  /**
   * The provider's verified delivery when the change's model is still to be mapped from it (the
   * route used the connector's toEventsWithoutModels): the worker maps it first (pipeline.ts). The
   * route hands over the bytes as received, which the intake stream stores as they are (decoding
   * them to write them re-encoded cost the intake ~3 KB of garbage per webhook); read back from a
   * store, or queued in memory, it is a string.
   */
  body?: string | Buffer;
  /**
   * Where the change arrived in its connection's order, "<ms>-<seq>": the intake stream's entry id
   * (a connection's changes always go to the same stream), or the in-memory queue's counter. Set
   * when the change is queued, not by the route; the version store breaks ties with it.
   */
  arrival?: string;
  /** W3C trace context of the webhook request (only when tracing is on): the worker's span continues its trace. */
  trace?: Record<string, string>;
}

export interface PublishedChange {
  /** Position in the change log; subscribers resume after it. Ordered. */
  cursor: string;
  tenantId: string;
  connectionId: string;
  provider: string;
  entity: EntityType;
  eventId: string;
  type: ChangeEvent['type'];
  occurredAt: string;
  remoteId: string;
  /** The record as it is now; null for deletions. */
  model: EntityModel | null;
  publishedAt: string;
}

/** Deduplication key of a provider event: unique per (connector, connection). */
export function dedupeId(item: QueuedChange): string {
  return `${item.provider}:${item.connectionId}:${item.change.eventId}`;
}

/**
 * A change-log cursor is a Redis stream id "<ms>-<seq>", prefixed "<n>/" when the log is split into
 * n shards (change-log.ts): the prefix names the layout the cursor belongs to.
 */
export function cursorLayout(cursor: string): string {
  const slash = cursor.indexOf('/');
  return slash < 0 ? '' : cursor.slice(0, slash + 1);
}

/** The stream id of a cursor (its layout prefix removed). */
export function streamId(cursor: string): string {
  return cursor.slice(cursor.indexOf('/') + 1);
}

/** Compares two change-log cursors of one layout (or two intake arrivals, QueuedChange.arrival) by their stream ids: negative if a < b. */
export function compareCursors(a: string, b: string): number {
  const [am = '0', as = '0'] = streamId(a).split('-');
  const [bm = '0', bs = '0'] = streamId(b).split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

export function isCursor(text: string): boolean {
  return /^(\d{1,4}\/)?\d{1,20}-\d{1,20}$/.test(text);
}
