// Fairness between tenants (issue 13): a tenant's request rate and requests in progress are
// limited at the gateway, shared by every replica through Redis; beyond them the answer is 429
// with Retry-After and a GraphQL body (RATE_LIMITED), and other tenants are unaffected.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { TenantAdmission } from '../src/limits/fairness.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { REDIS_URL, RUN_PREFIX, startStack, type Stack } from './helpers.ts';

const redis = new Redis(REDIS_URL);
afterAll(() => redis.quit());

const replica = (prefix: string) => new TenantAdmission({ redis, keyPrefix: prefix, timeoutMs: 1_000, leaseMs: 20_000, metrics: new Metrics() });
const limits = { tenantRequestsPerSecond: 1_000, tenantRequestBurst: 1, tenantConcurrency: 1_000 };

describe('TenantAdmission across two replicas (one Redis)', () => {
  it('shares the concurrency limit: a slot freed on one replica is usable on the other', async () => {
    const prefix = `${RUN_PREFIX}:fair-c`;
    const [a, b] = [replica(prefix), replica(prefix)];
    const tight = { ...limits, tenantConcurrency: 2 };
    const first = await a.admit('t1', tight);
    await b.admit('t1', tight);
    await expect(a.admit('t1', tight)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    await expect(b.admit('t1', tight)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    // Another tenant is not affected.
    await b.admit('t2', tight);
    first();
    await b.admit('t1', tight);
  });

  it('shares the request rate: together the replicas admit rate + burst per second, then 429 with Retry-After', async () => {
    const prefix = `${RUN_PREFIX}:fair-r-${Date.now()}`;
    const [a, b] = [replica(prefix), replica(prefix)];
    const rate = { ...limits, tenantRequestsPerSecond: 3, tenantRequestBurst: 1 };
    for (const r of [a, b, a, b]) await r.admit('t1', rate);
    const refused = await b.admit('t1', rate).then(
      () => null,
      (err: unknown) => err as { extensions: Record<string, unknown> },
    );
    expect(refused?.extensions.code).toBe('RATE_LIMITED');
    expect(refused?.extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await a.admit('t2', rate);
  });
});

describe('over HTTP', () => {
  const FLOODER = 'sb_test_flooding_tenant_key_01';
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      extraTenants: () => [
        { id: 'flooder', apiKeys: [{ id: 'f', sha256: hashApiKey(FLOODER) }], connections: [], limits: { tenantRequestsPerSecond: 2, tenantRequestBurst: 1 } },
      ],
    });
  }, 60_000);
  afterAll(() => stack?.stop());

  it('answers 429 with Retry-After and a GraphQL-shaped RATE_LIMITED body; the other tenant is served', async () => {
    const send = (key: string) =>
      fetch(stack.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: '{"query":"{ __typename }"}',
      });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await send(FLOODER));
    const refused = answers.find((r) => r.status === 429);
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused!.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect(body.errors[0]!.message).toMatch(/2 per second/);
    await Promise.all(answers.filter((r) => r !== refused).map((r) => r.arrayBuffer()));
    const other = await send(stack.apiKey);
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });
});
