// Small Redis-backed stores of the event pipeline (with in-memory twins for the embedded default):
// the last published version of each record (out-of-order protection) and the dead letters.
import { withScripts, type RedisClient } from '../util/redis.ts';
import { compareCursors, type QueuedChange } from './model.ts';

/**
 * Remembers the newest version published per record, with a fingerprint of what was published:
 * refuses older versions, and a change identical to the one already published at the same version
 * (Stripe sends `invoice.paid` and `invoice.payment_succeeded` for one payment, in the same second,
 * with the same invoice). A change with the same version but other content is published, unless it
 * arrived before the change already published at that version: two updates within one second share
 * Stripe's version, workers process them in parallel, and without that tiebreak the one processed
 * last (possibly the older) would be what subscribers and the cache end on.
 * The event that set the version is remembered too: when that same event comes back (its worker
 * died, or the change-log append failed, after the version was set) it is 'newer' again, so it is
 * still published (the change log's append-once makes a second publication of it a no-op).
 */
export interface VersionStore {
  /** `arrival`: the change's place in its connection's arrival order (QueuedChange.arrival), when known. */
  advance(key: string, version: number, fingerprint: string, eventId: string, arrival?: string): Promise<VersionVerdict>;
}

export type VersionVerdict = 'newer' | 'duplicate' | 'stale';

// Atomic compare-and-set: concurrent workers on several replicas cannot both win with the older
// one. The value is "<version>[@<arrival>]:<fingerprint>:<event id>" (values written before
// arrivals were kept have no "@…"; older ones still lack the event id).
const ADVANCE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':', 1, true)
  local head = sep and string.sub(current, 1, sep - 1) or current
  local at = string.find(head, '@', 1, true)
  local version = tonumber(at and string.sub(head, 1, at - 1) or head)
  if version > tonumber(ARGV[1]) then return 0 end
  if version == tonumber(ARGV[1]) and sep then
    local rest = string.sub(current, sep + 1)
    local sep2 = string.find(rest, ':', 1, true)
    local fingerprint = sep2 and string.sub(rest, 1, sep2 - 1) or rest
    if fingerprint == ARGV[3] then
      if sep2 and string.sub(rest, sep2 + 1) == ARGV[4] then return 1 end
      return 2
    end
    if at and ARGV[5] ~= '' then
      local stored = string.sub(head, at + 1)
      local d1 = string.find(stored, '-', 1, true)
      local d2 = string.find(ARGV[5], '-', 1, true)
      local sms, sseq = tonumber(string.sub(stored, 1, d1 - 1)), tonumber(string.sub(stored, d1 + 1))
      local ams, aseq = tonumber(string.sub(ARGV[5], 1, d2 - 1)), tonumber(string.sub(ARGV[5], d2 + 1))
      if ams < sms or (ams == sms and aseq < sseq) then return 0 end
    end
  end
end
local head = ARGV[1]
if ARGV[5] ~= '' then head = head .. '@' .. ARGV[5] end
redis.call('SET', KEYS[1], head .. ':' .. ARGV[3] .. ':' .. ARGV[4], 'EX', ARGV[2])
return 1`;

const VERDICTS: Record<number, VersionVerdict> = { 0: 'stale', 1: 'newer', 2: 'duplicate' };
const ARRIVAL = /^\d{1,20}-\d{1,20}$/;
/** The arrival when it has the shape both stores compare ("<ms>-<seq>", no cursor layout prefix). */
const validArrival = (arrival: string | undefined): string | undefined => (arrival !== undefined && ARRIVAL.test(arrival) ? arrival : undefined);

type AdvanceCommand = { sbVersionAdvance(key: string, ...args: string[]): Promise<number> };

export class RedisVersionStore implements VersionStore {
  private readonly redis: RedisClient & AdvanceCommand;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    // By its SHA: the ~1.2 KB script is not written and hashed again for every change.
    this.redis = withScripts<AdvanceCommand>(redis, { sbVersionAdvance: { lua: ADVANCE_SCRIPT, numberOfKeys: 1 } });
  }

  async advance(key: string, version: number, fingerprint: string, eventId: string, arrival?: string): Promise<VersionVerdict> {
    const at = validArrival(arrival) ?? '';
    const res = await this.redis.sbVersionAdvance(`${this.prefix}:version:${key}`, String(version), String(this.ttlSeconds), fingerprint, eventId, at);
    return VERDICTS[res] ?? 'stale';
  }
}

export class MemoryVersionStore implements VersionStore {
  private readonly versions = new Map<string, { version: number; fingerprint: string; eventId: string; arrival?: string }>();
  async advance(key: string, version: number, fingerprint: string, eventId: string, arrival?: string): Promise<VersionVerdict> {
    const at = validArrival(arrival);
    const current = this.versions.get(key);
    if (current && current.version > version) return 'stale';
    if (current && current.version === version) {
      if (current.fingerprint === fingerprint) return current.eventId === eventId ? 'newer' : 'duplicate';
      if (current.arrival !== undefined && at !== undefined && compareCursors(at, current.arrival) < 0) return 'stale';
    }
    this.versions.set(key, { version, fingerprint, eventId, ...(at !== undefined && { arrival: at }) });
    return 'newer';
  }
}

export interface DeadLetterRecord {
  id: string;
  tenantId: string;
  connectionId: string;
  provider: string;
  entity: string;
  eventId: string;
  remoteId: string;
  error: string;
  attempts: number;
  failedAt: string;
  item: QueuedChange;
}

/** Parent of DeadLetterConnection. */
export interface DeadLetterPage {
  letters: DeadLetterRecord[];
  hasNextPage: boolean;
}
export interface DeadLetterRecordEdge {
  cursor: string;
  node: DeadLetterRecord;
}

export interface DeadLetterStore {
  add(item: QueuedChange, error: string, attempts: number): Promise<void>;
  /** Newest first; `after` is the id of the last letter of the previous page. */
  list(tenantId: string, first: number, after: string | null): Promise<{ letters: DeadLetterRecord[]; hasNextPage: boolean }>;
  /** Removes and returns one letter of this tenant (null if none with that id). */
  take(tenantId: string, id: string): Promise<DeadLetterRecord | null>;
}

function letterOf(id: string, item: QueuedChange, error: string, attempts: number, failedAt: string): DeadLetterRecord {
  return {
    id,
    tenantId: item.tenantId,
    connectionId: item.connectionId,
    provider: item.provider,
    entity: item.change.entity,
    eventId: item.change.eventId,
    remoteId: item.change.remoteId,
    error,
    attempts,
    failedAt,
    item,
  };
}

export class RedisDeadLetterStore implements DeadLetterStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(tenantId: string): string {
    return `${this.prefix}:dead-letters:${encodeURIComponent(tenantId)}`;
  }

  async add(item: QueuedChange, error: string, attempts: number): Promise<void> {
    await this.redis.xadd(this.key(item.tenantId), '*', 'd', JSON.stringify({ item, error, attempts, failedAt: new Date().toISOString() }));
  }

  private parse([id, fields]: [string, string[]]): DeadLetterRecord | null {
    try {
      const d = JSON.parse(fields[fields.indexOf('d') + 1] as string) as { item: QueuedChange; error: string; attempts: number; failedAt: string };
      return letterOf(id, d.item, d.error, d.attempts, d.failedAt);
    } catch {
      return null;
    }
  }

  async list(tenantId: string, first: number, after: string | null): Promise<{ letters: DeadLetterRecord[]; hasNextPage: boolean }> {
    const entries = (await this.redis.xrevrange(this.key(tenantId), after ? `(${after}` : '+', '-', 'COUNT', first + 1)) as Array<[string, string[]]>;
    const letters = entries
      .slice(0, first)
      .map((e) => this.parse(e))
      .filter((l): l is DeadLetterRecord => l !== null);
    return { letters, hasNextPage: entries.length > first };
  }

  async take(tenantId: string, id: string): Promise<DeadLetterRecord | null> {
    const entries = (await this.redis.xrange(this.key(tenantId), id, id)) as Array<[string, string[]]>;
    const letter = entries[0] ? this.parse(entries[0]) : null;
    if (!letter) return null;
    const removed = await this.redis.xdel(this.key(tenantId), id);
    return removed === 1 ? letter : null; // another replica replayed it first
  }
}

export class MemoryDeadLetterStore implements DeadLetterStore {
  private readonly byTenant = new Map<string, DeadLetterRecord[]>();
  private seq = 0;

  async add(item: QueuedChange, error: string, attempts: number): Promise<void> {
    const list = this.byTenant.get(item.tenantId) ?? [];
    list.push(letterOf(`0-${++this.seq}`, item, error, attempts, new Date().toISOString()));
    this.byTenant.set(item.tenantId, list);
  }

  async list(tenantId: string, first: number, after: string | null): Promise<{ letters: DeadLetterRecord[]; hasNextPage: boolean }> {
    const newestFirst = [...(this.byTenant.get(tenantId) ?? [])].reverse();
    const start = after ? newestFirst.findIndex((l) => l.id === after) + 1 : 0;
    const page = newestFirst.slice(start, start + first);
    return { letters: page, hasNextPage: start + first < newestFirst.length };
  }

  async take(tenantId: string, id: string): Promise<DeadLetterRecord | null> {
    const list = this.byTenant.get(tenantId) ?? [];
    const i = list.findIndex((l) => l.id === id);
    if (i < 0) return null;
    return list.splice(i, 1)[0] ?? null;
  }
}
