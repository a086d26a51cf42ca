// A provider's daily allocation as its answers report it (manifest rateLimits.dailyAllocation: a
// header and a pattern with the groups `used` and `limit`, e.g. Salesforce's org-wide
// `api-usage=10018/100000`). The allocation belongs to the provider account and is shared with
// every other integration there, so the gate stops this connection once the reported usage
// reaches its share of the limit (default 0.8), leaving the rest to the account's other clients
// instead of running it dry. The last report is shared by every replica through Redis; between
// reports each replica counts what it sent itself.
import type { RedisClient } from '../util/redis.ts';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import { withDeadline } from '../util/bounded.ts';

/** The fraction of the reported allocation a connection may use when neither the manifest nor the connection names one. */
export const DEFAULT_DAILY_SHARE = 0.8;
/** How long a replica trusts its copy of the shared report before reading Redis again. */
const SHARED_REFRESH_MS = 1_000;
/** A report older than a day says nothing about today's usage. */
const REPORT_TTL_MS = 86_400_000;

export interface DailyAllocationSpec {
  /** Lower-case response header. */
  header: string;
  /** Regular expression with the named groups `used` and `limit`. */
  pattern: string;
  /** Fraction (0, 1] of the limit this connection may let the usage reach. */
  share?: number | undefined;
}

export interface AllocationReport {
  used: number;
  limit: number;
  /** When it was read (ms since epoch). */
  at: number;
}

/** Reads one answer's report; null when the header is absent or does not match. */
export function readAllocation(headers: Headers, spec: Pick<DailyAllocationSpec, 'header' | 'pattern'>, now = Date.now()): AllocationReport | null {
  const value = headers.get(spec.header);
  if (!value) return null;
  const groups = new RegExp(spec.pattern).exec(value)?.groups;
  const used = Number(groups?.['used']);
  const limit = Number(groups?.['limit']);
  if (!Number.isSafeInteger(used) || !Number.isSafeInteger(limit) || limit <= 0 || used < 0) return null;
  return { used, limit, at: now };
}

/** Where reports are kept: this process only, or Redis for every replica. */
export interface AllocationStore {
  load(): Promise<AllocationReport | null>;
  save(report: AllocationReport): Promise<void>;
}

export class LocalAllocationStore implements AllocationStore {
  private report: AllocationReport | null = null;
  async load(): Promise<AllocationReport | null> {
    return this.report;
  }
  async save(report: AllocationReport): Promise<void> {
    if (!this.report || report.at >= this.report.at) this.report = report;
  }
}

// Keeps the newer report: replicas answering at the same time cannot move usage backwards.
// KEYS[1]; ARGV: used, limit, at, ttl ms.
const SAVE_NEWER = `
local current = redis.call('HGET', KEYS[1], 'at')
if current and tonumber(current) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'used', ARGV[1], 'limit', ARGV[2], 'at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

export class RedisAllocationStore implements AllocationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly timeoutMs: number,
  ) {}

  async load(): Promise<AllocationReport | null> {
    const h = await withDeadline(this.redis.hgetall(this.key), this.timeoutMs, 'the shared daily allocation');
    const used = Number(h['used']);
    const limit = Number(h['limit']);
    const at = Number(h['at']);
    return Number.isFinite(used) && Number.isFinite(limit) && Number.isFinite(at) && h['at'] !== undefined ? { used, limit, at } : null;
  }

  async save(report: AllocationReport): Promise<void> {
    await withDeadline(
      this.redis.eval(SAVE_NEWER, 1, this.key, String(report.used), String(report.limit), String(report.at), String(REPORT_TTL_MS)) as Promise<unknown>,
      this.timeoutMs,
      'the shared daily allocation',
    );
  }
}

/**
 * The gate: `check()` before each request refuses once the usage (last report + what this replica
 * sent since) reaches share × limit; `observe()` after each answer records the provider's report.
 * Without any report yet, requests pass: the first answer tells.
 */
export class DailyAllocationGate {
  private known: AllocationReport | null = null;
  private readAt = 0;
  /** Requests this replica sent since the report it knows. */
  private sentSince = 0;
  readonly share: number;

  constructor(
    private readonly spec: DailyAllocationSpec,
    private readonly store: AllocationStore,
    private readonly now: () => number = Date.now,
  ) {
    this.share = spec.share ?? DEFAULT_DAILY_SHARE;
  }

  /** The usage this gate believes in now, and the ceiling it enforces. */
  async state(): Promise<{ used: number; limit: number; ceiling: number } | null> {
    await this.refresh();
    if (!this.known) return null;
    return { used: this.known.used + this.sentSince, limit: this.known.limit, ceiling: Math.floor(this.known.limit * this.share) };
  }

  async check(): Promise<void> {
    const state = await this.state();
    if (state && state.used >= state.ceiling) {
      throw new ConnectorError(
        'UPSTREAM_RATE_LIMITED',
        `the provider account has used ${state.used} of its ${state.limit} daily API requests; this connection stops at ${Math.round(this.share * 100)} % (${state.ceiling}) to leave the rest to the account's other integrations`,
        // The allocation rolls over 24 h: retrying within a request cannot help.
        { retryable: false, retryAfterMs: 60 * 60_000 },
      );
    }
    this.sentSince += 1;
  }

  observe(headers: Headers): void {
    const report = readAllocation(headers, this.spec, this.now());
    if (!report) return;
    if (!this.known || report.at >= this.known.at) {
      this.known = report;
      this.sentSince = 0;
      this.readAt = this.now();
    }
    void this.store.save(report).catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    if (this.now() - this.readAt < SHARED_REFRESH_MS) return;
    this.readAt = this.now();
    let shared: AllocationReport | null = null;
    try {
      shared = await this.store.load();
    } catch {
      return; // Redis away: keep what this replica knows
    }
    if (shared && (!this.known || shared.at > this.known.at)) {
      this.known = shared;
      this.sentSince = 0;
    }
  }
}
