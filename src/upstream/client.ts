// The one way a connector reaches the network. Every request passes, in order: rate budget →
// circuit breaker → retry (idempotent only) → per-attempt timeout → transport (transport.ts).
// Retries live here and nowhere else, so a connector can never stack its own retry loop on top.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  circuitBreaker,
  handleWhen,
  handleWhenResult,
  retry,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { ConnectorError, parseRetryAfter } from '../../connectors/sdk/errors.ts';
import type { ConnectionInfo, ConnectorManifest, QueryValue, UpstreamFetch, UpstreamRequest, UpstreamResponse } from '../../connectors/sdk/types.ts';
import { DEFAULT_LIMITS } from '../config.ts';
import type { CallOutcome } from '../observability/health.ts';
import type { BreakerSnapshot, Metrics } from '../observability/metrics.ts';
import { TRACING_OFF, SpanKind, SpanStatusCode, type Tracing } from '../observability/tracing.ts';
import { CheckedDispatchers, refusedAddress, type ResolveHost } from './address-guard.ts';
import { sendWithinCost } from './cost-bucket.ts';
import { undiciTransport, type Transport, type TransportResponse } from './transport.ts';
import { LocalConcurrency, connectionWindows, localBudgets, type BudgetFactory, type ConnectionBudget } from './rate-budget.ts';
import type { Departures } from './departures.ts';

export interface UpstreamOptions {
  /** Longest one attempt may take. */
  attemptTimeoutMs: number;
  /** Attempts in total for an idempotent request (1 = no retry). */
  maxAttempts: number;
  /** First backoff delay; grows exponentially with full jitter up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failures (transport errors, timeouts, 5xx) that open a connection's breaker. */
  breakerThreshold: number;
  /** How long an open breaker rejects before letting one probe through. */
  breakerHalfOpenAfterMs: number;
  /** Largest response body read; default DEFAULT_LIMITS.upstreamMaxBodyBytes. */
  maxBodyBytes?: number;
}

/** The gateway's defaults (DEFAULT_LIMITS), for callers without a config (tests, the conformance suite). */
export const DEFAULT_UPSTREAM_OPTIONS: UpstreamOptions = {
  attemptTimeoutMs: DEFAULT_LIMITS.upstreamAttemptTimeoutMs,
  maxAttempts: DEFAULT_LIMITS.upstreamMaxAttempts,
  baseDelayMs: DEFAULT_LIMITS.upstreamBaseDelayMs,
  maxDelayMs: DEFAULT_LIMITS.upstreamMaxDelayMs,
  breakerThreshold: DEFAULT_LIMITS.breakerThreshold,
  breakerHalfOpenAfterMs: DEFAULT_LIMITS.breakerHalfOpenAfterMs,
};

export interface CallScope {
  manifest: ConnectorManifest;
  connection: ConnectionInfo;
  /** The caller's abort signal (client went away). */
  signal: AbortSignal;
  /** Absolute time (ms since epoch) by which the whole GraphQL request must be answered. */
  deadline: number;
  /** Overrides the manifest's documented limit (e.g. Stripe test-mode keys get 25 req/s). */
  rateLimit?: { requests: number; windowMs: number } | undefined;
  /** The connection's share of the provider's header-fed daily allocation (rateLimits.dailyAllocation), 0..1. */
  dailyAllocationShare?: number | undefined;
  /** The connection's credential: placed on every request that does not carry it, renewed once on a 401. */
  credential?: UpstreamCredential | undefined;
  /** Counts every attempt sent upstream for this caller (the request's actual cost in provider calls). */
  usage?: { upstreamCalls: number } | undefined;
  /** The caller's calls on their way out (departures.ts): each call is counted until it reaches the transport. */
  departures?: Pick<Departures, 'begin'> | undefined;
}

/** Where a connection's token comes from, and how to get a replacement when the provider refuses it. */
export interface UpstreamCredential {
  token(): Promise<string>;
  /**
   * The provider answered 401 to `rejected`: a replacement to re-send with once, or null when the
   * credential cannot be renewed (static keys); then the 401 stands.
   */
  renew(rejected: string): Promise<string | null>;
}

/** The header a token travels in, and its scheme (null: the bare token). */
export interface TokenPlacement {
  header: string;
  scheme: string | null;
}

export const BEARER_PLACEMENT: TokenPlacement = { header: 'authorization', scheme: 'Bearer' };

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Statuses that count as the provider being unhealthy (429 is the provider working as designed). */
const BREAKER_STATUS = new Set([500, 502, 503, 504]);

/** Observers of every upstream call (health, tracing); all optional. */
export interface UpstreamHooks {
  /** The final outcome of a call (after retries and credential renewal); not called when the caller went away. */
  outcome?(connection: ConnectionInfo, connector: string, outcome: CallOutcome): void;
  tracing?: Tracing;
  /** How a request with an addressCheck resolves host names; default the system resolver (tests answer for names of their own). */
  resolveHost?: ResolveHost;
}

/** Per call: what its span and the health record report. */
interface CallStats {
  retries: number;
  status: number | null;
  /** Tells the request's departures that this call left (its first attempt reached the transport) or failed before. */
  left?: (() => void) | undefined;
}

const STATE_NAMES: Record<CircuitState, BreakerSnapshot['state']> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

/** A provider's answer as health counts it: 401/403/429/5xx are failures of the connection; any other answer shows it works. */
function outcomeOfStatus(status: number, displayName: string): CallOutcome {
  const code =
    status === 401
      ? 'UPSTREAM_UNAUTHORIZED'
      : status === 403
        ? 'UPSTREAM_FORBIDDEN'
        : status === 429
          ? 'UPSTREAM_RATE_LIMITED'
          : status >= 500
            ? 'UPSTREAM_UNAVAILABLE'
            : null;
  return code ? { ok: false, code, message: `${displayName} answered HTTP ${status}` } : { ok: true };
}

class AttemptFailure extends Error {
  constructor(
    readonly error: ConnectorError,
    /** The caller went away (client closed the connection): says nothing about the provider's health. */
    readonly cancelled = false,
  ) {
    super(error.message);
  }
}

export function buildUrl(baseUrl: string, path: string, query?: Record<string, QueryValue>): string {
  const url = new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  if (query) appendParams(url.searchParams, query);
  return url.toString();
}

function appendParams(params: URLSearchParams, values: Record<string, QueryValue>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
}

/** A connection's breaker, when it last opened, and the distinct requests that failed since its last success. */
interface BreakerEntry {
  connector: string;
  policy: CircuitBreakerPolicy;
  openedAt: number;
  /** At most two request keys (method, path, query, body): two say the failures are not one record's. */
  failing: Set<string>;
}

/** What counts against a breaker: a transport failure or timeout (not a cancellation), or a 5xx answer. */
const breakerFailure = (e: unknown): boolean =>
  e instanceof AttemptFailure && !e.cancelled && ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT'].includes(e.error.code);
const breakerFailureStatus = (r: unknown): boolean => BREAKER_STATUS.has((r as UpstreamResponse).status);

export class UpstreamClient {
  private readonly breakers = new Map<string, BreakerEntry>();
  private readonly budgets = new Map<string, ConnectionBudget>();
  private readonly tracing: Tracing;
  /** Connection pools of requests that carry an addressCheck. */
  private readonly checked: CheckedDispatchers;

  constructor(
    private readonly metrics: Metrics | null,
    private readonly options: UpstreamOptions = DEFAULT_UPSTREAM_OPTIONS,
    /** The network; tests inject one to count or rewrite calls (and prove connectors use nothing else). */
    private readonly transport: Transport = undiciTransport(),
    /** Builds a connection's budget (shared across replicas when Redis is configured); default in-process. */
    private readonly budgetFactory: BudgetFactory = localBudgets,
    private readonly hooks: UpstreamHooks = {},
  ) {
    this.tracing = hooks.tracing ?? TRACING_OFF;
    this.checked = new CheckedDispatchers(hooks.resolveHost);
    if (metrics) metrics.probes.breakers = () => this.breakerStates();
  }

  /** Closes the connection pools of address-checked requests (at shutdown; idle sockets do not hold the process anyway). */
  close(): Promise<void> {
    return this.checked.close();
  }

  /** Every connection's breaker on this replica, read at scrape time. */
  breakerStates(): BreakerSnapshot[] {
    return [...this.breakers.values()].map(({ connector, policy }) => ({ connector, state: STATE_NAMES[policy.state] }));
  }

  /** How long until the connection's open breaker lets a trial call through (0: it would now), or null when it is not open. */
  circuitOpenFor(connectorId: string, connectionId: string): number | null {
    const entry = this.breakers.get(`${connectorId}:${connectionId}`);
    return entry ? this.openFor(entry) : null;
  }

  /**
   * An outage of the connection's provider, as far as this replica can tell: its breaker is open
   * and at least two different requests failed since the last success. One request failing on
   * its own, however often (a record the provider always answers 500 for), is that record's
   * problem and opens the breaker as well. Returns the time until the breaker lets a trial call
   * through (0: it would now), or null.
   */
  outageFor(connectorId: string, connectionId: string): number | null {
    const entry = this.breakers.get(`${connectorId}:${connectionId}`);
    return entry && entry.failing.size >= 2 ? this.openFor(entry) : null;
  }

  private openFor(entry: BreakerEntry): number | null {
    if (entry.policy.state !== CircuitState.Open) return null;
    return Math.max(0, this.options.breakerHalfOpenAfterMs - (Date.now() - entry.openedAt));
  }

  /**
   * The wrapped fetch handed to a connector for one connection within one request. At most
   * manifest.maxConcurrency of its calls are in flight at once; the rest wait their turn here.
   */
  forScope(scope: CallScope): UpstreamFetch {
    const fanOut = new LocalConcurrency(scope.manifest.maxConcurrency ?? 1);
    return async (request) => {
      const release = await fanOut.enter(scope.signal, scope.deadline);
      // Counted from here: a call waiting for the fan-out limit waits for another to finish, not to leave.
      const left = scope.departures?.begin();
      try {
        return await this.observed(scope, request, left);
      } finally {
        left?.();
        release();
      }
    };
  }

  /** One call as health and tracing see it: its final outcome, its span (provider, operation, status, retries). */
  private async observed(scope: CallScope, request: UpstreamRequest, left?: () => void): Promise<UpstreamResponse> {
    const connector = scope.manifest.id;
    const stats: CallStats = { retries: 0, status: null, left };
    const span = this.tracing.startSpan(
      `upstream ${connector} ${request.operation}`,
      { 'switchboard.provider': connector, 'switchboard.operation': request.operation, 'http.request.method': request.method ?? 'GET' },
      SpanKind.CLIENT,
    );
    let outcome: CallOutcome | null = null;
    try {
      const res = await this.send(scope, request, stats);
      outcome = outcomeOfStatus(res.status, scope.manifest.displayName);
      return res;
    } catch (err) {
      // A caller that went away says nothing about the connection.
      if (!scope.signal.aborted) {
        const e = err instanceof ConnectorError ? err : null;
        outcome = { ok: false, code: e?.code ?? 'UPSTREAM_UNAVAILABLE', message: e?.message ?? `request to ${scope.manifest.displayName} failed` };
      }
      throw err;
    } finally {
      if (outcome) {
        this.metrics?.connectionOutcomes.inc({ connector, outcome: outcome.ok ? 'success' : outcome.code });
        this.hooks.outcome?.(scope.connection, connector, outcome);
      }
      if (span) {
        if (stats.status !== null) span.setAttribute('http.response.status_code', stats.status);
        span.setAttribute('switchboard.retry_count', stats.retries);
        if (outcome && !outcome.ok) {
          span.setAttribute('switchboard.error_code', outcome.code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
        }
        span.end();
      }
    }
  }

  private breakerFor(scope: CallScope): BreakerEntry {
    const key = `${scope.manifest.id}:${scope.connection.id}`;
    let entry = this.breakers.get(key);
    if (!entry) {
      const breaker = circuitBreaker(handleWhen(breakerFailure).orWhenResult(breakerFailureStatus), {
        halfOpenAfter: this.options.breakerHalfOpenAfterMs,
        breaker: new ConsecutiveBreaker(this.options.breakerThreshold),
      });
      const opened: BreakerEntry = { connector: scope.manifest.id, policy: breaker, openedAt: 0, failing: new Set() };
      breaker.onBreak(() => {
        opened.openedAt = Date.now();
        this.metrics?.breakerOpened.inc({ connector: opened.connector });
      });
      this.breakers.set(key, (entry = opened));
    }
    return entry;
  }

  private budgetFor(scope: CallScope): ConnectionBudget {
    const key = `${scope.manifest.id}:${scope.connection.id}`;
    let budget = this.budgets.get(key);
    if (!budget) {
      // A connection's own allowance (tenants file) replaces the manifest's windows, not its concurrency limit.
      const declared = { ...scope.manifest.rateLimits, windows: connectionWindows(scope.manifest.rateLimits, scope.rateLimit) };
      // The connection's own share of a header-fed daily allocation overrides the manifest's.
      const daily =
        declared.dailyAllocation && scope.dailyAllocationShare ? { ...declared.dailyAllocation, share: scope.dailyAllocationShare } : declared.dailyAllocation;
      const limits = daily ? { ...declared, dailyAllocation: daily } : declared;
      budget = this.budgetFactory(key, limits, scope.manifest.id);
      this.budgets.set(key, budget);
    }
    return budget;
  }

  /**
   * Places the credential, sends, and on a 401 to a token we placed or the connector placed,
   * renews it once and re-sends: the one re-send layer besides the retry policy. A second 401
   * stands and becomes UPSTREAM_UNAUTHORIZED in the connector.
   */
  private async send(scope: CallScope, request: UpstreamRequest, stats: CallStats): Promise<UpstreamResponse> {
    const { credential } = scope;
    if (!credential) return this.sendWithPolicies(scope, request, stats);
    const placement = tokenPlacementOf(scope.manifest);
    const given = headerValue(request.headers, placement.header);
    const sent = given === undefined ? withToken(request, placement, await credential.token()) : request;
    const res = await this.sendWithPolicies(scope, sent, stats);
    if (res.status !== 401) return res;
    const rejected = tokenIn(headerValue(sent.headers, placement.header), placement);
    if (!rejected) return res;
    const renewed = await credential.renew(rejected);
    if (!renewed || renewed === rejected) return res;
    return this.sendWithPolicies(scope, withToken(sent, placement, renewed), stats);
  }

  private async sendWithPolicies(scope: CallScope, request: UpstreamRequest, stats: CallStats): Promise<UpstreamResponse> {
    const method = request.method ?? 'GET';
    const idempotent = request.idempotent ?? method === 'GET';
    const connector = scope.manifest.id;
    const breaker = this.breakerFor(scope);
    const budget = this.budgetFor(scope);
    const remaining = () => scope.deadline - Date.now();

    // Delay before the next attempt: the provider's Retry-After when it gave one, else
    // exponential backoff with full jitter. Never past the request deadline.
    const delayFor = (attempt: number, result: UpstreamResponse | undefined): number => {
      const retryAfter = result ? parseRetryAfter(result.headers.get('retry-after')) : null;
      if (retryAfter !== null) return retryAfter + Math.floor(Math.random() * 50);
      const cap = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
      return Math.floor(Math.random() * cap);
    };
    const shouldRetryResult = (r: unknown): boolean => {
      const res = r as UpstreamResponse;
      if (!idempotent || !RETRYABLE_STATUS.has(res.status)) return false;
      // The provider's own advice, where its manifest names the header (Stripe-Should-Retry).
      const advice = scope.manifest.retryAdviceHeader;
      if (advice && res.headers.get(advice) === 'false') return false;
      // Retry only if the wait fits in what is left of the request's time.
      const wait = parseRetryAfter(res.headers.get('retry-after'));
      return wait === null || wait < remaining() - 50;
    };
    const policy = retry(
      handleWhen((e) => idempotent && e instanceof AttemptFailure && e.error.retryable && remaining() > 50).orWhenResult(shouldRetryResult),
      {
        maxAttempts: Math.max(0, this.options.maxAttempts - 1),
        backoff: new DelegateBackoff((ctx) => {
          const result = 'value' in ctx.result ? (ctx.result.value as UpstreamResponse) : undefined;
          this.metrics?.upstreamRetries.inc({ connector, reason: result ? String(result.status) : 'transport' });
          stats.retries += 1;
          return Math.min(delayFor(ctx.attempt, result), Math.max(0, remaining() - 50));
        }),
      },
    );

    try {
      return await policy.execute(async () => {
        const waitStarted = performance.now();
        const release = await budget.acquire(scope.signal, scope.deadline, request.operation);
        const waited = (performance.now() - waitStarted) / 1000;
        this.metrics?.rateBudgetWait.observe({ connector }, waited);
        if (waited > 0.005) this.metrics?.rateBudgetWaits.inc({ connector });
        try {
          const once = async () => {
            let res: UpstreamResponse;
            try {
              res = await breaker.policy.execute(() => this.attempt(scope, request, method, stats));
            } catch (err) {
              if (breakerFailure(err)) noteFailure(breaker, method, request);
              throw err;
            }
            if (breakerFailureStatus(res)) noteFailure(breaker, method, request);
            else breaker.failing.clear();
            budget.observe?.(res.headers);
            return res;
          };
          // A costed request (manifest.rateLimits.costBucket) is planned, corrected and re-sent when throttled within the bucket.
          const bucket = budget.costBucket;
          return await (request.cost && bucket ? sendWithinCost(bucket, request.cost, scope.signal, scope.deadline, once) : once());
        } finally {
          release();
        }
      }, scope.signal);
    } catch (err) {
      if (err instanceof AttemptFailure) throw err.error;
      if (err instanceof BrokenCircuitError) {
        // Until the breaker lets its next trial call through (at least a second: that call may be in flight).
        const left = Math.max(1_000, this.openFor(breaker) ?? 0);
        throw new ConnectorError(
          'UPSTREAM_UNAVAILABLE',
          `${scope.manifest.displayName} is failing repeatedly; requests to it are paused for up to ${Math.round(this.options.breakerHalfOpenAfterMs / 1000)} s (circuit open)`,
          { retryable: true, retryAfterMs: left },
        );
      }
      if (err instanceof ConnectorError) throw err;
      if (scope.signal.aborted) throw new ConnectorError('UPSTREAM_TIMEOUT', `request to ${scope.manifest.displayName} was cancelled`, { cause: err });
      throw new ConnectorError('UPSTREAM_UNAVAILABLE', `request to ${scope.manifest.displayName} failed`, { cause: err });
    }
  }

  private async attempt(scope: CallScope, request: UpstreamRequest, method: string, stats: CallStats): Promise<UpstreamResponse> {
    const connector = scope.manifest.id;
    const left = scope.deadline - Date.now();
    if (left <= 0) {
      throw new AttemptFailure(
        new ConnectorError('UPSTREAM_TIMEOUT', `${scope.manifest.displayName} did not answer within the request deadline`, { retryable: false }),
      );
    }
    const timeoutMs = Math.min(this.options.attemptTimeoutMs, left);
    // One controller per attempt, aborted by its timer or by the caller, both released when the
    // attempt ends: AbortSignal.timeout + AbortSignal.any left a timer pending for the whole
    // attempt timeout and a dependent signal on the request's signal after every call.
    const attemptAbort = new AbortController();
    const signal = attemptAbort.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attemptAbort.abort(new DOMException(`attempt exceeded ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    const onCallerAbort = () => attemptAbort.abort(scope.signal.reason);
    if (scope.signal.aborted) onCallerAbort();
    else scope.signal.addEventListener('abort', onCallerAbort, { once: true });
    const url = buildUrl(scope.connection.baseUrl, request.path, request.query);
    const headers: Record<string, string> = { accept: 'application/json', ...(request.headers ?? {}) };
    let body: string | undefined;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    } else if (request.form !== undefined) {
      const params = new URLSearchParams();
      appendParams(params, request.form);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (request.text !== undefined) {
      body = request.text.body;
      headers['content-type'] = request.text.contentType;
    }

    const started = performance.now();
    const observe = (status: string) => {
      this.metrics?.upstreamRequests.inc({ connector, operation: request.operation, status });
      this.metrics?.upstreamDuration.observe({ connector, operation: request.operation }, (performance.now() - started) / 1000);
    };
    let res: TransportResponse;
    const maxBody = this.options.maxBodyBytes ?? DEFAULT_LIMITS.upstreamMaxBodyBytes;
    if (scope.usage) scope.usage.upstreamCalls++;
    try {
      // A request with an addressCheck goes through the pool whose sockets connect to checked addresses only.
      const dispatcher = request.addressCheck ? this.checked.for(request.addressCheck) : undefined;
      const sending = this.transport({ url, method, headers, body, signal, dispatcher, maxBodyBytes: maxBody });
      // Handed to the transport (undici queues it on a socket within this turn): it has left.
      stats.left?.();
      res = await sending;
    } catch (err) {
      observe('error');
      const refused = refusedAddress(err);
      if (refused) {
        throw new AttemptFailure(new ConnectorError('UPSTREAM_FORBIDDEN', `connection ${scope.connection.id}: ${refused.message}`, { retryable: false }));
      }
      if (timedOut) {
        throw new AttemptFailure(new ConnectorError('UPSTREAM_TIMEOUT', `${scope.manifest.displayName} did not answer within ${timeoutMs} ms`, { cause: err }));
      }
      if (scope.signal.aborted) {
        throw new AttemptFailure(
          new ConnectorError('UPSTREAM_TIMEOUT', `request to ${scope.manifest.displayName} was cancelled`, { retryable: false, cause: err }),
          true,
        );
      }
      throw new AttemptFailure(new ConnectorError('UPSTREAM_UNAVAILABLE', `could not reach ${scope.manifest.displayName}`, { cause: err }));
    } finally {
      clearTimeout(timer);
      scope.signal.removeEventListener('abort', onCallerAbort);
    }
    observe(String(res.status));
    stats.status = res.status;
    const text = res.text;
    if (text === null) {
      throw new AttemptFailure(
        new ConnectorError('UPSTREAM_BAD_RESPONSE', `${scope.manifest.displayName} answered ${res.status} with a body over ${maxBody} bytes; it was not read`, {
          upstreamStatus: res.status,
          retryable: false,
        }),
      );
    }

    let parsed: unknown = null;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.status >= 200 && res.status < 300) {
          throw new AttemptFailure(
            new ConnectorError('UPSTREAM_BAD_RESPONSE', `${scope.manifest.displayName} answered ${res.status} with a body that is not valid JSON`, {
              upstreamStatus: res.status,
              retryable: false,
            }),
          );
        }
        parsed = null; // error pages (HTML from a proxy) are mapped by status alone
      }
    }
    return { status: res.status, headers: res.headers, body: parsed, text, url };
  }
}

/** Remembers a failed request for outageFor (two distinct ones are all it needs). */
function noteFailure(entry: BreakerEntry, method: string, request: UpstreamRequest): void {
  if (entry.failing.size >= 2) return;
  const body =
    request.json !== undefined ? JSON.stringify(request.json) : request.form !== undefined ? JSON.stringify(request.form) : (request.text?.body ?? '');
  entry.failing.add(`${method} ${request.path} ${JSON.stringify(request.query ?? null)} ${body}`);
}

/** The manifest's token placement; `Authorization: Bearer` unless the connector declares another. */
export function tokenPlacementOf(manifest: ConnectorManifest): TokenPlacement {
  return (manifest.auth as { tokenPlacement?: TokenPlacement }).tokenPlacement ?? BEARER_PLACEMENT;
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
}

/** The request with `token` in the placement header (replacing any value it had). */
function withToken(request: UpstreamRequest, placement: TokenPlacement, token: string): UpstreamRequest {
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).filter(([k]) => k.toLowerCase() !== placement.header));
  headers[placement.header] = placement.scheme ? `${placement.scheme} ${token}` : token;
  return { ...request, headers };
}

function tokenIn(value: string | undefined, placement: TokenPlacement): string | null {
  if (!value) return null;
  if (!placement.scheme) return value.trim() || null;
  const [scheme, token, ...rest] = value.trim().split(/\s+/);
  return scheme?.toLowerCase() === placement.scheme.toLowerCase() && token && rest.length === 0 ? token : null;
}
