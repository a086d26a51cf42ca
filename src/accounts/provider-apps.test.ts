// Unit tests, no network and no Redis, for:
//   - provider-apps.ts: fillTemplate, resolveFileCredential and ProviderApps (default and
//     overridden endpoints/scopes, Shopify-style {shop} templates, revocation, tokenClient,
//     problems()) against fake connectors declared with defineConnector, plus the manifest checks
//     defineConnector applies to the OAuth modes those connectors use (Salesforce-, Xero-like);
//   - connect.ts: returnUrlAllowed (exact entries, prefixes, normalisation, refusals);
//   - scopes.ts: scopeError and scopesFromClaim.
import { GraphQLError, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { defineConnector } from '../../connectors/sdk/define.ts';
import { COVERED_FIELDS, NEVER } from '../../connectors/sdk/coverage.ts';
import type { ContactModel } from '../../connectors/sdk/models.ts';
import type { Connector, ConnectorManifest, EntityLoader, OAuth2Mode } from '../../connectors/sdk/types.ts';
import type { ApiKeyScope, ConnectionConfig, GatewayConfig, ProviderRegistration } from '../config.ts';
import { returnUrlAllowed } from './connect/browser.ts';
import { fillTemplate, ProviderApps, resolveFileCredential } from './provider-apps.ts';
import { scopeError, scopesFromClaim } from '../callers/scopes.ts';

// ─── fake connectors ────────────────────────────────────────────────────────────────────────────

const contactLoader: EntityLoader<ContactModel> = {
  byIds: async () => [],
  list: async () => ({ nodes: [], endCursor: null, hasNextPage: false }),
};

function oauth2(overrides: Partial<OAuth2Mode> = {}): OAuth2Mode {
  return {
    authorizationUrl: 'https://auth.example.com/oauth/authorize',
    tokenUrl: 'https://api.example.com/oauth/token',
    revocation: { type: 'rfc7009', url: 'https://api.example.com/oauth/revoke' },
    scopes: ['contacts.read', 'invoices.read'],
    scopeSeparator: ' ',
    pkce: true,
    clientAuth: 'client_secret_post',
    grants: ['authorization_code'],
    refreshTokenRotation: 'never',
    ...overrides,
  };
}

function manifest(id: string, auth: ConnectorManifest['auth']): ConnectorManifest {
  return {
    id,
    displayName: `${id[0]!.toUpperCase()}${id.slice(1)}`,
    auth,
    defaultBaseUrl: `https://api.${id}.example.com`,
    maxBatchSize: { Contact: 50 },
    maxConcurrency: 4,
    maxPageSize: 100,
    entities: ['Contact'],
    rateLimits: { windows: [{ requests: 100, windowMs: 10_000 }] },
    webhooks: { toleranceSeconds: null, signatureHeader: null, timestampHeader: null },
  };
}

function fakeConnector(id: string, auth: ConnectorManifest['auth']): Connector {
  // Coverage is not what these tests are about: the fake declares it fills no field.
  const coverage = { Contact: Object.fromEntries(Object.keys(COVERED_FIELDS.Contact).map((f) => [f, NEVER])) as never };
  return defineConnector({ manifest: manifest(id, auth), loaders: { Contact: contactLoader }, coverage });
}

const acme = fakeConnector('acme', { oauth2: oauth2(), apiKey: { label: 'API key' } });

const shopify = fakeConnector('shopify', {
  oauth2: oauth2({
    authorizationUrl: 'https://{shop}/admin/oauth/authorize',
    tokenUrl: 'https://{shop}/admin/oauth/access_token',
    revocation: { type: 'none' },
    scopes: ['read_customers', 'read_orders'],
    scopeSeparator: ',',
    pkce: false,
    connectParams: [{ name: 'shop', pattern: '[a-z0-9][a-z0-9-]*\\.myshopify\\.com', description: 'the shop domain, like acme.myshopify.com' }],
  }),
});

const salesforce = fakeConnector('salesforce', {
  oauth2: oauth2({
    authorizationUrl: 'https://login.salesforce.com/services/oauth2/authorize',
    tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
    revocation: { type: 'rfc7009', url: 'https://login.salesforce.com/services/oauth2/revoke' },
    scopes: ['api', 'refresh_token'],
    baseUrlFromTokenResponse: { field: 'instance_url', hostPattern: '[a-z0-9-]+\\.my\\.salesforce\\.com' },
    refreshTokenRotation: 'optional',
    authorizeParams: { prompt: 'consent' },
  }),
});

const xero = fakeConnector('xero', {
  oauth2: oauth2({
    authorizationUrl: 'https://login.xero.com/identity/connect/authorize',
    tokenUrl: 'https://identity.xero.com/connect/token',
    revocation: { type: 'rfc7009', url: 'https://identity.xero.com/connect/revocation' },
    scopes: ['offline_access', 'accounting.contacts.read'],
    pkce: false,
    clientAuth: 'client_secret_basic',
    refreshTokenRotation: 'always',
  }),
});

const keyOnly = fakeConnector('keyonly', { apiKey: { label: 'secret key' } });

const CONNECTORS: ReadonlyMap<string, Connector> = new Map([acme, shopify, salesforce, xero, keyOnly].map((c) => [c.manifest.id, c]));

function oauthReg(extra: Partial<NonNullable<ProviderRegistration['oauth']>> = {}): ProviderRegistration {
  return { oauth: { clientId: 'client-id', clientSecret: { type: 'static', token: 'client-secret' }, ...extra } };
}

type AppsConfig = Pick<GatewayConfig, 'providers' | 'allowInsecureOAuth'>;

function apps(providers: AppsConfig['providers'], env: NodeJS.ProcessEnv = {}, allowInsecureOAuth = false): ProviderApps {
  return new ProviderApps({ providers, allowInsecureOAuth }, CONNECTORS, env);
}

function connection(provider: string, settings: Record<string, unknown> = {}): ConnectionConfig {
  return { id: `conn_${provider}`, provider, credentials: { type: 'vault' }, settings };
}

// ─── fillTemplate / resolveFileCredential ───────────────────────────────────────────────────────

describe('fillTemplate', () => {
  it('fills every placeholder', () => {
    expect(fillTemplate('https://{shop}/admin/{version}/x', { shop: 'acme.myshopify.com', version: '2025-01' })).toBe(
      'https://acme.myshopify.com/admin/2025-01/x',
    );
  });

  it('fills a placeholder used twice', () => {
    expect(fillTemplate('{a}-{a}', { a: 'x' })).toBe('x-x');
  });

  it('answers null when a parameter is missing', () => {
    expect(fillTemplate('https://{shop}/admin/oauth/authorize', {})).toBeNull();
    expect(fillTemplate('https://{shop}/{region}', { shop: 'acme.myshopify.com' })).toBeNull();
  });

  it('leaves a template without placeholders unchanged (extra params are ignored)', () => {
    expect(fillTemplate('https://api.example.com/oauth/token', {})).toBe('https://api.example.com/oauth/token');
    expect(fillTemplate('https://api.example.com/oauth/token', { shop: 'acme.myshopify.com' })).toBe('https://api.example.com/oauth/token');
  });
});

describe('resolveFileCredential', () => {
  it('answers a static token as is', () => {
    expect(resolveFileCredential('x', { type: 'static', token: 'tok' }, {})).toBe('tok');
  });

  it('reads an environment variable that is set', () => {
    expect(resolveFileCredential('x', { type: 'env', variable: 'APP_SECRET' }, { APP_SECRET: 's3cr3t' })).toBe('s3cr3t');
  });

  it('throws naming the variable, never a value, when it is not set (or empty)', () => {
    const env = { OTHER_SECRET: 'do-not-leak' };
    let message = '';
    try {
      resolveFileCredential('providers.acme.oauth.clientSecret', { type: 'env', variable: 'APP_SECRET' }, env);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('providers.acme.oauth.clientSecret');
    expect(message).toContain('APP_SECRET');
    expect(message).not.toContain('do-not-leak');
    expect(() => resolveFileCredential('x', { type: 'env', variable: 'APP_SECRET' }, { APP_SECRET: '' })).toThrow(/APP_SECRET is not set/);
  });
});

// ─── defineConnector: OAuth mode checks ─────────────────────────────────────────────────────────

describe('defineConnector (auth modes)', () => {
  it('accepts Salesforce-like (instance_url, optional rotation) and Xero-like (basic auth, always rotates) modes', () => {
    expect(salesforce.manifest.auth.oauth2?.baseUrlFromTokenResponse?.field).toBe('instance_url');
    expect(salesforce.manifest.auth.oauth2?.refreshTokenRotation).toBe('optional');
    expect(xero.manifest.auth.oauth2?.clientAuth).toBe('client_secret_basic');
    expect(xero.manifest.auth.oauth2?.refreshTokenRotation).toBe('always');
    expect(xero.manifest.auth.oauth2?.revocation).toEqual({ type: 'rfc7009', url: 'https://identity.xero.com/connect/revocation' });
  });

  it('accepts https URLs holding {param} placeholders', () => {
    expect(shopify.manifest.auth.oauth2?.tokenUrl).toBe('https://{shop}/admin/oauth/access_token');
  });

  it('rejects a manifest with no auth mode at all', () => {
    expect(() => fakeConnector('noauth', {})).toThrow(/at least one auth mode/);
  });

  it('rejects an oauth2 mode whose authorizationUrl is not https', () => {
    expect(() => fakeConnector('plain', { oauth2: oauth2({ authorizationUrl: 'http://auth.example.com/oauth/authorize' }) })).toThrow(
      /manifest\.auth\.oauth2\.authorizationUrl: an https URL/,
    );
  });

  it('rejects an oauth2 mode whose tokenUrl is not https', () => {
    expect(() => fakeConnector('plain', { oauth2: oauth2({ tokenUrl: 'http://api.example.com/oauth/token' }) })).toThrow(/manifest\.auth\.oauth2\.tokenUrl/);
  });
});

// ─── ProviderApps ───────────────────────────────────────────────────────────────────────────────

describe('ProviderApps.oauthApp', () => {
  it("uses the manifest's endpoints and scopes by default", () => {
    const app = apps({ acme: oauthReg() }).oauthApp('acme');
    expect(app).toEqual({
      provider: 'acme',
      mode: acme.manifest.auth.oauth2,
      clientId: 'client-id',
      clientSecret: 'client-secret',
      authorizationUrl: 'https://auth.example.com/oauth/authorize',
      tokenUrl: 'https://api.example.com/oauth/token',
      revocationUrl: 'https://api.example.com/oauth/revoke',
      scopes: ['contacts.read', 'invoices.read'],
      redirectUri: null,
      allowInsecureRequests: false,
    });
  });

  it("applies the operator's overrides (sandbox or emulator endpoints, scopes, redirect URI)", () => {
    const app = apps(
      {
        acme: oauthReg({
          authorizationUrl: 'http://127.0.0.1:4000/oauth/authorize',
          tokenUrl: 'http://127.0.0.1:4000/oauth/token',
          revocationUrl: 'http://127.0.0.1:4000/oauth/revoke',
          scopes: ['contacts.read'],
          redirectUri: 'https://gateway.example.com/connect/acme/callback',
        }),
      },
      {},
      true,
    ).oauthApp('acme');
    expect(app).toMatchObject({
      authorizationUrl: 'http://127.0.0.1:4000/oauth/authorize',
      tokenUrl: 'http://127.0.0.1:4000/oauth/token',
      revocationUrl: 'http://127.0.0.1:4000/oauth/revoke',
      scopes: ['contacts.read'],
      redirectUri: 'https://gateway.example.com/connect/acme/callback',
      allowInsecureRequests: true,
    });
  });

  it('resolves a client secret held in an environment variable', () => {
    const app = apps({ acme: oauthReg({ clientSecret: { type: 'env', variable: 'ACME_SECRET' } }) }, { ACME_SECRET: 'from-env' }).oauthApp('acme');
    expect(app?.clientSecret).toBe('from-env');
  });

  it('fills per-shop URLs from connect parameters (Shopify-like), and answers null without them', () => {
    const registry = apps({ shopify: oauthReg() });
    const app = registry.oauthApp('shopify', { shop: 'acme.myshopify.com' });
    expect(app?.authorizationUrl).toBe('https://acme.myshopify.com/admin/oauth/authorize');
    expect(app?.tokenUrl).toBe('https://acme.myshopify.com/admin/oauth/access_token');
    expect(app?.scopes).toEqual(['read_customers', 'read_orders']);
    expect(registry.oauthApp('shopify')).toBeNull();
    expect(registry.oauthApp('shopify', { other: 'x' })).toBeNull();
  });

  it("answers revocationUrl null for revocation type 'none', even with an operator override", () => {
    expect(apps({ shopify: oauthReg() }).oauthApp('shopify', { shop: 'acme.myshopify.com' })?.revocationUrl).toBeNull();
    expect(
      apps({ shopify: oauthReg({ revocationUrl: 'https://revoke.example.com/' }) }).oauthApp('shopify', { shop: 'acme.myshopify.com' })?.revocationUrl,
    ).toBeNull();
  });

  it('answers null when no app is registered, the registration has no oauth, the connector has no OAuth, or the provider is unknown', () => {
    expect(apps({}).oauthApp('acme')).toBeNull();
    expect(apps({ acme: { webhookSecret: { type: 'static', token: 'whsec' } } }).oauthApp('acme')).toBeNull();
    expect(apps({ keyonly: oauthReg() }).oauthApp('keyonly')).toBeNull();
    expect(apps({ nosuch: oauthReg() }).oauthApp('nosuch')).toBeNull();
  });

  it('registration() answers the registration or null', () => {
    const reg = oauthReg();
    const registry = apps({ acme: reg });
    expect(registry.registration('acme')).toBe(reg);
    expect(registry.registration('xero')).toBeNull();
  });
});

describe('ProviderApps.tokenClient', () => {
  it('answers what the token manager needs (Xero-like: client_secret_basic)', () => {
    expect(apps({ xero: oauthReg() }).tokenClient(connection('xero'))).toEqual({
      tokenEndpoint: 'https://identity.xero.com/connect/token',
      clientId: 'client-id',
      clientSecret: 'client-secret',
      clientAuth: 'client_secret_basic',
      scopeSeparator: ' ',
      allowInsecureRequests: false,
    });
  });

  it("fills the token URL from the connection's string settings (Shopify-like shop)", () => {
    const client = apps({ shopify: oauthReg() }).tokenClient(connection('shopify', { shop: 'acme.myshopify.com', portalId: 42, flag: true }));
    expect(client?.tokenEndpoint).toBe('https://acme.myshopify.com/admin/oauth/access_token');
    expect(client?.clientAuth).toBe('client_secret_post');
    expect(client?.scopeSeparator).toBe(',');
  });

  it('ignores non-string settings when filling placeholders, and answers null when one stays unfilled', () => {
    const registry = apps({ shopify: oauthReg() });
    expect(registry.tokenClient(connection('shopify', { shop: 123 }))).toBeNull();
    expect(registry.tokenClient(connection('shopify'))).toBeNull();
  });

  it('answers null without a registration', () => {
    expect(apps({}).tokenClient(connection('acme'))).toBeNull();
  });
});

describe('ProviderApps.problems', () => {
  it('answers nothing for valid registrations', () => {
    expect(apps({ acme: oauthReg({ clientSecret: { type: 'env', variable: 'ACME_SECRET' } }), shopify: oauthReg() }, { ACME_SECRET: 'x' }).problems()).toEqual(
      [],
    );
  });

  it('reports an unknown provider, naming the known ones', () => {
    const problems = apps({ nosuch: oauthReg() }).problems();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^providers\.nosuch: unknown provider/);
    expect(problems[0]).toContain('acme');
    expect(problems[0]).toContain('shopify');
  });

  it('reports an oauth registration for a connector without OAuth', () => {
    expect(apps({ keyonly: oauthReg() }).problems()).toEqual(['providers.keyonly.oauth: Keyonly has no OAuth flow']);
  });

  it('reports environment variables that are not set (client secret and webhook secret), never a value', () => {
    const env = { SET_BUT_UNRELATED: 'do-not-leak' };
    const problems = apps(
      {
        acme: {
          ...oauthReg({ clientSecret: { type: 'env', variable: 'ACME_CLIENT_SECRET' } }),
          webhookSecret: { type: 'env', variable: 'ACME_WEBHOOK_SECRET' },
        },
      },
      env,
    ).problems();
    expect(problems).toEqual([
      'providers.acme.oauth.clientSecret: environment variable ACME_CLIENT_SECRET is not set',
      'providers.acme.webhookSecret: environment variable ACME_WEBHOOK_SECRET is not set',
    ]);
    expect(problems.join('\n')).not.toContain('do-not-leak');
  });
});

// ─── returnUrlAllowed ───────────────────────────────────────────────────────────────────────────

describe('returnUrlAllowed', () => {
  const list = ['https://app.example.com/done', 'https://app.example.com/connected/'];

  it('allows an exact entry', () => {
    expect(returnUrlAllowed('https://app.example.com/done', list)).toBe(true);
  });

  it('allows an exact entry with a query string appended', () => {
    expect(returnUrlAllowed('https://app.example.com/done?tab=crm&x=1', list)).toBe(true);
  });

  it('allows sub-paths of a prefix entry ending in "/"', () => {
    expect(returnUrlAllowed('https://app.example.com/connected/', list)).toBe(true);
    expect(returnUrlAllowed('https://app.example.com/connected/hubspot/ok?x=1', list)).toBe(true);
  });

  it('refuses path traversal out of a prefix (URL normalisation)', () => {
    expect(returnUrlAllowed('https://app.example.com/connected/../admin', list)).toBe(false);
    expect(returnUrlAllowed('https://app.example.com/connected/%2e%2e/admin', list)).toBe(false);
    expect(returnUrlAllowed('https://app.example.com/connected/..\\admin', list)).toBe(false);
  });

  it('refuses another scheme, host or port', () => {
    expect(returnUrlAllowed('http://app.example.com/done', list)).toBe(false);
    expect(returnUrlAllowed('https://evil.example.com/done', list)).toBe(false);
    expect(returnUrlAllowed('https://app.example.com.evil.com/connected/x', list)).toBe(false);
    expect(returnUrlAllowed('https://app.example.com:8443/done', list)).toBe(false);
  });

  it('refuses user info', () => {
    expect(returnUrlAllowed('https://a@app.example.com/done', list)).toBe(false);
    expect(returnUrlAllowed('https://a:b@app.example.com/connected/x', list)).toBe(false);
  });

  it('refuses a fragment', () => {
    expect(returnUrlAllowed('https://app.example.com/done#x', list)).toBe(false);
    expect(returnUrlAllowed('https://app.example.com/connected/x#frag', list)).toBe(false);
  });

  it('refuses what is not a URL', () => {
    expect(returnUrlAllowed('not a url', list)).toBe(false);
    expect(returnUrlAllowed('/done', list)).toBe(false);
    expect(returnUrlAllowed('', list)).toBe(false);
  });

  it('does not treat an entry without a trailing slash as a prefix', () => {
    expect(returnUrlAllowed('https://app.example.com/donefoo', list)).toBe(false);
    expect(returnUrlAllowed('https://app.example.com/done/more', list)).toBe(false);
  });

  it('refuses everything with an empty allow-list', () => {
    expect(returnUrlAllowed('https://app.example.com/done', [])).toBe(false);
  });
});

// ─── scopes ─────────────────────────────────────────────────────────────────────────────────────

describe('scopeError', () => {
  const all = new Set<ApiKeyScope>(['read', 'subscribe', 'admin']);
  const only = (...s: ApiKeyScope[]) => new Set<ApiKeyScope>(s);

  function expectForbidden(err: GraphQLError | null, needed: string): void {
    expect(err).toBeInstanceOf(GraphQLError);
    expect(err?.extensions.code).toBe('FORBIDDEN');
    expect(err?.message).toContain(`"${needed}"`);
  }

  it('a query needs read', () => {
    const doc = parse('{ __typename }');
    expect(scopeError(doc, null, only('read'))).toBeNull();
    expectForbidden(scopeError(doc, null, only('subscribe', 'admin')), 'read');
  });

  it('a mutation needs admin', () => {
    const doc = parse('mutation { disconnect(id: "x") }');
    expect(scopeError(doc, undefined, only('admin'))).toBeNull();
    expectForbidden(scopeError(doc, undefined, only('read', 'subscribe')), 'admin');
  });

  it('a subscription needs subscribe', () => {
    const doc = parse('subscription { changes { id } }');
    expect(scopeError(doc, null, only('subscribe'))).toBeNull();
    expectForbidden(scopeError(doc, null, only('read', 'admin')), 'subscribe');
  });

  it('picks the operation named by operationName among several', () => {
    const doc = parse('query Q { __typename } mutation M { disconnect(id: "x") } subscription S { changes { id } }');
    const readOnly = only('read');
    expect(scopeError(doc, 'Q', readOnly)).toBeNull();
    expectForbidden(scopeError(doc, 'M', readOnly), 'admin');
    expectForbidden(scopeError(doc, 'S', readOnly), 'subscribe');
    expect(scopeError(doc, 'M', all)).toBeNull();
  });

  it('leaves a missing or ambiguous operation to graphql-js (null)', () => {
    const doc = parse('query Q { __typename } mutation M { disconnect(id: "x") }');
    expect(scopeError(doc, null, only())).toBeNull();
    expect(scopeError(doc, 'Nope', only())).toBeNull();
  });
});

describe('scopesFromClaim', () => {
  it('gives read and subscribe without a claim', () => {
    expect(scopesFromClaim(undefined)).toEqual(['read', 'subscribe']);
  });

  it('reads a space-separated claim, dropping unknown values', () => {
    expect(scopesFromClaim('read admin')).toEqual(['read', 'admin']);
    expect(scopesFromClaim('openid  read\tprofile subscribe write')).toEqual(['read', 'subscribe']);
    expect(scopesFromClaim('openid profile')).toEqual([]);
    expect(scopesFromClaim('')).toEqual([]);
  });
});

describe('hardening found by review', () => {
  it('tokenClient refuses a placeholder value that does not match its connectParams pattern', () => {
    const apps = new ProviderApps(
      { providers: { shopify: { oauth: { clientId: 'id', clientSecret: { type: 'static', token: 'secret' } } } }, allowInsecureOAuth: false },
      new Map([['shopify', shopify]]),
      {},
    );
    const connection = { id: 'c', provider: 'shopify', credentials: { type: 'vault' as const }, settings: { shop: 'evil.com/x?' } };
    expect(apps.tokenClient(connection)).toBeNull();
    expect(apps.oauthApp('shopify', { shop: 'evil.com/x?' })).toBeNull();
  });

  it('returnUrlAllowed refuses an empty fragment', () => {
    expect(returnUrlAllowed('https://app.example.com/connected/x#', ['https://app.example.com/connected/'])).toBe(false);
  });
});
