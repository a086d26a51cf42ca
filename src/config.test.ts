import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_ROLES, parseRoles, roleProblems } from './gateway/roles.ts';
import { ConfigError, DEFAULT_EVENT_SETTINGS, DEFAULT_LIMITS, defaultGatewayConfig, overridesFromEnv, parseEnv, parseTenantsFile } from './config.ts';

const HASH = 'a'.repeat(64);
const valid = {
  tenants: [
    {
      id: 'acme',
      apiKeys: [{ id: 'k', sha256: HASH }],
      connections: [{ id: 'acme-hubspot', provider: 'hubspot', credentials: { type: 'env', variable: 'ACME_TOKEN' } }],
    },
  ],
};

describe('tenants file', () => {
  it('accepts a valid file and fills defaults', () => {
    const file = parseTenantsFile(JSON.stringify(valid), 'tenants.json');
    expect(file.tenants[0]?.connections[0]?.settings).toEqual({});
  });

  it('names every problem with its path', () => {
    const bad = {
      tenants: [
        { id: 'acme', apiKeys: [{ id: 'k', sha256: 'not-hex' }], connections: [{ id: 'c1', provider: 'hubspot', credentials: { type: 'static' } }] },
        {
          id: 'acme',
          apiKeys: [{ id: 'k', sha256: HASH }],
          connections: [{ id: 'c1', provider: 'stripe', baseUrl: 'nope', credentials: { type: 'static', token: 't' } }],
        },
      ],
    };
    let message = '';
    try {
      parseTenantsFile(JSON.stringify(bad), 'tenants.json');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain('tenants.json is invalid');
    expect(message).toContain('tenants.0.apiKeys.0.sha256: 64 lower-case hex chars');
    expect(message).toContain('tenants.0.connections.0.credentials');
    expect(message).toContain('tenants.1.connections.0.baseUrl');
  });

  it('rejects duplicate tenant ids and connection ids shared by two tenants', () => {
    const dup = {
      tenants: [
        { id: 'acme', apiKeys: [{ id: 'k', sha256: HASH }], connections: [{ id: 'c1', provider: 'hubspot', credentials: { type: 'static', token: 't' } }] },
        {
          id: 'acme',
          apiKeys: [{ id: 'k', sha256: 'b'.repeat(64) }],
          connections: [{ id: 'c1', provider: 'stripe', credentials: { type: 'static', token: 't' } }],
        },
      ],
    };
    expect(() => parseTenantsFile(JSON.stringify(dup), 't.json')).toThrow(
      /duplicate tenant id "acme"[\s\S]*connection id "c1" is already used by tenant "acme"/,
    );
  });

  it('says what is wrong in a credential or webhook secret, not just "Invalid input"', () => {
    const file = {
      tenants: [
        {
          id: 'acme',
          apiKeys: [{ id: 'k', sha256: HASH }],
          connections: [{ id: 'c1', provider: 'stripe', credentials: { type: 'vault' }, webhookSecret: { type: 'static', value: 'whsec_x' } }],
        },
      ],
    };
    let message = '';
    try {
      parseTenantsFile(JSON.stringify(file), 'tenants.json');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/tenants\.0\.connections\.0\.credentials\.type: .*'static' \| 'env'/);
    expect(message).toContain('tenants.0.connections.0.webhookSecret.token');
    expect(message).toContain('tenants.0.connections.0.webhookSecret.value: unknown key');
    expect(message).not.toContain('whsec_x');
  });

  it('rejects text that is not JSON with a clear message', () => {
    expect(() => parseTenantsFile('{ nope', 'x.json')).toThrow(/x.json: not valid JSON/);
  });

  it('rejects the same API key listed for two tenants', () => {
    const twice = { tenants: [valid.tenants[0], { ...valid.tenants[0], id: 'other', connections: [] }] };
    expect(() => parseTenantsFile(JSON.stringify(twice), 't.json')).toThrow(/the same API key is listed twice/);
  });
});

describe('environment', () => {
  it('applies defaults', () => {
    expect(parseEnv({})).toMatchObject({ PORT: 4000, HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'info', REQUEST_DEADLINE_MS: 10_000 });
  });
  it('rejects bad values with the variable named', () => {
    expect(() => parseEnv({ PORT: '99999' })).toThrow(/PORT/);
    expect(() => parseEnv({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL: a redis:\/\/, rediss:\/\/ or redis\+cluster:\/\//);
    expect(() => parseEnv({ SWITCHBOARD_DEMO_API_KEY: 'short' })).toThrow(/at least 16 characters/);
  });
});

describe('SWITCHBOARD_ROLES', () => {
  it('parses a comma-separated list, defaults to every role, and names unknown roles', () => {
    expect([...parseRoles(' Webhooks, workers ')]).toEqual(['webhooks', 'workers']);
    expect(parseRoles(undefined)).toBe(ALL_ROLES);
    expect(parseRoles('')).toBe(ALL_ROLES);
    expect(() => parseEnv({ SWITCHBOARD_ROLES: 'api,worker' })).toThrow(
      /SWITCHBOARD_ROLES: unknown role "worker" \(known: api, webhooks, workers, subscriptions, pollers\)/,
    );
    expect(parseEnv({ SWITCHBOARD_ROLES: 'api,subscriptions' }).SWITCHBOARD_ROLES).toBe('api,subscriptions');
  });
  it('refuses a split without Redis, where the queue and change log would stay in one process', () => {
    expect(roleProblems(new Set(['webhooks']), null)).toEqual([expect.stringMatching(/SWITCHBOARD_ROLES=webhooks needs REDIS_URL/)]);
    expect(roleProblems(new Set(['webhooks']), 'redis://localhost:6379')).toEqual([]);
    expect(roleProblems(ALL_ROLES, null)).toEqual([]);
  });
});

describe('limits', () => {
  it('docs/configuration.md lists every limit of DEFAULT_LIMITS', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    expect(Object.keys(DEFAULT_LIMITS).filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
  });

  it('the environment overrides defaults through the config, one set of defaults', () => {
    const config = defaultGatewayConfig([], overridesFromEnv(parseEnv({ REQUEST_DEADLINE_MS: '4000', CACHE_TTL_SECONDS: '30' })));
    expect(config.limits).toEqual({ ...DEFAULT_LIMITS, requestDeadlineMs: 4000 });
    expect(config.cacheTtlSeconds).toEqual({ Contact: 30, Invoice: 30, Order: 30, listPage: 30 });
    expect(defaultGatewayConfig([]).limits).toEqual(DEFAULT_LIMITS);
  });
});

describe('event retries', () => {
  it('outlast several of the upstream breaker open spells, even with every delay at its jitter minimum', () => {
    const { maxAttempts, retryBaseDelayMs } = DEFAULT_EVENT_SETTINGS;
    // Exponential backoff with ±50 % jitter: the wait before attempt n+1 is at least half of base · 2^(n-1).
    let shortest = 0;
    for (let n = 1; n < maxAttempts; n++) shortest += 0.5 * retryBaseDelayMs * 2 ** (n - 1);
    expect(shortest).toBeGreaterThanOrEqual(3 * DEFAULT_LIMITS.breakerHalfOpenAfterMs);
    // …and a change that keeps failing still settles (dead letter) within a few minutes.
    expect(shortest * 3).toBeLessThanOrEqual(5 * 60_000);
  });
});
