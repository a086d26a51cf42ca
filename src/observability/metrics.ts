// All Prometheus metrics of one gateway instance. Labels are low-cardinality by construction:
// connector ids (a fixed registry, "unknown" for anything else), closed reason/outcome sets, route
// templates. Tenant and connection ids never become labels (unbounded); per-connection detail
// lives in `connection { health }` instead. docs/operations.md lists every metric with its meaning.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the durable queue reports on each scrape (read from Redis, or from memory). */
export interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest job waiting to be picked up; 0 when none waits. */
  oldestWaitingAgeSeconds: number;
}

/** One circuit breaker as the upstream client holds it. */
export interface BreakerSnapshot {
  connector: string;
  state: 'closed' | 'open' | 'half_open' | 'isolated';
}

export const BREAKER_STATES: ReadonlyArray<BreakerSnapshot['state']> = ['closed', 'open', 'half_open', 'isolated'];

/** Sources read at scrape time, wired by the services that own them. */
export interface MetricProbes {
  queue: (() => Promise<QueueStats>) | null;
  breakers: (() => BreakerSnapshot[]) | null;
}

/** Longest a scrape waits for a probe that talks to Redis: /metrics answers even while Redis is down. */
export const PROBE_TIMEOUT_MS = 1_000;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * On its own registry so several gateways in one process (tests, benchmarks) never share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly probes: MetricProbes = { queue: null, breakers: null };

  readonly upstreamRequests = new Counter({
    name: 'switchboard_upstream_requests_total',
    help: 'HTTP requests sent to providers, by connector, operation and HTTP status (or "error" for transport failures).',
    labelNames: ['connector', 'operation', 'status'] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'switchboard_upstream_request_duration_seconds',
    help: 'Latency of one upstream HTTP attempt.',
    labelNames: ['connector', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly upstreamRetries = new Counter({
    name: 'switchboard_upstream_retries_total',
    help: 'Retried upstream attempts, by connector and reason.',
    labelNames: ['connector', 'reason'] as const,
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'switchboard_cache_requests_total',
    help: 'Cache lookups by layer (kind: entity, raw, part, page, response, or a write/delete op for errors) and result (hit, miss, stale, error).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: 'switchboard_graphql_request_duration_seconds',
    help: 'Time to answer one GraphQL HTTP request.',
    labelNames: ['operation_type', 'has_errors'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly httpRequests = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'Every HTTP request the gateway answered, by route template, method and status class (2xx, 4xx, 5xx).',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly webhooksReceived = new Counter({
    name: 'switchboard_webhooks_received_total',
    help: 'Webhook requests received, by connector ("unknown" for a path naming no registered connector).',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly webhooksRejected = new Counter({
    name: 'switchboard_webhooks_rejected_total',
    help: 'Webhook requests refused, by connector and reason (no_endpoint, method, too_large, no_signature, signature_invalid, timestamp_out_of_range, bad_payload, queue_unavailable).',
    labelNames: ['connector', 'reason'] as const,
    registers: [this.registry],
  });

  readonly webhookEventsQueued = new Counter({
    name: 'switchboard_webhook_events_queued_total',
    help: 'Change events accepted from verified webhooks and handed to the durable queue, by connector.',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'switchboard_queue_jobs',
    help: 'Jobs in the event queue by state (waiting, active, delayed, failed), read at scrape time; shared by all replicas on Redis.',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: async () => {
      const stats = await this.probeQueue();
      if (!stats) return;
      for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.queueJobs.set({ state }, stats[state]);
    },
  });

  readonly queueOldestAge = new Gauge({
    name: 'switchboard_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest event waiting for a worker (0 when none waits), read at scrape time.',
    registers: [this.registry],
    collect: async () => {
      const stats = await this.probeQueue();
      if (stats) this.queueOldestAge.set(stats.oldestWaitingAgeSeconds);
    },
  });

  readonly queueStalled = new Counter({
    name: 'switchboard_queue_stalled_jobs_total',
    help: 'Jobs whose worker stopped renewing its lock (replica crash, stuck event loop) and were taken back for another worker.',
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'switchboard_dead_letters_total',
    help: 'Events moved to the dead-letter store, by connector and reason (exhausted: every attempt failed; permanent: not retryable; stalled: stalled too often).',
    labelNames: ['connector', 'reason'] as const,
    registers: [this.registry],
  });

  readonly eventProcessing = new Histogram({
    name: 'switchboard_event_processing_duration_seconds',
    help: 'Time a worker spent on one event attempt, by connector and outcome (published, dropped, retry, failed).',
    labelNames: ['connector', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly eventPublishLag = new Histogram({
    name: 'switchboard_event_publish_lag_seconds',
    help: 'From webhook receipt to the change being appended to the change log (queueing, retries and refetch included).',
    labelNames: ['connector'] as const,
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });

  readonly changeLogLag = new Histogram({
    name: 'switchboard_changelog_read_lag_seconds',
    help: "From a change's append to the change log to this replica's tail reader dispatching it to subscribers.",
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });

  readonly subscriptionsOpen = new Gauge({
    name: 'switchboard_subscriptions_open',
    help: 'Change subscriptions (contactChanged, invoiceChanged, orderChanged) open on this replica.',
    registers: [this.registry],
  });

  readonly subscriptionDeliveries = new Counter({
    name: 'switchboard_subscription_deliveries_total',
    help: 'Change events delivered to subscribers on this replica (replayed and live).',
    registers: [this.registry],
  });

  readonly breakers = new Gauge({
    name: 'switchboard_upstream_circuit_breakers',
    help: 'Circuit breakers (one per connection) on this replica, by connector and state (closed, open, half_open, isolated).',
    labelNames: ['connector', 'state'] as const,
    registers: [this.registry],
    collect: () => {
      const list = this.probes.breakers?.() ?? [];
      this.breakers.reset();
      const counts = new Map<string, number>();
      for (const b of list) counts.set(`${b.connector}\u0000${b.state}`, (counts.get(`${b.connector}\u0000${b.state}`) ?? 0) + 1);
      for (const connector of new Set(list.map((b) => b.connector)))
        for (const state of BREAKER_STATES) this.breakers.set({ connector, state }, counts.get(`${connector}\u0000${state}`) ?? 0);
    },
  });

  readonly breakerOpened = new Counter({
    name: 'switchboard_upstream_circuit_breaker_opened_total',
    help: 'Times a connection circuit breaker opened (consecutive transport failures, timeouts or 5xx), by connector.',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly tokenRefreshes = new Counter({
    name: 'switchboard_token_refreshes_total',
    help: 'OAuth access-token refreshes, by result (success, rejected: the provider refused the grant and the connection needs reauth, error: failed, retried later).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly rateBudgetWait = new Histogram({
    name: 'switchboard_rate_budget_wait_seconds',
    help: "Time an upstream call waited for its connection's rate budget (requests per window, concurrency, cost), by connector.",
    labelNames: ['connector'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly rateBudgetWaits = new Counter({
    name: 'switchboard_rate_budget_waits_total',
    help: 'Upstream calls that had to wait (more than 5 ms) for their rate budget, by connector.',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly connectionOutcomes = new Counter({
    name: 'switchboard_connection_outcomes_total',
    help: 'Outcomes of upstream calls as connection health counts them, by connector and outcome (success, or the public error code).',
    labelNames: ['connector', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }

  /** One queue read per scrape, shared by the two gauges that need it; null when the probe fails or is slow. */
  private queueRead: Promise<QueueStats | null> | null = null;
  private probeQueue(): Promise<QueueStats | null> {
    const probe = this.probes.queue;
    if (!probe) return Promise.resolve(null);
    this.queueRead ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          probe(),
          new Promise<null>((resolve) => {
            timer = setTimeout(() => resolve(null), PROBE_TIMEOUT_MS);
          }),
        ]);
      } catch {
        return null;
      } finally {
        clearTimeout(timer);
        setImmediate(() => (this.queueRead = null));
      }
    })();
    return this.queueRead;
  }
}
