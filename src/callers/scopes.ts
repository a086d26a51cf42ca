// What a credential may do: queries need `read`, subscriptions `subscribe`, mutations (connection
// management, API keys, dead-letter replay) `admin`. Checked once per operation, before any
// resolver runs, on HTTP and on graphql-ws alike. Introspection (__schema, __type) and field
// suggestions in validation errors need `schema` (or `admin`), unless the gateway opens schema
// exploration to everyone (the demo).
import { GraphQLError, getOperationAST, type DocumentNode } from 'graphql';
import { API_KEY_SCOPES, type ApiKeyScope } from '../config.ts';

const SCOPE_OF = { query: 'read', subscription: 'subscribe', mutation: 'admin' } as const satisfies Record<string, ApiKeyScope>;

/** A FORBIDDEN error when the operation needs a scope the caller lacks; null otherwise. */
export function scopeError(document: DocumentNode, operationName: string | null | undefined, scopes: ReadonlySet<ApiKeyScope>): GraphQLError | null {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return null; // graphql-js reports the missing/ambiguous operation itself
  const needed = SCOPE_OF[operation.operation];
  if (scopes.has(needed)) return null;
  return new GraphQLError(`this credential lacks the "${needed}" scope needed for a ${operation.operation}`, {
    extensions: { code: 'FORBIDDEN', http: { status: 403 } },
  });
}

/** The caller may not do this (HTTP 403): a scope it lacks, or something the operator has not allowed its tenant. */
export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
}

/** Scopes named by a JWT's `scope` claim; without one, read and subscribe. */
export function scopesFromClaim(claim: unknown): ApiKeyScope[] {
  if (typeof claim !== 'string') return ['read', 'subscribe'];
  const known = new Set<string>(API_KEY_SCOPES);
  return claim.split(/\s+/).filter((s): s is ApiKeyScope => known.has(s));
}

/** Whether these scopes allow introspection and field suggestions (`schema`, or `admin` which includes it). */
export function canExploreSchema(scopes: ReadonlySet<string>): boolean {
  return scopes.has('schema') || scopes.has('admin');
}
