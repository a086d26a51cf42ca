// JWT bearer tokens from a configured issuer (an OIDC provider the operator already runs), as an
// alternative to tenant API keys. Verified with jose against the issuer's JWKS: signature, issuer,
// audience, expiry; the tenant comes from a configurable claim.
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface JwtSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Claim holding the tenant id (default "tenant"). */
  tenantClaim: string;
  /** Accepted clock difference, in seconds. */
  clockToleranceSeconds: number;
  /** Longest accepted lifetime, exp − iat (exp − now without iat); default DEFAULT_JWT_MAX_LIFETIME_SECONDS. */
  maxLifetimeSeconds?: number;
}

/** 24 h, as DEFAULT_LIMITS.jwtMaxLifetimeSeconds. */
export const DEFAULT_JWT_MAX_LIFETIME_SECONDS = 24 * 3600;

/** A compact JWS: three base64url segments. API keys never look like this. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export class JwtVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly settings: JwtSettings) {
    // jose caches the key set and refetches on an unknown kid (with a cooldown): key rotation at
    // the issuer needs no restart.
    this.keys = createRemoteJWKSet(new URL(settings.jwksUrl));
  }

  /**
   * The tenant id named by a valid token, its `scope` claim and subject; throws an Error whose
   * message is safe to return. A token must expire (`exp`), and within maxLifetimeSeconds of
   * being issued: one without `exp` would be accepted forever.
   */
  async verify(token: string): Promise<{ tenantId: string; scope: unknown; subject: string | null }> {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['exp'],
      });
      const maxLifetime = this.settings.maxLifetimeSeconds ?? DEFAULT_JWT_MAX_LIFETIME_SECONDS;
      const from = typeof payload.iat === 'number' ? payload.iat : Math.floor(Date.now() / 1000);
      if ((payload.exp as number) - from > maxLifetime) throw new Error(`the token's lifetime exceeds the ${maxLifetime} s this gateway accepts`);
      const tenant = payload[this.settings.tenantClaim];
      if (typeof tenant !== 'string' || tenant === '') throw new Error(`the token has no "${this.settings.tenantClaim}" claim`);
      return { tenantId: tenant, scope: payload.scope, subject: typeof payload.sub === 'string' ? payload.sub : null };
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new Error('the token has expired');
      if (err instanceof errors.JWTClaimValidationFailed)
        throw new Error(err.reason === 'missing' ? `the token has no "${err.claim}" claim` : `the token's "${err.claim}" claim is not accepted`);
      if (err instanceof errors.JOSEError) throw new Error('the token could not be verified');
      throw err;
    }
  }
}
