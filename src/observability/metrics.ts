import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * All Prometheus metrics of one gateway instance, on its own registry so several gateways in one
 * process (tests, benchmarks) never share counters.
 */
export class Metrics {
  readonly registry = new Registry();

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
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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
    help: 'Cache lookups by kind (entity, raw, part, page, response) and result (hit, miss, stale, error).',
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

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }
}
