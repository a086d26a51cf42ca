// OAuthGrantBook on its own, with a hand-driven clock and counting token generators: the rules the
// HubSpot and Stripe emulators share (their HTTP behaviour is tested in their own oauth.test.ts).
import { describe, expect, it } from 'vitest';
import { OAuthGrantBook, oauthErrorPage, sameSecret, type OAuthGrantBookOptions } from './oauth-emulator.ts';

function book(options: Partial<OAuthGrantBookOptions> = {}) {
  const clock = { t: 1_000_000 };
  let n = 0;
  const b = new OAuthGrantBook<{ scope: string }, { scope: string }>({
    accessTokenTtlMs: 60_000,
    codeTtlMs: 10_000,
    rotateRefreshTokens: false,
    newCode: () => `code-${++n}`,
    newAccessToken: () => `at-${++n}`,
    newRefreshToken: () => `rt-${++n}`,
    now: () => clock.t,
    ...options,
  });
  return { b, clock };
}

/** Authorize + redeem: the code and the pair it issued. */
function connect(b: OAuthGrantBook<{ scope: string }, { scope: string }>) {
  const code = b.issueCode('client-1', { scope: 'read' });
  const opened = b.openCode(code);
  if (opened.status !== 'open') throw new Error(`code not open: ${opened.status}`);
  return { code, ...b.redeemCode(opened.grant, { scope: opened.grant.scope }) };
}

describe('OAuthGrantBook codes', () => {
  it('redeems a code once; a second use is a replay', () => {
    const { b } = book();
    const { code, accessToken } = connect(b);
    expect(b.checkAccess(accessToken).status).toBe('live');
    expect(b.openCode(code).status).toBe('replayed');
  });

  it('a replayed code revokes the tokens it issued (RFC 6749 §4.1.2)', () => {
    const { b } = book();
    const { code, accessToken, refreshToken } = connect(b);
    b.openCode(code);
    expect(b.checkAccess(accessToken).status).toBe('revoked');
    expect(b.liveRefresh(refreshToken)).toBeUndefined();
  });

  it("another client's code is unknown, and its attempt revokes nothing", () => {
    const { b } = book();
    const { code, accessToken } = connect(b);
    expect(b.openCode(code, 'client-2').status).toBe('unknown');
    expect(b.checkAccess(accessToken).status).toBe('live');
    expect(b.openCode('nope').status).toBe('unknown');
  });

  it('an expired code is burned; a burned code is a replay that revokes nothing', () => {
    const { b, clock } = book();
    const code = b.issueCode('client-1', { scope: 'read' });
    clock.t += 10_000;
    expect(b.openCode(code).status).toBe('expired');
    expect(b.openCode(code).status).toBe('replayed');

    const other = b.issueCode('client-1', { scope: 'read' });
    const opened = b.openCode(other);
    if (opened.status !== 'open') throw new Error('expected open');
    b.burnCode(opened.grant);
    expect(b.openCode(other).status).toBe('replayed');
    expect(b.state().liveAccessTokens).toBe(0);
  });
});

describe('OAuthGrantBook refresh', () => {
  it('without rotation keeps the refresh token and issues a new access token', () => {
    const { b } = book();
    const { accessToken, refreshToken } = connect(b);
    const next = b.exchangeRefresh(refreshToken, { scope: 'read' });
    expect(next.refreshToken).toBe(refreshToken);
    expect(next.accessToken).not.toBe(accessToken);
    expect(b.liveRefresh(refreshToken)).toBeDefined();
  });

  it('with rotation revokes the old refresh token and issues a new one', () => {
    const { b } = book({ rotateRefreshTokens: true });
    const { refreshToken } = connect(b);
    const next = b.exchangeRefresh(refreshToken, { scope: 'read' });
    expect(next.refreshToken).not.toBe(refreshToken);
    expect(b.liveRefresh(refreshToken)).toBeUndefined();
    expect(b.liveRefresh(next.refreshToken)?.clientId).toBe('client-1');
    expect(() => b.exchangeRefresh(refreshToken, { scope: 'read' })).toThrow(/not live/);
  });

  it('with retainUsedRefreshMs a used refresh token stays usable until its replacement is used, or the retention ends (Shopify)', () => {
    const { b, clock } = book({ rotateRefreshTokens: true, retainUsedRefreshMs: 30_000 });
    const { refreshToken: first } = connect(b);
    const second = b.exchangeRefresh(first, { scope: 'read' }).refreshToken;
    // The answer was "lost": the client retries with the token it still has.
    expect(b.liveRefresh(first)).toBeDefined();
    const retried = b.exchangeRefresh(first, { scope: 'read' }).refreshToken;
    expect(retried).not.toBe(second);
    // Using the replacement retires the token it replaced.
    const third = b.exchangeRefresh(retried, { scope: 'read' }).refreshToken;
    expect(b.liveRefresh(first)).toBeUndefined();
    expect(b.liveRefresh(retried)).toBeDefined();
    expect(b.state().liveRefreshTokens).toBe(3); // second (never used), retried (kept until third is used), third
    // Retention counts from the first use: past it, a used token is dead even with its replacement unused.
    clock.t += 30_000;
    expect(b.liveRefresh(retried)).toBeUndefined();
    expect(b.liveRefresh(third)).toBeDefined();
  });

  it('revokeWhere revokes matching access and refresh grants and counts them', () => {
    const { b } = book();
    const { accessToken, refreshToken } = connect(b);
    expect(b.revokeWhere((g) => g.clientId === 'client-2')).toBe(0);
    expect(b.revokeWhere((g) => g.clientId === 'client-1')).toBe(2);
    expect(b.checkAccess(accessToken).status).toBe('revoked');
    expect(b.revokeRefresh(refreshToken)).toBe(false);
  });
});

describe('OAuthGrantBook expiry', () => {
  it('access tokens expire after the TTL and report how long ago', () => {
    const { b, clock } = book();
    const { accessToken } = connect(b);
    clock.t += 59_999;
    expect(b.checkAccess(accessToken).status).toBe('live');
    clock.t += 120_001;
    expect(b.checkAccess(accessToken)).toMatchObject({ status: 'expired', expiredMs: 120_000 });
  });

  it('a null TTL never expires, but the admin switch expires such tokens too', () => {
    const { b, clock } = book({ accessTokenTtlMs: null });
    const { accessToken } = connect(b);
    clock.t += 10 * 365 * 86_400_000;
    expect(b.checkAccess(accessToken).status).toBe('live');
    expect(b.state().accessTokenTtlSeconds).toBeNull();
    b.configure({ expireAccessToken: accessToken });
    expect(b.checkAccess(accessToken).status).toBe('expired');
  });
});

describe('OAuthGrantBook log, state and admin switches', () => {
  it('counts grants by type and live tokens', () => {
    const { b } = book();
    connect(b);
    b.record({ grantType: 'authorization_code', error: null });
    b.record({ grantType: 'refresh_token', error: 'invalid_grant' });
    b.record({ grantType: 'refresh_token', error: null });
    expect(b.successfulGrants()).toBe(2);
    expect(b.successfulGrants('refresh_token')).toBe(1);
    expect(b.grants().map((g) => g.at)).toEqual([1_000_000, 1_000_000, 1_000_000]);
    expect(b.state()).toEqual({
      rotateRefreshTokens: false,
      accessTokenTtlSeconds: 60,
      liveAccessTokens: 1,
      liveRefreshTokens: 1,
      byGrantType: { authorization_code: { ok: 1, failed: 0 }, refresh_token: { ok: 1, failed: 1 } },
    });
    b.resetGrants();
    expect(b.grants()).toEqual([]);
  });

  it('configure flips rotation, expires and revokes, and rejects bad input', () => {
    const { b } = book();
    const { accessToken, refreshToken } = connect(b);
    const second = connect(b);
    b.configure({ rotateRefreshTokens: true, revokeRefreshToken: refreshToken, expireAllAccessTokens: true });
    expect(b.rotateRefreshTokens).toBe(true);
    expect(b.liveRefresh(refreshToken)).toBeUndefined();
    expect(b.checkAccess(accessToken).status).toBe('expired');
    expect(b.checkAccess(second.accessToken).status).toBe('expired');
    expect(() => b.configure(null as never)).toThrow(TypeError);
    expect(() => b.configure({ rotateRefreshTokens: 'yes' as never })).toThrow(/must be a boolean/);
    expect(() => b.configure({ expireAccessToken: 'nope' })).toThrow(/no such access token/);
    expect(() => b.configure({ revokeRefreshToken: 'nope' })).toThrow(/no such refresh token/);
  });
});

describe('helpers', () => {
  it('oauthErrorPage escapes the message', () => {
    const page = oauthErrorPage(400, 'bad <uri> & "x"', 'T', 'H');
    expect(page.status).toBe(400);
    expect(page.body).toBe('<!doctype html><html><head><title>T</title></head><body><h1>H</h1><p>bad &#60;uri&#62; &#38; &#34;x&#34;</p></body></html>');
  });

  it('sameSecret compares exactly', () => {
    expect(sameSecret('s3cret', 's3cret')).toBe(true);
    expect(sameSecret('s3cret', 's3cre')).toBe(false);
    expect(sameSecret('s3cret', 's3creT')).toBe(false);
  });
});
