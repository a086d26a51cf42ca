// The public error vocabulary: every error a client can see carries one of these codes in
// errors[].extensions.code. Connector codes pass through unchanged; anything unexpected is masked
// outside development so internals (and secrets in messages) never leak.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { CONNECTOR_ERROR_CODES, ConnectorError, type ConnectorErrorCode } from '../connectors/sdk/errors.ts';
import { ApiKeyInputError } from './callers/api-keys.ts';
import { TokenRefreshError } from './accounts/token-manager.ts';
import { isStoreOutage } from './util/store-outage.ts';

export { StoreOutage, isStoreOutage } from './util/store-outage.ts';

export const GATEWAY_ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  /** Malformed HTTP input outside GraphQL: a body that is not JSON, a connect-flow request that cannot be honoured. */
  'BAD_REQUEST',
  'INTERNAL_SERVER_ERROR',
  /** A document over a size limit (characters, tokens, aliases, directives): rejected before it runs. */
  'QUERY_TOO_LARGE',
  /** A document estimated to cause more upstream calls than the tenant's limit: rejected before it runs. */
  'QUERY_TOO_COSTLY',
  /** A list's orderBy that a connection cannot serve natively and holds too many records for the gateway to sort (docs/lists.md). */
  'ORDER_NOT_SUPPORTED',
  /** The tenant sent more requests per second, or more at once, than its limit (HTTP 429, Retry-After). */
  'RATE_LIMITED',
  ...CONNECTOR_ERROR_CODES,
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** HTTP status for errors that fail the whole request (partial-data errors keep 200). */
export const HTTP_STATUS: Partial<Record<GatewayErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
  BAD_REQUEST: 400,
  QUERY_TOO_LARGE: 400,
  QUERY_TOO_COSTLY: 400,
  RATE_LIMITED: 429,
};

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argumentName: argument } : {}) } });
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** The gateway's own store (Redis) cannot answer right now: retry later (HTTP 503). */
export function serviceUnavailable(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: new HeaderMap([['retry-after', '5']]) as never } },
  });
}

export interface ErrorScope {
  /** The connector the failure concerns (its id). */
  provider?: string;
  /** The connection it concerns; with it, anything that is not a ConnectorError counts as the provider's failure. */
  connectionId?: string;
  path?: ReadonlyArray<string | number>;
}

/**
 * The one translation of an error into what a client sees. A public GraphQL error passes as it
 * is; a ConnectorError keeps its code and says which provider (and connection) it concerns; an
 * outage of the gateway's own store, or a token refresh that could not finish, is
 * SERVICE_UNAVAILABLE; bad API-key input is BAD_USER_INPUT. Anything else is an internal fault
 * (INTERNAL_SERVER_ERROR, masked by formatError) — except inside a connection's scope, where an
 * unexpected failure of the connector is reported as that provider being unavailable.
 */
export function toPublicError(err: unknown, scope: ErrorScope = {}): GraphQLError {
  if (err instanceof GraphQLError && isPublicCode(err.extensions.code)) return err;
  if (err instanceof ConnectorError) return connectorFailure(err, scope);
  if (scope.connectionId !== undefined)
    return connectorFailure(new ConnectorError('UPSTREAM_UNAVAILABLE', 'unexpected failure while reading from the provider', { cause: err }), scope);
  if (err instanceof ApiKeyInputError) return badUserInput(err.message);
  if (isStoreOutage(err) || err instanceof TokenRefreshError) return serviceUnavailable("the gateway's store is unreachable or busy right now; retry shortly");
  return new GraphQLError('Internal server error', {
    originalError: err instanceof Error ? err : undefined,
    path: scope.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

function connectorFailure(e: ConnectorError, scope: ErrorScope): GraphQLError {
  const provider = scope.provider ?? 'provider';
  const where = scope.connectionId !== undefined ? `${provider} (connection ${scope.connectionId})` : provider;
  return new GraphQLError(`${where}: ${e.message}`, {
    path: scope.path,
    originalError: e,
    extensions: {
      code: e.code satisfies ConnectorErrorCode,
      provider,
      ...(scope.connectionId !== undefined ? { connectionId: scope.connectionId } : {}),
      retryable: e.retryable,
      ...(e.retryAfterMs !== null ? { retryAfterMs: e.retryAfterMs } : {}),
      ...(e.upstreamStatus !== null ? { upstreamStatus: e.upstreamStatus } : {}),
      ...(e.upstreamRequestId !== null ? { upstreamRequestId: e.upstreamRequestId } : {}),
    },
  });
}

const PUBLIC_CODES = new Set<string>(GATEWAY_ERROR_CODES);
const isPublicCode = (code: unknown): boolean => typeof code === 'string' && PUBLIC_CODES.has(code);

/**
 * Apollo's formatError: errors we raised on purpose (a known code) go out as they are; anything
 * else is an internal fault and is replaced by a generic message unless in development.
 */
export function formatError(mode: 'production' | 'development' | 'test', onInternal: (err: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (isPublicCode(code) && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    // A known error thrown as it is (not yet translated) gets its public code here.
    const original = unwrapResolverError(error);
    // Apollo's own refusals of a request, outside execution, come with an HTTP 4xx but no code
    // ("provided sha does not match query" for an automatic persisted query): the client's mistake.
    if (!formatted.path && original instanceof GraphQLError && original.extensions.code === undefined) {
      const status = (original.extensions.http as { status?: number } | undefined)?.status;
      if (status !== undefined && status >= 400 && status < 500) return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    }
    const translated = toPublicError(original);
    if (translated.extensions.code !== 'INTERNAL_SERVER_ERROR') {
      return {
        ...translated.toJSON(),
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
      };
    }
    onInternal(original);
    if (mode === 'development') return formatted;
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
