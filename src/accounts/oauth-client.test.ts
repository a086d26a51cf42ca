// The token-response defaults a connector declares (manifest tokenResponseDefaults), applied in the
// shared OAuth client: openid-client refuses a token response without token_type (Shopify sends
// none); with the default filled in it is read, and a field the provider does send is kept.
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { oauthConfiguration } from './oauth-client.ts';

const TOKEN_URL = 'https://shop.example.com/admin/oauth/access_token';

/** A token endpoint answering `body`, recording what it was asked. */
function endpoint(body: Record<string, unknown>, contentType = 'application/json; charset=utf-8') {
  const calls: string[] = [];
  const fetch: client.CustomFetch = async (url) => {
    calls.push(url);
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': contentType } });
  };
  return { fetch, calls };
}

const shopifyAnswer = { access_token: 'shpat_new', scope: 'read_orders', expires_in: 3600, refresh_token: 'shprt_new' };

describe('oauthConfiguration tokenResponseDefaults', () => {
  it('without defaults, a response lacking token_type is refused (the bug this fixes)', async () => {
    const { fetch } = endpoint(shopifyAnswer);
    const config = oauthConfiguration({ tokenEndpoint: TOKEN_URL, clientId: 'c', clientSecret: 's', fetch });
    await expect(client.refreshTokenGrant(config, 'shprt_old')).rejects.toMatchObject({
      code: 'OAUTH_INVALID_RESPONSE',
      cause: { message: expect.stringMatching(/token_type/) },
    });
  });

  it('with the declared default the response is read, and its other fields are kept', async () => {
    const { fetch, calls } = endpoint(shopifyAnswer);
    const config = oauthConfiguration({ tokenEndpoint: TOKEN_URL, clientId: 'c', clientSecret: 's', fetch, tokenResponseDefaults: { token_type: 'bearer' } });
    const tokens = await client.refreshTokenGrant(config, 'shprt_old');
    expect(tokens).toMatchObject({ access_token: 'shpat_new', refresh_token: 'shprt_new', expires_in: 3600, scope: 'read_orders', token_type: 'bearer' });
    expect(calls).toEqual([TOKEN_URL]);
  });

  it('a field the provider sends wins over the default', async () => {
    const { fetch } = endpoint({ ...shopifyAnswer, token_type: 'DPoP' });
    const config = oauthConfiguration({ tokenEndpoint: TOKEN_URL, clientId: 'c', clientSecret: 's', fetch, tokenResponseDefaults: { token_type: 'bearer' } });
    expect((await client.refreshTokenGrant(config, 'shprt_old')).token_type).toBe('dpop');
  });
});
