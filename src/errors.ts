// The public error vocabulary: every error a client can see carries one of these codes in
// errors[].extensions.code. Connector codes pass through unchanged; anything unexpected is masked
// outside development so internals (and secrets in messages) never leak.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { CONNECTOR_ERROR_CODES, ConnectorError, type ConnectorErrorCode } from '../connectors/sdk/errors.ts';

export const GATEWAY_ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  ...CONNECTOR_ERROR_CODES,
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** HTTP status for errors that fail the whole request (partial-data errors keep 200). */
export const HTTP_STATUS: Partial<Record<GatewayErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
};

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argumentName: argument } : {}) } });
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** The gateway's own store (Redis) cannot answer right now: retry later (HTTP 503). */
export function serviceUnavailable(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: new HeaderMap([['retry-after', '5']]) as never } } });
}

/** Whether an error means the gateway's own Redis could not be reached (ioredis gave up, or the socket is down). */
export function isStoreOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (['MaxRetriesPerRequestError', 'DeadlineExceeded', 'VaultStoreError', 'StoreBusyError'].includes(err.name)) return true;
  // Redis error replies during failover, loading, memory pressure or misconfigured auth.
  if (err.name === 'ReplyError' && /^(READONLY|LOADING|OOM|NOAUTH|MASTERDOWN|CLUSTERDOWN|BUSY)\b/.test(err.message)) return true;
  // ioredis transport errors carry these in their message.
  return /^(Connection is closed|Stream isn't writeable)|\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT)\b/.test(err.message);
}

/** A provider failure while connecting (no connection exists yet), as a GraphQL error with its code. */
export function connectError(err: ConnectorError, provider: string): GraphQLError {
  return new GraphQLError(`${provider}: ${err.message}`, {
    originalError: err,
    extensions: { code: err.code, provider, retryable: err.retryable, ...(err.retryAfterMs !== null ? { retryAfterMs: err.retryAfterMs } : {}), ...(err.upstreamStatus !== null ? { upstreamStatus: err.upstreamStatus } : {}) },
  });
}

export interface UpstreamScope {
  provider: string;
  connectionId: string;
}

/** A connector failure as a GraphQL error, naming the provider and connection it concerns. */
export function upstreamError(err: unknown, scope: UpstreamScope, path?: ReadonlyArray<string | number>): GraphQLError {
  const e = err instanceof ConnectorError ? err : new ConnectorError('UPSTREAM_UNAVAILABLE', 'unexpected failure while reading from the provider', { cause: err });
  return new GraphQLError(`${scope.provider} (connection ${scope.connectionId}): ${e.message}`, {
    path,
    originalError: e,
    extensions: {
      code: e.code satisfies ConnectorErrorCode,
      provider: scope.provider,
      connectionId: scope.connectionId,
      retryable: e.retryable,
      ...(e.retryAfterMs !== null ? { retryAfterMs: e.retryAfterMs } : {}),
      ...(e.upstreamStatus !== null ? { upstreamStatus: e.upstreamStatus } : {}),
      ...(e.upstreamRequestId !== null ? { upstreamRequestId: e.upstreamRequestId } : {}),
    },
  });
}

const PUBLIC_CODES = new Set<string>(GATEWAY_ERROR_CODES);

/**
 * Apollo's formatError: errors we raised on purpose (a known code) go out as they are; anything
 * else is an internal fault and is replaced by a generic message unless in development.
 */
export function formatError(mode: 'production' | 'development' | 'test', onInternal: (err: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && PUBLIC_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    onInternal(unwrapResolverError(error));
    if (mode === 'development') return formatted;
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
