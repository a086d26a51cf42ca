// Who is calling: a tenant API key (tenants file or runtime-issued) or, when configured, a JWT
// from the trusted issuer naming the tenant. The same check serves HTTP requests, WebSocket
// connections and the periodic recheck of open sockets. The tenant's runtime connections are
// merged into the principal.
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { ApiKeyScope } from '../config.ts';
import { serviceUnavailable, unauthenticated } from '../errors.ts';
import { withDeadline } from '../util/bounded.ts';
import type { ApiKeyStore } from './api-keys.ts';
import { looksLikeJwt, type JwtVerifier } from './jwt.ts';
import { scopesFromClaim } from './scopes.ts';
import type { Principal, Tenant, TenantDirectory } from './tenants.ts';
import { keyPrefixOf, type AuthFailureLimiter } from './auth-failures.ts';

interface Found {
  tenantId: string;
  scopes: Iterable<ApiKeyScope>;
  /** Who is acting, for the audit log: `key:<key id>` or `jwt:<subject>`; never a secret. */
  actor: string;
}

/** Where the request comes from: failed authentications are limited per client address. */
export interface AuthenticateRequest {
  address?: string | undefined;
}

export type Authenticate = (authorization: string | undefined | null, from?: AuthenticateRequest) => Promise<Principal>;

export interface AuthenticateDeps {
  directory: TenantDirectory;
  apiKeys: ApiKeyStore;
  jwt: JwtVerifier | null;
  log: Pick<Logger, 'warn'>;
  /** Longest a runtime API-key lookup may take before the request is answered SERVICE_UNAVAILABLE. */
  apiKeyCheckTimeoutMs: number;
  /** Limits failed authentications per address and key prefix (null: unlimited). */
  failures?: AuthFailureLimiter | null;
}

/** Extracts the token from "Bearer <token>" (case-insensitive scheme). */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

export function createAuthenticator(deps: AuthenticateDeps): Authenticate {
  const { directory, apiKeys, jwt, log } = deps;

  const fromJwt = async (token: string, verifier: JwtVerifier): Promise<Found> => {
    let found: Found;
    try {
      const claims = await verifier.verify(token);
      found = { tenantId: claims.tenantId, scopes: scopesFromClaim(claims.scope), actor: `jwt:${claims.subject ?? 'no-subject'}` };
    } catch (err) {
      throw unauthenticated(`JWT rejected: ${(err as Error).message}`);
    }
    if (!directory.byId(found.tenantId)) throw unauthenticated('JWT rejected: its tenant is not configured here');
    return found;
  };

  const fromApiKey = async (token: string): Promise<Found | null> => {
    const file = directory.authenticate(token);
    if (file) return { tenantId: file.tenant.id, scopes: file.scopes, actor: `key:${file.keyId}` };
    let issued;
    try {
      issued = await withDeadline(apiKeys.authenticate(token), deps.apiKeyCheckTimeoutMs, 'checking a runtime API key');
    } catch (err) {
      log.warn({ err: String(err) }, 'runtime API keys unavailable (Redis)');
      throw serviceUnavailable("this API key cannot be checked right now (the gateway's key store is unreachable); retry shortly");
    }
    return issued ? { tenantId: issued.tenantId, scopes: issued.scopes, actor: `key:${issued.id}` } : null;
  };

  const identify = async (token: string): Promise<Found> => {
    const found = jwt && looksLikeJwt(token) ? await fromJwt(token, jwt) : await fromApiKey(token);
    if (!found || !directory.byId(found.tenantId)) throw unauthenticated('the API key is not valid');
    return found;
  };

  return async (authorization, from = {}) => {
    const token = bearerToken(authorization);
    if (!token) throw unauthenticated('send your tenant API key (or a JWT) as "Authorization: Bearer <token>"');
    // A JWT's first characters are its header, the same for every token of the issuer: no prefix.
    const attempt = { address: from.address ?? null, keyPrefix: jwt && looksLikeJwt(token) ? null : keyPrefixOf(token) };
    await deps.failures?.check(attempt);
    let found: Found;
    try {
      found = await identify(token);
    } catch (err) {
      if (err instanceof GraphQLError && err.extensions.code === 'UNAUTHENTICATED') await deps.failures?.fail(attempt);
      throw err;
    }
    const tenant = directory.byId(found.tenantId) as Tenant;
    return { tenant: await directory.view(tenant), scopes: new Set(found.scopes), actor: found.actor };
  };
}
