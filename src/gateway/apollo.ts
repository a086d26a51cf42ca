// The GraphQL side of the gateway: the executable schema, the document limits both transports
// apply (depth), and the Apollo Server with its plugins (scope check, partial errors, metrics).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import { scopeError } from '../callers/scopes.ts';
import type { GatewayConfig } from '../config.ts';
import type { RequestContext } from '../context.ts';
import { formatError } from '../errors.ts';
import { EXAMPLE_QUERY } from '../inbound/graphiql.ts';
import type { Metrics } from '../observability/metrics.ts';
import { connectionResolvers } from '../resolvers/connections.ts';
import { eventResolvers } from '../resolvers/events.ts';
import { auditResolvers } from '../resolvers/audit.ts';
import { resolvers } from '../resolvers/index.ts';

const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));

export function loadTypeDefs(): string {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'common.graphql' ? -1 : b === 'common.graphql' ? 1 : a.localeCompare(b)))
    .map((f) => readFileSync(SCHEMA_DIR + f, 'utf8'))
    .join('\n');
}

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: [resolvers, eventResolvers, connectionResolvers, auditResolvers] as never });
}

/** The depth limit, reported as an ordinary validation error (HTTP 400) on HTTP and WebSocket alike. */
export function depthLimit(maxQueryDepth: number): ValidationRule {
  return maxDepthRule({
    n: maxQueryDepth,
    ignoreIntrospection: true,
    flattenFragments: true,
    exposeLimits: true,
    // Report as an ordinary validation error instead of throwing out of validation.
    propagateOnRejection: false,
    onReject: [(ctx, err) => ctx?.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, '')))],
  });
}

export async function startApollo(
  schema: GraphQLSchema,
  depthRule: ValidationRule,
  config: GatewayConfig,
  metrics: Metrics,
  log: Logger,
): Promise<ApolloServer<RequestContext>> {
  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: config.mode === 'development',
    validationRules: [depthRule],
    formatError: formatError(config.mode, (err) => log.error({ err }, 'unexpected error while answering a query')),
    plugins: [
      ApolloServerPluginLandingPageLocalDefault({
        embed: { initialState: { sharedHeaders: config.demoApiKey ? { Authorization: `Bearer ${config.demoApiKey}` } : {} } },
        document: EXAMPLE_QUERY,
        footer: false,
      }),
      // We set no HTTP cache hints; the plugin would wrap every field resolver for nothing.
      ApolloServerPluginCacheControlDisabled(),
      partialErrorsPlugin(),
      scopePlugin(),
      metricsPlugin(metrics),
    ],
  });
  await apollo.start();
  return apollo;
}

/** Checks the operation's scope once it is known, before execution (FORBIDDEN, HTTP 403). */
function scopePlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, contextValue }) {
          const denied = scopeError(document, operationName, contextValue.principal.scopes);
          if (denied) throw denied;
        },
      };
    },
  };
}

/** Adds the per-provider errors collected during execution to an answer that still has data. */
function partialErrorsPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || !contextValue?.partialErrors?.length) return;
          const extra = contextValue.partialErrors.map((e) => e.toJSON());
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...extra];
        },
      };
    },
  };
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operation }) {
          const hasErrors = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlDuration.observe(
            { operation_type: operation?.operation ?? 'unknown', has_errors: String(hasErrors) },
            (performance.now() - started) / 1000,
          );
        },
      };
    },
  };
}
