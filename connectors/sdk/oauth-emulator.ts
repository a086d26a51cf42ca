// Shared OAuth 2.0 grant bookkeeping for provider emulators: authorization codes, access and
// refresh grants, the token-endpoint log and the admin switches (PUT /__emulator/oauth). The rules
// every provider's authorization server follows live here once: a code is single-use and a
// replayed code revokes the tokens it issued (RFC 6749 §4.1.2), refresh tokens rotate when the
// switch says so (the old one is revoked at once, or, where the provider keeps it for a retry,
// when its replacement is first used), access tokens expire after a TTL or never (null).
// Each connector's emulator/oauth.ts keeps what differs: endpoint paths, request parsing, client
// authentication, PKCE, answer and error bodies, token formats.
import { timingSafeEqual } from 'node:crypto';
import type { EmulatorReply } from './emulator.ts';

export interface OAuthGrantBookOptions {
  /** Access-token lifetime in ms; null = access tokens never expire (Stripe's connected-account keys). */
  accessTokenTtlMs: number | null;
  /** Authorization-code lifetime in ms. */
  codeTtlMs: number;
  rotateRefreshTokens: boolean;
  /**
   * With rotation: how long (ms from its first use) a used refresh token stays usable while its
   * replacement has not been used yet, so a client whose refresh answer was lost can retry (Shopify:
   * 30 days). Using the replacement retires it at once. Absent: retired at its first use.
   */
  retainUsedRefreshMs?: number;
  newCode: () => string;
  newAccessToken: () => string;
  newRefreshToken: () => string;
  /** Clock in ms. */
  now: () => number;
}

/** One token-endpoint call as the emulator judged it; providers add fields (endpoint, clientId). */
export interface OAuthGrantLogEntry {
  grantType: string;
  /** null when tokens were issued, else the OAuth error code. */
  error: string | null;
  at: number;
}

/** The admin switches, the same for every provider's PUT /__emulator/oauth. */
export interface OAuthAdminSwitches {
  rotateRefreshTokens?: boolean;
  expireAllAccessTokens?: boolean;
  /** Expire one access token now. */
  expireAccessToken?: string;
  /** A refresh token to revoke (later use: invalid_grant). */
  revokeRefreshToken?: string;
}

/** C: the provider's per-code fields (scopes, redirect URI, PKCE challenge …). */
export type OAuthCodeGrant<C> = C & {
  clientId: string;
  expiresAt: number;
  used: boolean;
  /** Tokens issued from this code: revoked when the code is replayed. */
  issued: { access: string; refresh: string } | null;
};

/** T: the provider's per-token fields (scopes, user id, connected account …). */
export type OAuthAccessGrant<T> = T & { clientId: string; expiresAt: number | null; revoked: boolean };
export type OAuthRefreshGrant<T> = T & {
  clientId: string;
  revoked: boolean;
  /** With retainUsedRefreshMs: when it was first used, and the token it replaced (retired when this one is used). */
  firstUsedAt?: number;
  replaces?: string;
};

export type OAuthCodeOutcome<C> =
  | { status: 'unknown' }
  /** Already redeemed: whatever it issued is revoked now. */
  | { status: 'replayed' }
  /** Past its TTL: burned, so a later try is a replay. */
  | { status: 'expired' }
  /** Redeemable: the provider runs its own checks, then burnCode() or redeemCode(). */
  | { status: 'open'; grant: OAuthCodeGrant<C> };

export type OAuthAccessCheck<T> =
  | { status: 'live'; grant: OAuthAccessGrant<T> }
  | { status: 'unknown' }
  | { status: 'revoked'; grant: OAuthAccessGrant<T> }
  | { status: 'expired'; grant: OAuthAccessGrant<T>; expiredMs: number };

export interface OAuthIssued {
  accessToken: string;
  refreshToken: string;
}

export class OAuthGrantBook<C, T, L extends OAuthGrantLogEntry = OAuthGrantLogEntry> {
  private readonly codes = new Map<string, OAuthCodeGrant<C>>();
  private readonly access = new Map<string, OAuthAccessGrant<T>>();
  private readonly refresh = new Map<string, OAuthRefreshGrant<T>>();
  private readonly log: L[] = [];
  private readonly ttlMs: number | null;
  readonly now: () => number;
  rotateRefreshTokens: boolean;

  constructor(private readonly options: OAuthGrantBookOptions) {
    this.ttlMs = options.accessTokenTtlMs;
    this.rotateRefreshTokens = options.rotateRefreshTokens;
    this.now = options.now;
  }

  /** Seconds, or null when access tokens never expire. */
  get accessTokenTtlSeconds(): number | null {
    return this.ttlMs === null ? null : this.ttlMs / 1000;
  }

  // --- codes -----------------------------------------------------------------------------------

  /** A fresh authorization code for the authorize endpoint's redirect. */
  issueCode(clientId: string, extra: C): string {
    const code = this.options.newCode();
    this.codes.set(code, { ...extra, clientId, expiresAt: this.now() + this.options.codeTtlMs, used: false, issued: null });
    return code;
  }

  /**
   * Look a code up for the token endpoint. `clientId`, when given, must be the client the code was
   * issued to (otherwise it is 'unknown', and a foreign client's replay revokes nothing).
   */
  openCode(code: string, clientId?: string): OAuthCodeOutcome<C> {
    const grant = this.codes.get(code);
    if (!grant || (clientId !== undefined && grant.clientId !== clientId)) return { status: 'unknown' };
    if (grant.used) {
      if (grant.issued) {
        this.revoke(this.access.get(grant.issued.access));
        this.revoke(this.refresh.get(grant.issued.refresh));
      }
      return { status: 'replayed' };
    }
    if (this.now() >= grant.expiresAt) {
      grant.used = true;
      return { status: 'expired' };
    }
    return { status: 'open', grant };
  }

  /** Spend a code without issuing anything (a failed PKCE check: no brute-forcing the verifier). */
  burnCode(grant: OAuthCodeGrant<C>): void {
    grant.used = true;
  }

  /** Spend a code for an access + refresh token pair, remembered so a replay can revoke them. */
  redeemCode(grant: OAuthCodeGrant<C>, extra: T): OAuthIssued {
    grant.used = true;
    const accessToken = this.issueAccess(grant.clientId, extra);
    const refreshToken = this.issueRefresh(grant.clientId, extra);
    grant.issued = { access: accessToken, refresh: refreshToken };
    return { accessToken, refreshToken };
  }

  // --- tokens ----------------------------------------------------------------------------------

  issueAccess(clientId: string, extra: T): string {
    const token = this.options.newAccessToken();
    this.access.set(token, { ...extra, clientId, expiresAt: this.ttlMs === null ? null : this.now() + this.ttlMs, revoked: false });
    return token;
  }

  issueRefresh(clientId: string, extra: T): string {
    const token = this.options.newRefreshToken();
    this.refresh.set(token, { ...extra, clientId, revoked: false });
    return token;
  }

  /** Order of checks: unknown, revoked, expired (providers map these to their own answers). */
  checkAccess(token: string): OAuthAccessCheck<T> {
    const grant = this.access.get(token);
    if (!grant) return { status: 'unknown' };
    if (grant.revoked) return { status: 'revoked', grant };
    const now = this.now();
    if (grant.expiresAt !== null && now >= grant.expiresAt) return { status: 'expired', grant, expiredMs: now - grant.expiresAt };
    return { status: 'live', grant };
  }

  /** The refresh grant if it was issued, is not revoked, and (a used one kept for retries) is within its retention. */
  liveRefresh(token: string): OAuthRefreshGrant<T> | undefined {
    const grant = this.refresh.get(token);
    if (!grant || grant.revoked) return undefined;
    const retain = this.options.retainUsedRefreshMs;
    if (grant.firstUsedAt !== undefined && retain !== undefined && this.now() >= grant.firstUsedAt + retain) return undefined;
    return grant;
  }

  /**
   * Use a live refresh token (check it with liveRefresh first): a new access token, and with
   * rotation on a new refresh token too while the old one is revoked. `extra` goes on both.
   */
  exchangeRefresh(token: string, extra: T): OAuthIssued {
    const grant = this.liveRefresh(token);
    if (!grant) throw new Error('exchangeRefresh: refresh token is not live');
    let refreshToken = token;
    if (this.rotateRefreshTokens) {
      refreshToken = this.issueRefresh(grant.clientId, extra);
      if (this.options.retainUsedRefreshMs === undefined) grant.revoked = true;
      else {
        // Kept for a retry until its replacement is used; using this one retires the one it replaced.
        grant.firstUsedAt ??= this.now();
        if (grant.replaces !== undefined) this.revoke(this.refresh.get(grant.replaces));
        (this.refresh.get(refreshToken) as OAuthRefreshGrant<T>).replaces = token;
      }
    }
    return { accessToken: this.issueAccess(grant.clientId, extra), refreshToken };
  }

  /** Revokes a live access token of `clientId`; false when there is none. */
  revokeAccess(token: string, clientId: string): boolean {
    const grant = this.access.get(token);
    if (!grant || grant.revoked || grant.clientId !== clientId) return false;
    grant.revoked = true;
    return true;
  }

  revokeRefresh(token: string): boolean {
    const grant = this.liveRefresh(token);
    if (grant) grant.revoked = true;
    return grant !== undefined;
  }

  /** Revoke every unrevoked access and refresh grant that matches; how many were revoked. */
  revokeWhere(match: (grant: OAuthRefreshGrant<T>) => boolean): number {
    const hits = [...this.access.values(), ...this.refresh.values()].filter((g) => !g.revoked && match(g));
    for (const g of hits) g.revoked = true;
    return hits.length;
  }

  // --- log, state, admin -----------------------------------------------------------------------

  record(entry: Omit<L, 'at'>): void {
    this.log.push({ ...entry, at: this.now() } as L);
  }

  /** Token-endpoint calls so far, oldest first. */
  grants(): L[] {
    return this.log.slice();
  }

  /** Token-endpoint calls that issued tokens, optionally of one grant type. */
  successfulGrants(grantType?: string): number {
    return this.log.filter((g) => g.error === null && (!grantType || g.grantType === grantType)).length;
  }

  resetGrants(): void {
    this.log.length = 0;
  }

  /** The provider-neutral part of GET /__emulator/oauth (providers add theirs in their own order). */
  state() {
    const now = this.now();
    const byGrantType: Record<string, { ok: number; failed: number }> = {};
    for (const g of this.log) {
      const entry = (byGrantType[g.grantType] ??= { ok: 0, failed: 0 });
      if (g.error === null) entry.ok += 1;
      else entry.failed += 1;
    }
    return {
      rotateRefreshTokens: this.rotateRefreshTokens,
      accessTokenTtlSeconds: this.accessTokenTtlSeconds,
      liveAccessTokens: [...this.access.values()].filter((g) => !g.revoked && (g.expiresAt === null || g.expiresAt > now)).length,
      liveRefreshTokens: [...this.refresh.keys()].filter((t) => this.liveRefresh(t) !== undefined).length,
      byGrantType,
    };
  }

  /** PUT /__emulator/oauth. Throws TypeError on bad input. */
  configure(input: OAuthAdminSwitches): void {
    if (typeof input !== 'object' || input === null) throw new TypeError('Body must be an object.');
    if (input.rotateRefreshTokens !== undefined) {
      if (typeof input.rotateRefreshTokens !== 'boolean') throw new TypeError('rotateRefreshTokens must be a boolean.');
      this.rotateRefreshTokens = input.rotateRefreshTokens;
    }
    const past = this.now() - 1;
    // A token that would never expire expires now too.
    const expire = (g: OAuthAccessGrant<T>) => (g.expiresAt = g.expiresAt === null ? past : Math.min(g.expiresAt, past));
    if (input.expireAllAccessTokens === true) for (const g of this.access.values()) expire(g);
    if (input.expireAccessToken !== undefined) {
      const g = this.access.get(String(input.expireAccessToken));
      if (!g) throw new TypeError('expireAccessToken: no such access token.');
      expire(g);
    }
    if (input.revokeRefreshToken !== undefined) {
      const g = this.refresh.get(String(input.revokeRefreshToken));
      if (!g) throw new TypeError('revokeRefreshToken: no such refresh token.');
      g.revoked = true;
    }
  }

  private revoke(g: { revoked: boolean } | undefined): void {
    if (g) g.revoked = true;
  }
}

// ---------------------------------------------------------------------------------------------

/** The HTML page an authorize endpoint shows when it cannot redirect back (bad client or URI). */
export function oauthErrorPage(status: number, message: string, title: string, heading: string): EmulatorReply {
  const escaped = message.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!doctype html><html><head><title>${title}</title></head><body><h1>${heading}</h1><p>${escaped}</p></body></html>`,
  };
}

/** Constant-time comparison for client secrets (length still leaks, as with any such compare). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
