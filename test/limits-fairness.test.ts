// Fairness between tenants (issue 13): a tenant's request rate and requests in progress are
// limited at the gateway, shared by every replica through Redis; beyond them the answer is 429
// with Retry-After and a GraphQL body (RATE_LIMITED), and other tenants are unaffected.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { TenantAdmission } from '../src/limits/fairness.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { DEFAULT_LIMITS } from '../src/config.ts';
import { REDIS_URL, RUN_PREFIX, startStack, type Stack } from './helpers.ts';

const redis = new Redis(REDIS_URL);
afterAll(() => redis.quit());

const replica = (prefix: string) => new TenantAdmission({ redis, keyPrefix: prefix, timeoutMs: 1_000, leaseMs: 20_000, metrics: new Metrics() });
const limits = { tenantRequestsPerSecond: 1_000, tenantRequestBurst: 1, tenantConcurrency: 1_000, refusalHoldMs: 0 };

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
  it('asks the rate and the concurrency limit at once: two scripts in flight together', async () => {
    const prefix = `${RUN_PREFIX}:fair-both-${Date.now()}`;
    // Its own client, watching the scripts in flight: the rate's (rate-limiter-flexible's, on
    // its own keys) and the lease's (on the tenant-inflight key).
    const counting = new Redis(REDIS_URL);
    try {
      const inFlight = { rate: 0, lease: 0 };
      let together = false;
      // Every command passes sendCommand (rate-limiter-flexible's scripts are commands it defines).
      const send = counting.sendCommand.bind(counting);
      counting.sendCommand = ((command: { name: string; args: unknown[]; promise: Promise<unknown> }, stream?: unknown) => {
        const sent = send(command as never, stream as never);
        if (command.name === 'eval' || command.name === 'evalsha') {
          const kind = command.args.some((a) => String(a).includes(':tenant-inflight:')) ? 'lease' : 'rate';
          inFlight[kind]++;
          if (inFlight.rate > 0 && inFlight.lease > 0) together = true;
          void command.promise.finally(() => inFlight[kind]--).catch(() => undefined);
        }
        return sent;
      }) as typeof counting.sendCommand;
      const admission = new TenantAdmission({ redis: counting, keyPrefix: prefix, timeoutMs: 1_000, leaseMs: 20_000, metrics: new Metrics() });
      const release = await admission.admit('t1', limits);
      expect(together).toBe(true);
      release();
    } finally {
      counting.disconnect();
    }
  });

  it('gives the concurrency slot of a request the rate refused back at once', async () => {
    const prefix = `${RUN_PREFIX}:fair-give-${Date.now()}`;
    const [a, b] = [replica(prefix), replica(prefix)];
    // Two slots and two requests per second (no burst): the third request is refused by the rate
    // while one slot is held; had it kept the slot it took meanwhile, the second slot would stay
    // taken for the lease (20 s) and the next request would be refused for concurrency.
    const tight = { ...limits, tenantRequestsPerSecond: 2, tenantRequestBurst: 0, tenantConcurrency: 2 };
    const held = await a.admit('t1', tight);
    (await b.admit('t1', tight))();
    const refused = await b.admit('t1', tight).then(
      () => null,
      (err: unknown) => err as { message: string },
    );
    expect(refused?.message).toMatch(/per second/);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the rate window refills (no event to await)
    const next = await a.admit('t1', tight);
    next();
    held();
  });
});

describe('over HTTP', () => {
  const FLOODER = 'sb_test_flooding_tenant_key_01';
  const HOLD_MS = 400;
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      config: { limits: { ...DEFAULT_LIMITS, refusalHoldMs: HOLD_MS } },
      extraTenants: () => [
        { id: 'flooder', apiKeys: [{ id: 'f', sha256: hashApiKey(FLOODER) }], connections: [], limits: { tenantRequestsPerSecond: 2, tenantRequestBurst: 1 } },
      ],
    });
  }, 60_000);
  afterAll(() => stack?.stop());

  const send = (key: string) =>
    fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: '{"query":"{ __typename }"}',
    });

  it('answers 429 with Retry-After and a GraphQL-shaped RATE_LIMITED body; the other tenant is served', async () => {
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

  it('holds a refusal for refusalHoldMs (a client retrying at once waits on its own connection); other tenants are answered meanwhile', async () => {
    // Spend the flooder's allowance, then time one refusal.
    let started = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      started = performance.now();
      const r = await send(FLOODER);
      if (r.status === 429) refused = r;
      await r.arrayBuffer();
    }
    expect(refused?.status).toBe(429);
    // A timer never fires early: the refusal took at least the hold (a little slack for rounding).
    expect(performance.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 5);

    // Six flooder requests at once (at most rate + burst = 3 admitted) beside one of the other
    // tenant: its answer comes before every held refusal.
    const order: string[] = [];
    const asking = (key: string, who: string) =>
      send(key).then(async (r) => {
        order.push(`${who} ${r.status}`);
        await r.arrayBuffer();
      });
    await Promise.all([...Array.from({ length: 6 }, () => asking(FLOODER, 'flooder')), asking(stack.apiKey, 'other')]);
    const firstRefusal = order.indexOf('flooder 429');
    expect(firstRefusal).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('other 200')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('other 200')).toBeLessThan(firstRefusal);
  });
});
