// The cost model at work in Apollo: once the operation is known (validated), its upstream calls
// are estimated (cost.ts) and a query above the tenant's maxUpstreamCalls is refused with
// QUERY_TOO_COSTLY before any resolver runs. After execution, the calls actually made (counted at
// the upstream client) go to a metric, and to `extensions.cost` when the client asks for it
// (header `x-switchboard-cost: 1`, or the request extension `"cost": true`).
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { Histogram } from 'prom-client';
import type { GatewayConfig } from '../config.ts';
import type { RequestContext } from '../context.ts';
import type { Metrics } from '../observability/metrics.ts';
import { estimateUpstreamCalls } from './cost.ts';
import { limitsFor } from './tenant-limits.ts';

export const COST_HEADER = 'x-switchboard-cost';

export function queryTooCostly(estimate: number, limit: number): GraphQLError {
  return new GraphQLError(
    `this query could make up to ${estimate} calls to the tenant's providers; the limit is ${limit}. Ask for fewer records (smaller \`first\`, fewer nested lists) or split the query.`,
    { extensions: { code: 'QUERY_TOO_COSTLY', estimatedCalls: estimate, maxUpstreamCalls: limit, http: { status: 400 } } },
  );
}

export function costPlugin(config: GatewayConfig, metrics: Metrics): ApolloServerPlugin<RequestContext> {
  const actualCalls = new Histogram({
    name: 'switchboard_graphql_upstream_calls',
    help: 'Upstream calls one GraphQL request made (actual, counted per attempt), by operation type.',
    labelNames: ['operation_type'] as const,
    buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [metrics.registry],
  });
  const estimated = new Histogram({
    name: 'switchboard_graphql_estimated_upstream_calls',
    help: 'Upstream calls estimated for one GraphQL query before it ran (refused above the tenant maxUpstreamCalls).',
    buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [metrics.registry],
  });
  return {
    async requestDidStart({ request }) {
      let estimate: number | null = null;
      let limit = config.limits.maxUpstreamCalls;
      const optIn = ['1', 'true'].includes(request.http?.headers.get(COST_HEADER) ?? '') || request.extensions?.['cost'] === true;
      return {
        async didResolveOperation({ document, operationName, contextValue, request: req }) {
          limit = limitsFor(config, contextValue.tenant.id).maxUpstreamCalls;
          const connectors = contextValue.connections().map((h) => h.connector);
          const connectorOf = (id: string) => contextValue.connection(id)?.connector;
          estimate = estimateUpstreamCalls(document, operationName, req.variables, connectors, contextValue.config.limits, connectorOf).calls;
          estimated.observe(estimate);
          if (estimate > limit) throw queryTooCostly(estimate, limit);
        },
        async willSendResponse({ response, contextValue, operation }) {
          if (estimate === null || !contextValue) return;
          const actual = contextValue.usage.upstreamCalls;
          actualCalls.observe({ operation_type: operation?.operation ?? 'unknown' }, actual);
          if (!optIn || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cost: { estimatedCalls: estimate, actualCalls: actual, maxUpstreamCalls: limit } };
        },
      };
    },
  };
}
