// The GraphQL side of the gateway: the executable schema, the document limits both transports
// apply (depth), and the Apollo Server with its plugins (scope check, partial errors, metrics).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { addResolversToSchema } from '@graphql-tools/schema';
import { GraphQLError, parse, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import { CONNECTORS } from '../../connectors/registry.ts';
import type { EntityType } from '../../connectors/sdk/models.ts';
import type { Connector } from '../../connectors/sdk/types.ts';
import { cacheableEntities } from '../cache/response-cache.ts';
import { scopeError } from '../callers/scopes.ts';
import type { GatewayConfig } from '../config.ts';
import type { RequestContext } from '../context.ts';
import { formatError } from '../errors.ts';
import { costPlugin } from '../limits/cost-plugin.ts';
import { truncateEchoes } from '../limits/echo.ts';
import { suggestionsPlugin } from '../limits/document-limits.ts';
import { EXAMPLE_QUERY } from '../inbound/graphiql.ts';
import type { Metrics } from '../observability/metrics.ts';
import { requestInfo } from '../observability/request-log.ts';
import { SpanKind, SpanStatusCode, TRACING_OFF, type Tracing } from '../observability/tracing.ts';
import { connectionResolvers } from '../resolvers/connections.ts';
import { eventResolvers } from '../resolvers/events.ts';
import { auditResolvers } from '../resolvers/audit.ts';
import { personResolvers } from '../resolvers/person.ts';
import { resolvers } from '../resolvers/index.ts';
import { withCoverageDescriptions } from './coverage-sdl.ts';
import { buildFederatedSchema } from './federation.ts';

const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));

export function loadTypeDefs(): string {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'common.graphql' ? -1 : b === 'common.graphql' ? 1 : a.localeCompare(b)))
    .map((f) => readFileSync(SCHEMA_DIR + f, 'utf8'))
    .join('\n');
}

/** The executable schema: a Federation 2 subgraph (federation.ts), field descriptions carrying each connector's coverage. */
export function buildSchema(connectors: readonly Connector[] = CONNECTORS.map((r) => r.connector)): GraphQLSchema {
  const federated = buildFederatedSchema(withCoverageDescriptions(parse(loadTypeDefs()), connectors));
  // One pass over the schema (each addResolversToSchema call rebuilds it: ~170 ms).
  return addResolversToSchema({
    schema: federated,
    resolvers: mergedResolvers([resolvers, eventResolvers, connectionResolvers, auditResolvers, personResolvers]) as never,
  });
}

/** Resolver maps by type: the fields of a type named in several maps (Query, Mutation, …) are combined. */
function mergedResolvers(maps: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const map of maps)
    for (const [type, value] of Object.entries(map)) {
      const seen = out[type];
      // Scalars are GraphQLScalarType instances, not field maps: taken as they are.
      out[type] = seen && value && Object.getPrototypeOf(value) === Object.prototype ? { ...(seen as object), ...(value as object) } : value;
    }
  return out;
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
  tracing: Tracing = TRACING_OFF,
): Promise<ApolloServer<RequestContext>> {
  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: true,
    csrfPrevention: true,
    // src/main.ts owns SIGINT/SIGTERM and drains (Apollo's own handler would stop the server
    // under in-flight requests and re-raise the signal before the event workers close).
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: config.mode === 'development',
    validationRules: [depthRule],
    formatError: echoLimited(
      formatError(config.mode, (err) => log.error({ err }, 'unexpected error while answering a query')),
      () => config.limits.errorEchoMaxChars,
    ),
    plugins: [
      pointingToGraphiql(
        ApolloServerPluginLandingPageLocalDefault({
          embed: { initialState: { sharedHeaders: config.demoApiKey ? { Authorization: `Bearer ${config.demoApiKey}` } : {} } },
          document: EXAMPLE_QUERY,
          footer: false,
        }),
      ),
      // We set no HTTP cache hints; the plugin would wrap every field resolver for nothing.
      ApolloServerPluginCacheControlDisabled(),
      // A federation subgraph would get Apollo's inline tracing (ftv1) installed; tracing is ours (OpenTelemetry, tracing.ts).
      ApolloServerPluginInlineTraceDisabled(),
      partialErrorsPlugin(),
      subscriptionsNotOverHttp(),
      responseCachePlugin(),
      // Document size limits and introspection are checked with the context (routes.ts); here the
      // field suggestions, the scope, then the cost.
      suggestionsPlugin(config),
      scopePlugin(),
      costPlugin(config, metrics),
      metricsPlugin(metrics),
      requestLogPlugin(),
      ...(tracing.enabled ? [tracingPlugin(tracing)] : []),
    ],
  });
  await apollo.start();
  return apollo;
}

/** Where the landing page sends a browser that cannot load Apollo Sandbox (offline, CDN blocked). */
export const OFFLINE_HINT = '<p>No network? The built-in GraphiQL works offline: <a href="/graphiql">/graphiql</a></p>';

/**
 * Apollo's landing page loads Sandbox from a CDN; offline it shows only "cannot be loaded". This
 * adds a link to the self-contained GraphiQL to that fallback text (and to the page's top if the
 * text changes in a later Apollo release).
 */
function pointingToGraphiql(landing: ApolloServerPlugin<RequestContext>): ApolloServerPlugin<RequestContext> {
  return {
    async serverWillStart(service) {
      const listener = await landing.serverWillStart?.(service);
      const inner = listener?.renderLandingPage;
      if (!listener || !inner) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const page = await inner.call(listener);
          const withHint = (html: string) =>
            html.includes('cannot be loaded; it appears that you might be offline.</p>')
              ? html.replace(
                  'cannot be loaded; it appears that you might be offline.</p>',
                  `cannot be loaded; it appears that you might be offline.</p>\n  ${OFFLINE_HINT}`,
                )
              : html.replace('<div id="react-root">', `<div id="react-root">\n    ${OFFLINE_HINT}`);
          const html = page.html;
          return { html: typeof html === 'string' ? withHint(html) : async () => withHint(await html()) };
        },
      };
    },
  };
}

/** Client input quoted in an error message is cut at `max()` characters (src/limits/echo.ts). */
function echoLimited(format: ReturnType<typeof formatError>, max: () => number): ReturnType<typeof formatError> {
  return (formatted, error) => {
    const out = format(formatted, error);
    const limit = max();
    return out.message.length > 2 * limit ? { ...out, message: truncateEchoes(out.message, limit) } : out;
  };
}

/**
 * A subscription POSTed to /graphql is refused before it runs (BAD_REQUEST, HTTP 400): Apollo would
 * execute it like a query, and its field, which only has a subscribe resolver, failed as an
 * internal error. Subscriptions are served over WebSocket at the same URL.
 */
function subscriptionsNotOverHttp(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws) at this URL, not over HTTP.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        },
      };
    },
  };
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

/**
 * Marks an answer the response cache may store: a query over records only, answered without any
 * error or extension (partial answers and per-request extensions are never replayed).
 */
function responseCachePlugin(): ApolloServerPlugin<RequestContext> {
  // Apollo hands the same parsed document for the same query text (its document store): the walk
  // is done once per document and operation, not on every answer.
  const known = new WeakMap<DocumentNode, Map<OperationDefinitionNode, ReadonlySet<EntityType> | null>>();
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, schema, document, operation }) {
          if (!contextValue || !document || !operation || response.body.kind !== 'single') return;
          // Nothing is stored with the response cache off: no walk on the way out.
          if (!contextValue.services.responseCache.enabled) return;
          const result = response.body.singleResult;
          if (result.errors?.length || result.extensions || contextValue.partialErrors.length) return;
          let byOperation = known.get(document);
          if (!byOperation) known.set(document, (byOperation = new Map()));
          let entities = byOperation.get(operation);
          if (entities === undefined) byOperation.set(operation, (entities = cacheableEntities(schema, document, operation)));
          contextValue.responseCache.entities = entities;
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

/**
 * Feeds the request's log line (src/observability/request-log.ts): operation type and name, and the
 * extensions.code of every error in the answer. Client errors (validation, BAD_USER_INPUT, scopes)
 * are logged there at info/warn without a stack; unexpected ones are logged by formatError.
 */
function requestLogPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, operationName, contextValue }) {
          const info = requestInfo(contextValue.signal);
          if (!info || !operation) return;
          info.operationType = operation.operation;
          info.operationName = operationName ?? undefined;
        },
        async willSendResponse({ response, contextValue }) {
          const info = contextValue ? requestInfo(contextValue.signal) : undefined;
          if (!info) return;
          if (response.body.kind === 'single' && response.body.singleResult.errors?.length)
            info.errorCodes = response.body.singleResult.errors.map((e) => String(e.extensions?.code ?? 'UNKNOWN'));
        },
      };
    },
  };
}

/** One span per GraphQL operation, parent of the operation's upstream calls (only installed when tracing is on). */
function tracingPlugin(tracing: Tracing): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const span = tracing.startSpan('graphql.operation', {}, SpanKind.INTERNAL);
      if (span) tracing.setOperationSpan(span);
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!span || !operation) return;
          span.updateName(`graphql ${operation.operation}${operationName ? ` ${operationName}` : ''}`);
          span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span?.setAttribute('graphql.operation.name', operationName);
        },
        async willSendResponse({ response, contextValue }) {
          if (!span) return;
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          if (contextValue?.tenant) span.setAttribute('switchboard.tenant_id', contextValue.tenant.id);
          if (errors.length) {
            span.setAttribute(
              'graphql.error_codes',
              errors.map((e) => String(e.extensions?.code ?? 'UNKNOWN')),
            );
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        },
      };
    },
  };
}
