// Who is calling the emulated CRM API: a private-app token from the start options or an access
// token the emulator's OAuth server issued (live, not expired), answered with HubSpot's 401 bodies
// otherwise; then the caller's rate windows. The OAuth endpoints authenticate clients themselves.
import type { EmulatorReply, EmulatorRequest } from '../../sdk/emulator.ts';
import { correlationId } from './errors.ts';
import type { HubSpotOAuth } from './oauth.ts';
import type { HubSpotRateLimits, RateCaller } from './rate-limits.ts';
import { isSearchRequest } from './routes-search.ts';

export const isOAuthRequest = (req: EmulatorRequest): boolean => req.path.startsWith('/oauth/');

export function bearerToken(req: EmulatorRequest): string | null {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}

function unauthorized(req: EmulatorRequest, category: string, message: string): EmulatorReply {
  return {
    status: 401,
    headers: { 'x-hubspot-correlation-id': correlationId(req) },
    body: { status: 'error', message, correlationId: correlationId(req), category },
  };
}

const NO_CREDENTIALS =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

export class HubSpotAuth {
  constructor(
    private readonly credentials: ReadonlySet<string>,
    private readonly oauth: HubSpotOAuth,
    private readonly limits: HubSpotRateLimits,
    private readonly portalId: number,
  ) {}

  /** The caller of an API request, or the 401 to answer. */
  caller(req: EmulatorRequest): RateCaller | EmulatorReply {
    const token = bearerToken(req);
    if (token && this.credentials.has(token)) return { kind: 'private-app', token };
    const issued = token ? this.oauth.checkAccessToken(token) : null;
    if (issued?.ok) return { kind: 'oauth-app', clientId: issued.clientId, portalId: this.portalId };
    if (issued?.reason === 'expired') {
      return unauthorized(req, 'EXPIRED_AUTHENTICATION', `The OAuth token used to make this call expired ${issued.expiredMinutesAgo} minute(s) ago.`);
    }
    return unauthorized(req, 'INVALID_AUTHENTICATION', NO_CREDENTIALS);
  }

  /** The base server's authenticate hook: 401, 429 or null (go ahead). */
  authenticate(req: EmulatorRequest): EmulatorReply | null {
    if (isOAuthRequest(req)) return null;
    const caller = this.caller(req);
    if ('status' in caller) return caller;
    return this.limits.take(req, caller, isSearchRequest(req));
  }

  /** Headers on every counted answer: the correlation id, and rate-limit headers except on search and OAuth. */
  commonHeaders(req: EmulatorRequest): Record<string, string> {
    const headers: Record<string, string> = { 'x-hubspot-correlation-id': correlationId(req) };
    if (isSearchRequest(req) || isOAuthRequest(req)) return headers;
    const caller = this.caller(req);
    return 'status' in caller ? headers : { ...headers, ...this.limits.headers(caller) };
  }
}
