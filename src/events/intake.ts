// The intake stream: where a verified webhook's changes are written before the 2xx, on Redis.
// Writing a BullMQ job per change at intake cost the intake process most of its CPU (job building,
// option validation, msgpack, one Lua script per job: docs/benchmarks.md, "Intake stream"), so the
// route appends to Redis Streams instead and the workers' process moves the entries into BullMQ
// (which keeps retries with backoff, dead letters and stalled-job recovery).
//
// Layout: `shards` streams "{<prefix>:intake:<i>}", a connection's changes always in the same one
// (FNV-1a of the connection id), each stream its own hash slot so a Redis Cluster spreads them.
// Beside each stream, in its slot, one dedupe marker per provider event ("{…}:seen:<dedupe id>",
// SET NX EX): the marker and the entry are written by one script, so an event is either recorded
// and queued, or neither. One script call carries every change of one event-loop turn for that
// shard (many webhooks, one round trip).
//
// Moving: each workers' process reads every shard in the consumer group "movers" (XREADGROUP),
// adds the changes to BullMQ in one addBulk per read, then acknowledges and deletes the entries
// (XACK + XDEL in one script). Entries read by a mover that died before acknowledging them stay
// pending in the group; every mover reclaims entries pending longer than `claimIdleMs` (XAUTOCLAIM)
// and moves them. A change moved twice that way (the mover died between addBulk and the ack) is a
// duplicate for BullMQ's deduplication id, which the mover still sets (for `moveDedupeSeconds`).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createRedis, hashTag, withScripts, type RedisClient } from '../util/redis.ts';
import { shardOf } from './change-log.ts';
import { dedupeId, type QueuedChange } from './model.ts';

export const INTAKE_GROUP = 'movers';
/** Entries one read (or one reclaim) takes at most, and so the size of one addBulk. */
const MOVE_BATCH = 256;

/** The stream key of every intake shard: "{<prefix>:intake:<i>}". */
export function intakeStreams(prefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, i) => hashTag(`${prefix}:intake:${i}`));
}

// KEYS[1]: the shard's stream; KEYS[2..n+1]: each change's dedupe marker. ARGV[1]: the markers'
// TTL (seconds); ARGV[2..n+1]: each change (JSON), in the order of the markers; ARGV[n+2..2n+1]:
// each change's provider body still to be mapped (QueuedChange.body), or "" for none: a field of
// its own ("b"), so the body is stored as received, not escaped inside the JSON. A change whose
// marker exists (a provider's retry, or the same event twice in one batch) is skipped. The entry is
// written before its marker: Redis does not roll a script back, so a write failing half-way leaves
// at worst an entry without its marker (a retry is then queued again, and publishing is once per
// event anyway), never a marker without its entry (which would drop the provider's retry as a
// duplicate).
const APPEND_SCRIPT = `
local n = #KEYS - 1
local added = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local body = ARGV[i + n]
    if body == '' then
      redis.call('XADD', KEYS[1], '*', 'd', ARGV[i])
    else
      redis.call('XADD', KEYS[1], '*', 'd', ARGV[i], 'b', body)
    end
    redis.call('SET', KEYS[i], '1', 'EX', ARGV[1])
    added = added + 1
  end
end
return added`;

// KEYS[1]: a shard's stream. ARGV: the group, then the ids moved into BullMQ.
const DONE_SCRIPT = `
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
return redis.call('XDEL', KEYS[1], unpack(ids))`;

// KEYS[1]: a shard's stream. ARGV[1]: the group; ARGV[2]: idle ms. Removes consumers (movers that
// are gone) with nothing pending and idle longer than ARGV[2]; XGROUP DELCONSUMER on a consumer with
// pending entries would drop them from the group, so those are left for XAUTOCLAIM.
const SWEEP_SCRIPT = `
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if tonumber(f['pending']) == 0 and tonumber(f['idle']) > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed`;

type IntakeCommands = {
  sbIntakeAppend(numKeys: number, ...args: Array<string | Buffer>): Promise<number>;
  sbIntakeDone(stream: string, group: string, ...ids: string[]): Promise<number>;
  sbIntakeSweep(stream: string, group: string, idleMs: number): Promise<number>;
};

const intakeScripts = (redis: RedisClient) =>
  withScripts<IntakeCommands>(redis, {
    sbIntakeAppend: { lua: APPEND_SCRIPT },
    sbIntakeDone: { lua: DONE_SCRIPT, numberOfKeys: 1 },
    sbIntakeSweep: { lua: SWEEP_SCRIPT, numberOfKeys: 1 },
  });

/** The route's side: appends changes (deduplicated) to their connection's shard. */
export class IntakeWriter {
  private readonly redis: RedisClient & IntakeCommands;
  readonly streams: string[];

  constructor(
    redis: RedisClient,
    prefix: string,
    shards: number,
    private readonly dedupeTtlSeconds: number,
  ) {
    this.redis = intakeScripts(redis);
    this.streams = intakeStreams(prefix, shards);
  }

  /** The stream a connection's changes go to. */
  streamOf(connectionId: string): string {
    return this.streams[shardOf(connectionId, this.streams.length)] as string;
  }

  /**
   * Appends every change not seen within the dedupe TTL; resolves with how many were new. One
   * script call per shard the changes fall into; each call is all-or-nothing.
   */
  async append(items: QueuedChange[]): Promise<number> {
    await this.connected();
    const byStream = new Map<string, { markers: string[]; payloads: string[]; bodies: Array<string | Buffer> }>();
    for (const item of items) {
      const stream = this.streamOf(item.connectionId);
      let group = byStream.get(stream);
      if (!group) byStream.set(stream, (group = { markers: [], payloads: [], bodies: [] }));
      group.markers.push(`${stream}:seen:${dedupeId(item)}`);
      if (item.body === undefined) {
        group.payloads.push(JSON.stringify(item));
        group.bodies.push('');
      } else {
        const { body, ...rest } = item;
        group.payloads.push(JSON.stringify(rest));
        group.bodies.push(body);
      }
    }
    const ttl = String(this.dedupeTtlSeconds);
    const added = await Promise.all(
      [...byStream].map(([stream, g]) => this.redis.sbIntakeAppend(1 + g.markers.length, stream, ...g.markers, ttl, ...g.payloads, ...g.bodies)),
    );
    return added.reduce((a, b) => a + b, 0);
  }

  /**
   * The writer has no offline queue (an outage must answer 503 at once), so the first writes after
   * start wait for the connection being made; a connection lost since fails now.
   */
  private async connected(): Promise<void> {
    const status = this.redis.status;
    if (status === 'ready') return;
    if (status !== 'wait' && status !== 'connecting' && status !== 'connect') throw new Error(`Redis is not connected (${status})`);
    if (status === 'wait') void this.redis.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const done = (err?: unknown) => {
        this.redis.off('ready', onReady);
        this.redis.off('end', onEnd);
        this.redis.off('reconnecting', onEnd);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new Error('Redis connection failed'));
      this.redis.once('ready', onReady);
      this.redis.once('end', onEnd);
      this.redis.once('reconnecting', onEnd);
    });
  }

  /** Entries not yet moved (read or not) and the oldest one's age, over every shard. */
  async backlog(): Promise<{ entries: number; oldestAgeSeconds: number }> {
    const per = await Promise.all(
      this.streams.map(async (s) => {
        const [length, first] = await Promise.all([this.redis.xlen(s), this.redis.xrange(s, '-', '+', 'COUNT', 1)]);
        const id = first[0]?.[0];
        return { length, oldestMs: id ? Number(id.slice(0, id.indexOf('-'))) : null };
      }),
    );
    const oldest = Math.min(...per.map((p) => p.oldestMs ?? Infinity));
    return {
      entries: per.reduce((a, p) => a + p.length, 0),
      oldestAgeSeconds: Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0,
    };
  }
}

export interface MoverSettings {
  /** An entry pending this long in a mover that took it is reclaimed by another (or the same) mover. */
  claimIdleMs: number;
  /** How often each mover looks for such entries (and for departed movers to forget). */
  claimEveryMs: number;
  /** Longest wait of one blocking read (bounds how long stop() may wait for a reader). */
  blockMs: number;
}

export const DEFAULT_MOVER_SETTINGS: MoverSettings = { claimIdleMs: 15_000, claimEveryMs: 5_000, blockMs: 2_000 };

/** Consumers idle this long with nothing pending are removed from the group (movers that are gone). */
const FORGET_CONSUMER_MS = 3_600_000;

/**
 * The workers' side: reads every shard in the consumer group and hands the changes to `move`
 * (BullMQ's addBulk); entries are acknowledged and deleted only after `move` resolved.
 */
export class IntakeMover {
  readonly consumer = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly writer: RedisClient & IntakeCommands;
  private readonly readers: RedisClient[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private claimTimer: NodeJS.Timeout | null = null;
  private claiming: Promise<void> | null = null;
  /** Moves in progress (a stop waits for them, so what was moved gets acknowledged). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly redisUrl: string,
    private readonly streams: string[],
    private readonly move: (items: QueuedChange[]) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly settings: MoverSettings = DEFAULT_MOVER_SETTINGS,
  ) {
    this.writer = intakeScripts(createRedis(redisUrl, { maxRetriesPerRequest: null }));
    this.writer.on('error', onError);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.streams.map((stream) => this.readLoop(stream));
    this.claimTimer = setInterval(() => {
      this.claiming ??= this.reclaimAll().finally(() => (this.claiming = null));
    }, this.settings.claimEveryMs);
    this.claimTimer.unref();
  }

  private async ensureGroup(stream: string): Promise<void> {
    try {
      // From the stream's start: entries written before any mover existed are moved too.
      await this.writer.xgroup('CREATE', stream, INTAKE_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test(String(err))) throw err;
    }
  }

  private async readLoop(stream: string): Promise<void> {
    // Each blocking reader gets its own connection (XREADGROUP BLOCK holds it).
    const reader = createRedis(this.redisUrl, { maxRetriesPerRequest: null });
    reader.on('error', this.onError);
    this.readers.push(reader);
    let grouped = false;
    while (this.running) {
      try {
        if (!grouped) {
          await this.ensureGroup(stream);
          grouped = true;
        }
        const res = (await reader.xreadgroup(
          'GROUP',
          INTAKE_GROUP,
          this.consumer,
          'COUNT',
          MOVE_BATCH,
          'BLOCK',
          this.settings.blockMs,
          'STREAMS',
          stream,
          '>',
        )) as Array<[string, Array<[string, string[]]>]> | null;
        const entries = res?.[0]?.[1] ?? [];
        // Moved even when a stop began meanwhile: these entries are this consumer's now.
        if (entries.length) await this.track(this.moveEntries(stream, entries));
      } catch (err) {
        if (!this.running) break;
        // NOGROUP: the stream (and its group) was deleted; create them again.
        if (/NOGROUP/.test(String(err))) grouped = false;
        this.onError(err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  /** Moves entries into BullMQ, then acknowledges and deletes them. On failure they stay pending (reclaimed later). */
  private async moveEntries(stream: string, entries: Array<[string, string[] | null]>): Promise<void> {
    const items: QueuedChange[] = [];
    const ids: string[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      const json = fields?.[fields.indexOf('d') + 1];
      const b = fields ? fields.indexOf('b') : -1;
      try {
        if (json) {
          const item = JSON.parse(json) as QueuedChange;
          if (b >= 0) item.body = fields![b + 1];
          item.arrival = id;
          items.push(item);
        }
      } catch {
        // Written by this module as JSON: unreadable means damaged; dropped, said loudly.
        this.onError(new Error(`intake entry ${stream} ${id} is not readable JSON; dropped`));
      }
    }
    if (items.length) await this.move(items);
    await this.writer.sbIntakeDone(stream, INTAKE_GROUP, ...ids);
  }

  /** Takes over entries pending longer than claimIdleMs in any consumer (a mover that died), and forgets departed movers. */
  private async reclaimAll(): Promise<void> {
    for (const stream of this.streams) {
      if (!this.running) return;
      try {
        let cursor = '0-0';
        do {
          const [next, entries] = (await this.writer.xautoclaim(
            stream,
            INTAKE_GROUP,
            this.consumer,
            this.settings.claimIdleMs,
            cursor,
            'COUNT',
            MOVE_BATCH,
          )) as [string, Array<[string, string[] | null]>];
          // Entries deleted meanwhile come back without fields: acknowledging them is all that is left.
          if (entries.length) await this.track(this.moveEntries(stream, entries));
          cursor = next;
        } while (cursor !== '0-0' && this.running);
        await this.writer.sbIntakeSweep(stream, INTAKE_GROUP, FORGET_CONSUMER_MS);
      } catch (err) {
        if (!/NOGROUP/.test(String(err))) this.onError(err);
      }
    }
  }

  /** Reclaims now (tests; a replica taking over at startup does the same on its first timer tick). */
  reclaimNow(): Promise<void> {
    return (this.claiming ??= this.reclaimAll().finally(() => (this.claiming = null)));
  }

  /**
   * Stops reading: blocking reads are cut, moves in progress finish, and entries a cut read was
   * handed are moved too (moveOwnPending), within `graceMs`; what is left then stays pending and
   * another mover reclaims it.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.claimTimer) clearInterval(this.claimTimer);
    for (const r of this.readers) r.disconnect();
    const settled = (async () => {
      await Promise.allSettled([...this.inFlight, ...this.loops, ...(this.claiming ? [this.claiming] : [])]);
      await this.moveOwnPending();
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /**
   * A blocking read cut by stop() may already have been handed entries that this consumer never
   * received: they sit pending under its name, and another mover would reclaim them only after
   * claimIdleMs. Read them back (id 0: this consumer's own pending entries) and move them now.
   */
  private async moveOwnPending(): Promise<void> {
    for (const stream of this.streams) {
      try {
        for (;;) {
          const res = (await this.writer.xreadgroup('GROUP', INTAKE_GROUP, this.consumer, 'COUNT', MOVE_BATCH, 'STREAMS', stream, '0')) as Array<
            [string, Array<[string, string[] | null]>]
          > | null;
          const entries = res?.[0]?.[1] ?? [];
          if (!entries.length) break;
          await this.moveEntries(stream, entries);
        }
      } catch (err) {
        // A failed move leaves the entries pending: another mover reclaims them.
        if (!/NOGROUP/.test(String(err))) this.onError(err);
      }
    }
  }

  close(): void {
    this.running = false;
    if (this.claimTimer) clearInterval(this.claimTimer);
    for (const r of this.readers) r.disconnect();
    this.writer.disconnect();
  }
}
