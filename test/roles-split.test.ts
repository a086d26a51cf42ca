// A split deployment (SWITCHBOARD_ROLES) of real entry-point processes on one Redis: an intake
// process (webhooks), a workers process and an api+subscriptions process. Webhooks accepted by the
// intake wait durably until a worker runs, reach a graphql-ws subscriber on the third process, and
// arrive exactly once each, also when the worker is SIGKILLed while processing and another takes over.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, graphql, startStack, subscribe, type Stack } from './helpers.ts';
import { removeKeys } from './redis-cleanup.ts';

const SECRET = 'whsec_roles_split_test_secret_0000';
const stripeSdk = new Stripe('sk_test_unused');
const EVENTS = 30;

interface RoleProcess {
  child: ChildProcess;
  base: string;
}

describe('split deployment: webhooks | workers | api+subscriptions', () => {
  let stack: Stack;
  let dir = '';
  let tenantsFile = '';
  let prefix = '';
  const processes: RoleProcess[] = [];

  /** Starts src/main.ts with these roles; resolves with its base URL once it listens. */
  async function startRoles(roles: string): Promise<RoleProcess> {
    const { REDIS_URL: _r, SWITCHBOARD_ROLES: _roles, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...env,
        PORT: '0',
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        SWITCHBOARD_CONFIG: tenantsFile,
        REDIS_URL,
        SWITCHBOARD_KEY_PREFIX: prefix,
        SWITCHBOARD_ROLES: roles,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started: RoleProcess = { child, base: '' };
    processes.push(started);
    let out = '';
    const since = Date.now();
    started.base = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /"url":"(http:\/\/[^"]+)\/graphql".*switchboard is listening/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      child.once('exit', (code) => reject(new Error(`${roles} process exited ${code}: ${out}`)));
    });
    console.log(`${roles}: listening after ${Date.now() - since} ms`);
    return started;
  }

  async function stop(p: RoleProcess, signal: NodeJS.Signals): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    const exited = once(p.child, 'exit');
    p.child.kill(signal);
    await exited;
  }

  beforeAll(async () => {
    stack = await startStack({ scale: { contacts: 5, invoices: 5, orders: 2 } });
    const config = stack.gateway.services.config;
    config.tenants[0]!.connections[1]!.webhookSecret = { type: 'static', token: SECRET };
    // Its own prefix: the stack's in-process gateway (all roles) must not take these jobs.
    prefix = `${config.keyPrefix}-split`;
    dir = mkdtempSync(join(tmpdir(), 'sb-roles-'));
    tenantsFile = join(dir, 'tenants.json');
    writeFileSync(tenantsFile, JSON.stringify({ tenants: config.tenants }));
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => stop(p, 'SIGTERM')));
    await stack?.stop();
    await removeKeys(REDIS_URL, prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves only its roles, and delivers every webhook once across a worker kill', async () => {
    const [intake, api] = await Promise.all([startRoles('webhooks'), startRoles('api,subscriptions')]);
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${intake.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    // Routes by role: no GraphQL on the intake, no webhooks on the API; health everywhere.
    expect((await post('/graphql', '{"query":"{ changeCursor }"}', { authorization: `Bearer ${stack.apiKey}` })).status).toBe(404);
    expect((await fetch(`${api.base}/webhooks/stripe/acme-stripe`, { method: 'POST', body: '{}' })).status).toBe(404);
    for (const p of [intake, api]) {
      expect((await fetch(`${p.base}/healthz`)).status).toBe(200);
      expect((await fetch(`${p.base}/readyz`)).status).toBe(200);
    }

    const { data } = await graphql<{ changeCursor: string }>(`${api.base}/graphql`, stack.apiKey, '{ changeCursor }');
    const sub = await subscribe<{ contactChanged: { eventId: string; contact: { name: string } } }>(
      `${api.base}/graphql`,
      stack.apiKey,
      'subscription ($after: String) { contactChanged(after: $after, filter: { connectionId: "acme-stripe" }) { eventId contact { name } } }',
      { after: data!.changeCursor },
    );
    try {
      // Accepted (durably queued) while no worker runs anywhere.
      const sent: string[] = [];
      for (let i = 0; i < EVENTS; i++) {
        const eventId = `evt_${randomUUID().replace(/-/g, '')}`;
        const payload = JSON.stringify({
          id: eventId,
          object: 'event',
          created: Math.floor(Date.now() / 1000),
          type: 'customer.updated',
          livemode: false,
          data: {
            object: {
              id: `cus_split_${i}`,
              object: 'customer',
              name: `Split ${i}`,
              email: `s${i}@example.com`,
              created: 1700000000,
              livemode: false,
              metadata: {},
            },
          },
        });
        const signature = stripeSdk.webhooks.generateTestHeaderString({ payload, secret: SECRET });
        const res = await post('/webhooks/stripe/acme-stripe', payload, { 'stripe-signature': signature });
        expect(res.status).toBe(200);
        sent.push(eventId);
        // The provider retries one of them: deduplicated at intake.
        if (i === 0) expect((await post('/webhooks/stripe/acme-stripe', payload, { 'stripe-signature': signature })).status).toBe(200);
      }
      expect(sub.received).toHaveLength(0);
      console.log(`${EVENTS} webhooks accepted by the intake process`);

      // A worker starts, is killed after its first deliveries; another one finishes the queue
      // (the killed worker's jobs come back when their locks expire).
      const worker = await startRoles('workers');
      await sub.waitFor(1, 60_000);
      await stop(worker, 'SIGKILL');
      console.log(`worker killed after ${sub.received.length} deliveries`);
      await startRoles('workers');
      await sub.waitFor(EVENTS, 90_000);
      const ids = sub.received.map((e) => e.contactChanged.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(sent));
    } finally {
      await sub.close();
    }
  }, 300_000);
});
