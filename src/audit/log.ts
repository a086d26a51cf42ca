// The audit trail of each tenant: who changed what in its setup, and when. Connections created,
// connected, reconnected, disconnected, enabled/disabled or turned NEEDS_REAUTH; API keys created
// and revoked; dead-letter replays; personal data exported or purged; contacts manually linked to or
// unlinked from a person. Each entry names the actor
// (`key:<key id>`, `jwt:<subject>`, `system`), the request id, the outcome and the target id —
// never a secret: details pass through redactDeep, and nothing that holds credentials is ever
// handed to record() (test/audit.test.ts scans the stream for every secret of a flow).
//
// Storage: one Redis stream per tenant, `<prefix>:audit:<tenantId>`, written only with XADD
// (append-only: no API edits or deletes an entry) and trimmed by age (MINID ~, the retention in
// days) on every append, so the trail keeps its window without a sweeper. Stream ids are the
// cursors: they sort by time, and every replica appends to the same stream. Without Redis the
// trail is kept in process (the embedded default), with the same contract.
import type { RedisClient } from '../util/redis.ts';
import { redactDeep } from '../util/redact.ts';

export const AUDIT_ACTIONS = [
  'connection.created',
  'connection.connected',
  'connection.reconnected',
  'connection.disconnected',
  'connection.enabled',
  'connection.disabled',
  'connection.status',
  'connection.purged',
  'apiKey.created',
  'apiKey.revoked',
  'deadLetter.replayed',
  'person.exported',
  'person.purged',
  'person.linked',
  'person.unlinked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  /** Stream id: the cursor, ordered by time. */
  id: string;
  /** ISO 8601. */
  at: string;
  tenantId: string;
  action: AuditAction;
  /** `key:<key id>`, `jwt:<subject>`, `system`, `cli`. */
  actor: string;
  requestId: string | null;
  outcome: 'success' | 'failure';
  /** The connection, key or dead-letter id the action concerns. */
  target: string | null;
  /** Non-secret particulars (provider, scopes, reason, counts). */
  detail: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'detail' | 'requestId'> & { requestId?: string | null; detail?: Record<string, unknown> };

export interface AuditFilter {
  actions?: readonly AuditAction[];
  actor?: string;
  target?: string;
  /** Entries at or after this time (ISO 8601). */
  since?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `after` for the next (older) page; null when there is none. */
  endCursor: string | null;
}

export interface AuditLog {
  record(entry: AuditInput): Promise<void>;
  /** Newest first; `after` is an entry id (exclusive). */
  list(tenantId: string, options: { first: number; after?: string | null; filter?: AuditFilter }): Promise<AuditPage>;
  /** Every retained entry of the tenant, oldest first (the CLI export). */
  export(tenantId: string): AsyncIterable<AuditEntry>;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const READ_BATCH = 200;

/** A cursor from a client: a stream id, or a BAD_USER_INPUT-worthy error. */
export function checkCursor(after: string | null | undefined): string | null {
  if (after === null || after === undefined) return null;
  if (!STREAM_ID.test(after)) throw new AuditInputError('after must be an audit entry id from a previous page (e.g. "1733500000000-0")');
  return after;
}

export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
}

function matches(e: AuditEntry, f: AuditFilter | undefined): boolean {
  if (!f) return true;
  if (f.actions?.length && !f.actions.includes(e.action)) return false;
  if (f.actor && e.actor !== f.actor) return false;
  if (f.target && e.target !== f.target) return false;
  if (f.since && e.at < f.since) return false;
  return true;
}

function toStored(entry: AuditInput, at: string): string {
  const { tenantId, action, actor, outcome, target } = entry;
  return JSON.stringify({ at, tenantId, action, actor, requestId: entry.requestId ?? null, outcome, target, detail: redactDeep(entry.detail ?? {}) });
}

function fromStored(id: string, json: string): AuditEntry | null {
  try {
    const v = JSON.parse(json) as Omit<AuditEntry, 'id'>;
    return { id, ...v };
  } catch {
    return null;
  }
}

/** Needs Redis 6.2+ (MINID trimming, exclusive "(id" range ends). */
export class RedisAuditLog implements AuditLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly retentionDays: () => number,
  ) {}

  private key(tenantId: string): string {
    return `${this.prefix}:audit:${tenantId}`;
  }

  async record(entry: AuditInput): Promise<void> {
    const now = Date.now();
    const minId = `${now - this.retentionDays() * 86_400_000}-0`;
    await this.redis.xadd(this.key(entry.tenantId), 'MINID', '~', minId, '*', 'e', toStored(entry, new Date(now).toISOString()));
  }

  async list(tenantId: string, options: { first: number; after?: string | null; filter?: AuditFilter }): Promise<AuditPage> {
    const entries: AuditEntry[] = [];
    let end = options.after ? `(${checkCursor(options.after)}` : '+';
    // Filtering happens here, so read in batches until the page is full or the stream ends.
    for (;;) {
      const rows = (await this.redis.xrevrange(this.key(tenantId), end, '-', 'COUNT', READ_BATCH)) as Array<[string, string[]]>;
      for (const [id, fields] of rows) {
        const e = fromStored(id, fields[1] ?? '');
        if (e && matches(e, options.filter)) entries.push(e);
        if (entries.length > options.first) return { entries: entries.slice(0, options.first), endCursor: entries[options.first - 1]!.id };
      }
      if (rows.length < READ_BATCH) return { entries, endCursor: null };
      end = `(${rows[rows.length - 1]![0]}`;
    }
  }

  async *export(tenantId: string): AsyncIterable<AuditEntry> {
    let start = '-';
    for (;;) {
      const rows = (await this.redis.xrange(this.key(tenantId), start, '+', 'COUNT', READ_BATCH)) as Array<[string, string[]]>;
      for (const [id, fields] of rows) {
        const e = fromStored(id, fields[1] ?? '');
        if (e) yield e;
      }
      if (rows.length < READ_BATCH) return;
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }
}

export class MemoryAuditLog implements AuditLog {
  private readonly byTenant = new Map<string, AuditEntry[]>();
  private seq = 0;
  private lastMs = 0;

  constructor(private readonly retentionDays: () => number) {}

  async record(entry: AuditInput): Promise<void> {
    const now = Date.now();
    this.seq = now === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = now;
    const stored = fromStored(`${now}-${this.seq}`, toStored(entry, new Date(now).toISOString()))!;
    const list = (this.byTenant.get(entry.tenantId) ?? []).filter((e) => Number(e.id.split('-')[0]) >= now - this.retentionDays() * 86_400_000);
    list.push(stored);
    this.byTenant.set(entry.tenantId, list);
  }

  async list(tenantId: string, options: { first: number; after?: string | null; filter?: AuditFilter }): Promise<AuditPage> {
    const after = checkCursor(options.after);
    const older = (id: string) => {
      if (!after) return true;
      const [a, b] = id.split('-').map(Number) as [number, number];
      const [c, d] = after.split('-').map(Number) as [number, number];
      return a < c || (a === c && b < d);
    };
    const all = [...(this.byTenant.get(tenantId) ?? [])].reverse().filter((e) => older(e.id) && matches(e, options.filter));
    const entries = all.slice(0, options.first);
    return { entries, endCursor: all.length > options.first ? entries[entries.length - 1]!.id : null };
  }

  async *export(tenantId: string): AsyncIterable<AuditEntry> {
    yield* this.byTenant.get(tenantId) ?? [];
  }
}
