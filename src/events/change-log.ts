// The log of processed changes that subscriptions read. On Redis it is one stream per shard (XADD,
// trimmed to the retention); a tenant's changes all go to one shard (a hash of the tenant id), so
// its cursors are ordered and it resumes from one stream. Every replica tails every shard with one
// blocking reader each and dispatches to its local subscribers, so a change processed anywhere
// reaches subscribers everywhere. One shard (the default) is the one stream of earlier versions,
// under the same key and with the same cursors; more shards let a Redis Cluster spread the log
// over its masters (docs/deployment.md, "Redis Cluster"). A cursor names its layout ("4/<id>" for
// 4 shards), so a cursor issued under another shard count is refused, never misread.
import { createRedis, hashTag, type RedisClient } from '../util/redis.ts';
import { bounded } from '../util/bounded.ts';
import { compareCursors, cursorLayout, streamId, type PublishedChange } from './model.ts';

export type ChangeListener = (change: PublishedChange) => void;

export interface ChangeLog {
  /** Appends durably; resolves with the change's cursor. */
  append(change: Omit<PublishedChange, 'cursor'>): Promise<string>;
  /**
   * Changes strictly after `cursor`, oldest first, at most `limit`: at least all of the tenant's
   * (its shard's stream; other tenants' changes may be included, callers filter by tenant).
   */
  readAfter(tenantId: string, cursor: string, limit: number): Promise<PublishedChange[]>;
  /** Whether `cursor` was issued by a log of this layout (shard count); others cannot be resumed. */
  accepts(cursor: string): boolean;
  /**
   * The newest cursor removed by trimming (null while nothing was ever trimmed): a resume point
   * before it has a gap; one at or after it misses nothing. Known exactly, not guessed from the
   * oldest retained entry, so a cursor taken while the log was empty ("0-0") still resumes.
   */
  trimmedThrough(tenantId: string): Promise<string | null>;
  /** The tenant's newest cursor ("0-0" when empty): subscribing after it misses nothing from now on. */
  headCursor(tenantId: string): Promise<string>;
  /** Live changes from now on, from every replica. Returns the unsubscribe function. */
  listen(listener: ChangeListener): () => void;
  /** Begins following the log (Redis: the shared tail reader). */
  start(): void;
  /** Deletes every retained change of the tenant `matches` selects (personal-data purge); resolves with what was removed. */
  remove(tenantId: string, matches: (change: PublishedChange) => boolean): Promise<PublishedChange[]>;
  close(): Promise<void>;
}

const FIELD = 'c';
const DISPATCH_SLICE_MS = 10;
/**
 * The log is trimmed once it holds this many entries over the retention (a tenth of a small
 * retention), oldest first. Trimming in batches keeps the per-append cost constant (one XRANGE of
 * ~a batch every batch of appends) while the script records exactly which entry was the newest removed.
 */
function trimBatch(retained: number): number {
  return Math.max(1, Math.min(100, Math.floor(retained / 10)));
}

// KEYS: stream, once-marker, trimmed-through marker. ARGV: retention, change JSON, marker TTL,
// trim batch. Returns the entry's cursor (the earlier one when this event was appended already).
// Redis's own MAXLEN trimming does not say what it removed (XINFO's max-deleted-entry-id covers
// XDEL only), so the script trims with MINID and records the newest id it dropped.
const APPEND_ONCE = `
local existing = redis.call('GET', KEYS[2])
if existing then return existing end
local id = redis.call('XADD', KEYS[1], '*', '${FIELD}', ARGV[2])
redis.call('SET', KEYS[2], id, 'EX', ARGV[3])
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if excess >= tonumber(ARGV[4]) then
  local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess + 1)
  redis.call('SET', KEYS[3], head[excess][1])
  redis.call('XTRIM', KEYS[1], 'MINID', head[excess + 1][1])
end
return id`;

function parseEntry([id, fields]: [string, string[]], layout = ''): PublishedChange | null {
  const i = fields.indexOf(FIELD);
  if (i < 0) return null;
  try {
    return { ...(JSON.parse(fields[i + 1] as string) as Omit<PublishedChange, 'cursor'>), cursor: layout + id };
  } catch {
    return null;
  }
}

/** Which of `shards` streams holds a tenant's changes (FNV-1a of the tenant id; stable across versions). */
export function shardOf(tenantId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tenantId.length; i++) h = Math.imul(h ^ tenantId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

/** One stream of the log and the keys its append script touches with it (same hash slot). */
interface Shard {
  stream: string;
  /** "{<stream base>}": the hash tag of the shard's once-markers and trimmed-through marker. */
  tag: string;
  trimmedKey: string;
  /** The trimmed-through marker's name before hash tags (one shard only; read as a fallback). */
  legacyTrimmedKey: string | null;
  reader: RedisClient;
}

export class RedisChangeLog implements ChangeLog {
  private readonly writer: RedisClient;
  private readonly shards: Shard[];
  private readonly listeners = new Set<ChangeListener>();
  /** "" for one shard (cursors as before), "<n>/" for n shards. */
  private readonly layout: string;
  private running = true;
  private tails: Promise<void>[] | null = null;

  constructor(
    redisUrl: string,
    prefix: string,
    private readonly retained: number,
    private readonly onError: (err: unknown) => void,
    private readonly onceTtlSeconds = 7 * 24 * 3600,
    shardCount = 1,
  ) {
    this.layout = shardCount === 1 ? '' : `${shardCount}/`;
    this.writer = createRedis(redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2_000 });
    this.writer.on('error', onError);
    this.shards = Array.from({ length: shardCount }, (_, i) => {
      // One shard keeps the stream key of earlier versions; n shards are "{<prefix>:changes:i/n}",
      // each its own hash slot, so a cluster spreads them over its masters.
      const base = shardCount === 1 ? `${prefix}:changes` : `${prefix}:changes:${i}/${shardCount}`;
      const tag = hashTag(base);
      // Each blocking reader gets its own connection (XREAD BLOCK holds it).
      const reader = createRedis(redisUrl, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
      reader.on('error', onError);
      return {
        stream: shardCount === 1 ? base : tag,
        tag,
        trimmedKey: `${tag}:trimmed-through`,
        legacyTrimmedKey: shardCount === 1 ? `${base}:trimmed-through` : null,
        reader,
      };
    });
  }

  private shard(tenantId: string): Shard {
    return this.shards[shardOf(tenantId, this.shards.length)] as Shard;
  }

  accepts(cursor: string): boolean {
    return cursorLayout(cursor) === this.layout;
  }

  /**
   * Once per provider event: a retried job (its earlier append, or its completion, lost in a Redis
   * outage; or the append re-sent by ioredis after a reconnect) must not publish the event again.
   * The marker and the entry are written by one script, so neither exists without the other.
   */
  async append(change: Omit<PublishedChange, 'cursor'>): Promise<string> {
    const shard = this.shard(change.tenantId);
    const once = `${shard.tag}:published:${change.provider}:${change.connectionId}:${change.eventId}`;
    const args = [String(this.retained), JSON.stringify(change), String(this.onceTtlSeconds), String(trimBatch(this.retained))];
    const id = await this.writer.eval(APPEND_ONCE, 3, shard.stream, once, shard.trimmedKey, ...args);
    return this.layout + (id as string);
  }

  async readAfter(tenantId: string, cursor: string, limit: number): Promise<PublishedChange[]> {
    const entries = (await this.writer.xrange(this.shard(tenantId).stream, `(${streamId(cursor)}`, '+', 'COUNT', limit)) as Array<[string, string[]]>;
    return entries.map((e) => parseEntry(e, this.layout)).filter((c): c is PublishedChange => c !== null);
  }

  async trimmedThrough(tenantId: string): Promise<string | null> {
    const shard = this.shard(tenantId);
    // Before hash tags the marker had another name; it is never written again, and any newer
    // marker is later than it, so it only counts while the new one does not exist yet.
    const id = (await this.writer.get(shard.trimmedKey)) ?? (shard.legacyTrimmedKey ? await this.writer.get(shard.legacyTrimmedKey) : null);
    return id === null ? null : this.layout + id;
  }

  async remove(tenantId: string, matches: (change: PublishedChange) => boolean): Promise<PublishedChange[]> {
    const { stream } = this.shard(tenantId);
    const removed: PublishedChange[] = [];
    let start = '-';
    for (;;) {
      const rows = (await this.writer.xrange(stream, start, '+', 'COUNT', 500)) as Array<[string, string[]]>;
      const hits = rows.map((e) => parseEntry(e, this.layout)).filter((c): c is PublishedChange => c !== null && c.tenantId === tenantId && matches(c));
      if (hits.length) await this.writer.xdel(stream, ...hits.map((c) => streamId(c.cursor)));
      removed.push(...hits);
      if (rows.length < 500) return removed;
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }

  async headCursor(tenantId: string): Promise<string> {
    return this.layout + (await this.newestId(this.shard(tenantId)));
  }

  private async newestId(shard: Shard): Promise<string> {
    const last = (await this.writer.xrevrange(shard.stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last[0]?.[0] ?? '0-0';
  }

  /** Starts tailing at once, so a change appended after start() is never missed by listeners. */
  start(): void {
    this.tails ??= this.shards.map((shard) => this.tailLoop(shard));
  }

  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    this.start();
    return () => this.listeners.delete(listener);
  }

  private async tailLoop(shard: Shard): Promise<void> {
    // Start from the current end; the position is then carried forward, so nothing between two
    // reads is missed (unlike re-reading from "$").
    let last: string | null = null;
    while (this.running && last === null) {
      try {
        last = await this.newestId(shard);
      } catch (err) {
        this.onError(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    while (this.running) {
      try {
        const res = (await shard.reader.xread('COUNT', 500, 'BLOCK', 2_000, 'STREAMS', shard.stream, last as string)) as Array<
          [string, Array<[string, string[]]>]
        > | null;
        if (!res) continue;
        let slice = performance.now();
        for (const [, entries] of res) {
          for (const entry of entries) {
            last = entry[0];
            const change = parseEntry(entry, this.layout);
            if (change) for (const l of this.listeners) l(change);
            // Dispatching a batch of 500 in one go stalled the event loop for ~1 s under load
            // (webhook intake starved); yielding after every entry added ~1 s of fan-out latency
            // when busy. Yield once per ~10 ms of dispatch instead.
            if (performance.now() - slice > DISPATCH_SLICE_MS) {
              await new Promise((r) => setImmediate(r));
              slice = performance.now();
            }
          }
        }
      } catch (err) {
        if (!this.running) return;
        this.onError(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async close(): Promise<void> {
    this.running = false;
    for (const shard of this.shards) shard.reader.disconnect();
    if (this.tails) await bounded(Promise.all(this.tails), 2_000);
    this.writer.disconnect();
  }
}

/** In-process log for the embedded default: same contract, bounded retention, one process. */
export class MemoryChangeLog implements ChangeLog {
  private entries: PublishedChange[] = [];
  private trimmed: string | null = null;
  private seq = 0;
  /** Fixed per process so cursors stay ordered even if the clock moves back. */
  private readonly epoch = Date.now();
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly retained: number) {}

  async append(change: Omit<PublishedChange, 'cursor'>): Promise<string> {
    const cursor = `${this.epoch}-${++this.seq}`;
    const full = { ...change, cursor };
    this.entries.push(full);
    if (this.entries.length >= this.retained + trimBatch(this.retained)) {
      const drop = this.entries.length - this.retained;
      this.trimmed = (this.entries[drop - 1] as PublishedChange).cursor;
      this.entries = this.entries.slice(drop);
    }
    for (const l of this.listeners) l(full);
    return cursor;
  }

  async readAfter(_tenantId: string, cursor: string, limit: number): Promise<PublishedChange[]> {
    return this.entries.filter((e) => compareCursors(e.cursor, cursor) > 0).slice(0, limit);
  }

  accepts(cursor: string): boolean {
    return cursorLayout(cursor) === '';
  }

  async trimmedThrough(): Promise<string | null> {
    return this.trimmed;
  }

  async remove(tenantId: string, matches: (change: PublishedChange) => boolean): Promise<PublishedChange[]> {
    const hit = (e: PublishedChange) => e.tenantId === tenantId && matches(e);
    const removed = this.entries.filter(hit);
    this.entries = this.entries.filter((e) => !hit(e));
    return removed;
  }

  async headCursor(): Promise<string> {
    return this.entries[this.entries.length - 1]?.cursor ?? `${this.epoch}-0`;
  }

  start(): void {}

  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
