// The log of processed changes that subscriptions read. On Redis it is one stream (XADD, trimmed to
// the retention); every replica tails it with one blocking reader and dispatches to its local
// subscribers, so a change processed anywhere reaches subscribers everywhere, and a client can
// resume after its last cursor from what the stream still retains.
import { createRedis, type RedisClient } from '../util/redis.ts';
import { bounded } from '../util/bounded.ts';
import { compareCursors, type PublishedChange } from './model.ts';

export type ChangeListener = (change: PublishedChange) => void;

export interface ChangeLog {
  /** Appends durably; resolves with the change's cursor. */
  append(change: Omit<PublishedChange, 'cursor'>): Promise<string>;
  /** Changes strictly after `cursor`, oldest first, at most `limit`. */
  readAfter(cursor: string, limit: number): Promise<PublishedChange[]>;
  /**
   * The newest cursor removed by trimming (null while nothing was ever trimmed): a resume point
   * before it has a gap; one at or after it misses nothing. Known exactly, not guessed from the
   * oldest retained entry, so a cursor taken while the log was empty ("0-0") still resumes.
   */
  trimmedThrough(): Promise<string | null>;
  /** The newest cursor ("0-0" when empty): subscribing after it misses nothing from now on. */
  headCursor(): Promise<string>;
  /** Live changes from now on, from every replica. Returns the unsubscribe function. */
  listen(listener: ChangeListener): () => void;
  /** Begins following the log (Redis: the shared tail reader). */
  start(): void;
  /** Deletes every retained change `matches` selects (personal-data purge); resolves with what was removed. */
  remove(matches: (change: PublishedChange) => boolean): Promise<PublishedChange[]>;
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

function parseEntry([id, fields]: [string, string[]]): PublishedChange | null {
  const i = fields.indexOf(FIELD);
  if (i < 0) return null;
  try {
    return { ...(JSON.parse(fields[i + 1] as string) as Omit<PublishedChange, 'cursor'>), cursor: id };
  } catch {
    return null;
  }
}

export class RedisChangeLog implements ChangeLog {
  private readonly writer: RedisClient;
  private readonly reader: RedisClient;
  private readonly listeners = new Set<ChangeListener>();
  private readonly key: string;
  private readonly trimmedKey: string;
  private readonly prefix: string;
  private running = true;
  private tail: Promise<void> | null = null;

  constructor(
    redisUrl: string,
    prefix: string,
    private readonly retained: number,
    private readonly onError: (err: unknown) => void,
    private readonly onceTtlSeconds = 7 * 24 * 3600,
  ) {
    this.key = `${prefix}:changes`;
    this.trimmedKey = `${prefix}:changes:trimmed-through`;
    this.prefix = prefix;
    this.writer = createRedis(redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2_000 });
    this.writer.on('error', onError);
    // The blocking reader gets its own connection (XREAD BLOCK holds it).
    this.reader = createRedis(redisUrl, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
    this.reader.on('error', onError);
  }

  /**
   * Once per provider event: a retried job (its earlier append, or its completion, lost in a Redis
   * outage; or the append re-sent by ioredis after a reconnect) must not publish the event again.
   * The marker and the entry are written by one script, so neither exists without the other.
   */
  async append(change: Omit<PublishedChange, 'cursor'>): Promise<string> {
    const once = `${this.prefix}:published:${change.provider}:${change.connectionId}:${change.eventId}`;
    const args = [String(this.retained), JSON.stringify(change), String(this.onceTtlSeconds), String(trimBatch(this.retained))];
    const id = await this.writer.eval(APPEND_ONCE, 3, this.key, once, this.trimmedKey, ...args);
    return id as string;
  }

  async readAfter(cursor: string, limit: number): Promise<PublishedChange[]> {
    const entries = (await this.writer.xrange(this.key, `(${cursor}`, '+', 'COUNT', limit)) as Array<[string, string[]]>;
    return entries.map(parseEntry).filter((c): c is PublishedChange => c !== null);
  }

  async trimmedThrough(): Promise<string | null> {
    return this.writer.get(this.trimmedKey);
  }

  async remove(matches: (change: PublishedChange) => boolean): Promise<PublishedChange[]> {
    const removed: PublishedChange[] = [];
    let start = '-';
    for (;;) {
      const rows = (await this.writer.xrange(this.key, start, '+', 'COUNT', 500)) as Array<[string, string[]]>;
      const hits = rows.map(parseEntry).filter((c): c is PublishedChange => c !== null && matches(c));
      if (hits.length) await this.writer.xdel(this.key, ...hits.map((c) => c.cursor));
      removed.push(...hits);
      if (rows.length < 500) return removed;
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }

  async headCursor(): Promise<string> {
    const last = (await this.writer.xrevrange(this.key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last[0]?.[0] ?? '0-0';
  }

  /** Starts tailing at once, so a change appended after start() is never missed by listeners. */
  start(): void {
    this.tail ??= this.tailLoop();
  }

  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    this.start();
    return () => this.listeners.delete(listener);
  }

  private async tailLoop(): Promise<void> {
    // Start from the current end; the position is then carried forward, so nothing between two
    // reads is missed (unlike re-reading from "$").
    let last: string | null = null;
    while (this.running && last === null) {
      try {
        last = await this.headCursor();
      } catch (err) {
        this.onError(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    while (this.running) {
      try {
        const res = (await this.reader.xread('COUNT', 500, 'BLOCK', 2_000, 'STREAMS', this.key, last as string)) as Array<
          [string, Array<[string, string[]]>]
        > | null;
        if (!res) continue;
        let slice = performance.now();
        for (const [, entries] of res) {
          for (const entry of entries) {
            last = entry[0];
            const change = parseEntry(entry);
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
    this.reader.disconnect();
    if (this.tail) await bounded(this.tail, 2_000);
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

  async readAfter(cursor: string, limit: number): Promise<PublishedChange[]> {
    return this.entries.filter((e) => compareCursors(e.cursor, cursor) > 0).slice(0, limit);
  }

  async trimmedThrough(): Promise<string | null> {
    return this.trimmed;
  }

  async remove(matches: (change: PublishedChange) => boolean): Promise<PublishedChange[]> {
    const removed = this.entries.filter(matches);
    this.entries = this.entries.filter((e) => !matches(e));
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
