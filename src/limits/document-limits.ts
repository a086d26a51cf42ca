// Limits on the document itself, per tenant, checked before the document costs anything: its
// length in characters (before parsing), its tokens (parsing stops at the first token past the
// limit), its aliases and directives (a cheap walk of the parsed document, before validation);
// then who may introspect the schema and see field suggestions. All from graphql-armor's plugins
// (character-limit, max-tokens, max-aliases, max-directives, block-field-suggestions), applied
// per request because each tenant may have limits of its own (tenants file `limits`).
// Apollo parses after `requestDidStart`, so everything here runs before Apollo's own parse.
import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { ApolloServerCharacterLimitPlugin } from '@escape.tech/graphql-armor-character-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule, validate, visit, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { canExploreSchema } from '../callers/scopes.ts';
import type { GatewayConfig, GatewayLimits } from '../config.ts';
import type { RequestContext } from '../context.ts';
import { limitsFor } from './tenant-limits.ts';

export function queryTooLarge(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_LARGE', http: { status: 400 } } });
}

const plain = (err: GraphQLError) => err.message.replace(/^Syntax Error: /, '');

/** Characters first (no parsing), then tokens while parsing: the parsed document, or null when it does not parse (Apollo reports that). */
export function checkSize(query: string, limits: Pick<GatewayLimits, 'maxQueryChars' | 'maxTokens'>): DocumentNode | null {
  try {
    const plugin = ApolloServerCharacterLimitPlugin({ maxLength: limits.maxQueryChars });
    (plugin.requestDidStart as (rc: { request: { query: string } }) => void)({ request: { query } });
  } catch (err) {
    throw queryTooLarge(err instanceof Error ? err.message : String(err));
  }
  try {
    return new MaxTokensParserWLexer(query, { n: limits.maxTokens } as never).parseDocument();
  } catch (err) {
    if (err instanceof GraphQLError && /Token limit/.test(err.message)) throw queryTooLarge(plain(err));
    return null;
  }
}

/** Aliases and directives, counted through fragments; the first limit exceeded, as QUERY_TOO_LARGE. */
export function checkShape(schema: GraphQLSchema, document: DocumentNode, limits: Pick<GatewayLimits, 'maxAliases' | 'maxDirectives'>): void {
  const rules: ValidationRule[] = [
    // No allow-list: 1,000 aliased __typename fields are as costly to answer as any other.
    maxAliasesRule({ n: limits.maxAliases, allowList: [], propagateOnRejection: false, onReject: [(ctx, err) => ctx?.reportError(err)] }),
    maxDirectivesRule({ n: limits.maxDirectives, propagateOnRejection: false, onReject: [(ctx, err) => ctx?.reportError(err)] }),
  ];
  const [first] = validate(schema, document, rules);
  if (first) throw queryTooLarge(plain(first));
}

/** Whether this caller may introspect the schema and see field suggestions. */
export function mayExploreSchema(config: GatewayConfig, scopes: ReadonlySet<string>): boolean {
  return config.schemaExploration === 'everyone' || canExploreSchema(scopes);
}

export function introspectionError(schema: GraphQLSchema, document: DocumentNode): GraphQLError | null {
  const [denied] = validate(schema, document, [NoSchemaIntrospectionCustomRule]);
  // The federation `_service { sdl }` (src/gateway/federation.ts) is the schema too.
  if (!denied && !selectsServiceSdl(document)) return null;
  return new GraphQLError('introspection needs a credential with the "schema" (or "admin") scope', {
    extensions: { code: 'FORBIDDEN', http: { status: 403 } },
  });
}

/** `_service` exists only on Query, so a field of that name anywhere in a valid document is the root one. */
function selectsServiceSdl(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '_service') found = true;
    },
  });
  return found;
}

const maskSuggestions = blockFieldSuggestionsPlugin({ mask: '' }).onValidate as unknown as () => (end: {
  valid: boolean;
  result: readonly GraphQLError[];
  setResult: (r: readonly GraphQLError[]) => void;
}) => void;

/**
 * The document limits of one HTTP request, checked while its context is built (after the caller
 * is known, before Apollo parses): throws QUERY_TOO_LARGE or FORBIDDEN, which Apollo answers with
 * their HTTP status. `query` is the request's `query` as sent (any type: Apollo rejects non-strings).
 */
export function checkHttpDocument(schema: GraphQLSchema, config: GatewayConfig, tenantId: string, scopes: ReadonlySet<string>, query: unknown): void {
  if (typeof query !== 'string') return;
  const { error } = socketDocument(schema, config, tenantId, scopes, query);
  if (error) throw error;
}

/** Field suggestions in validation errors, cut for callers who may not explore the schema (HTTP). */
export function suggestionsPlugin(config: GatewayConfig): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ contextValue }: GraphQLRequestContext<RequestContext>) {
      const explore = mayExploreSchema(config, contextValue.principal.scopes);
      return {
        async validationDidStart() {
          return async (errors) => {
            // Without the schema scope, "Did you mean …?" would reveal field names: cut it.
            if (errors?.length && !explore) maskSuggestions()({ valid: false, result: errors as readonly GraphQLError[], setResult: () => undefined });
          };
        },
      };
    },
  };
}

/**
 * The same limits for an operation sent over graphql-ws: the first one broken, or the parsed
 * document (null when it does not parse: graphql-ws reports the syntax error itself).
 */
export function socketDocument(
  schema: GraphQLSchema,
  config: GatewayConfig,
  tenantId: string,
  scopes: ReadonlySet<string>,
  query: string,
): { document: DocumentNode | null; error: GraphQLError | null } {
  const limits = limitsFor(config, tenantId);
  // A document that passed these limits once passes them again: the parse and the two walks are
  // remembered per (schema, limits, query text) instead of being repeated on every request.
  const key = `${limits.maxQueryChars},${limits.maxTokens},${limits.maxAliases},${limits.maxDirectives}\u0000${query}`;
  let byKey = passed.get(schema);
  if (!byKey) passed.set(schema, (byKey = new Map()));
  let entry = byKey.get(key);
  if (entry) {
    byKey.delete(key); // most recently used last
    byKey.set(key, entry);
  } else {
    try {
      const document = checkSize(query, limits);
      if (!document) return { document: null, error: null };
      checkShape(schema, document, limits);
      entry = { document, introspection: undefined };
    } catch (err) {
      return { document: null, error: err as GraphQLError };
    }
    if (byKey.size >= PASSED_MAX) byKey.delete(byKey.keys().next().value as string);
    byKey.set(key, entry);
  }
  if (!mayExploreSchema(config, scopes)) {
    entry.introspection ??= introspectionError(schema, entry.document) !== null;
    if (entry.introspection) return { document: entry.document, error: introspectionError(schema, entry.document) };
  }
  return { document: entry.document, error: null };
}

/** Documents within the limits, by schema and (limits, query text); least recently used dropped past PASSED_MAX. */
const passed = new WeakMap<GraphQLSchema, Map<string, { document: DocumentNode; introspection: boolean | undefined }>>();
const PASSED_MAX = 1_000;
