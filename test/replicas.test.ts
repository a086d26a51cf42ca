// Two gateway PROCESSES on one Redis: a webhook received by replica A reaches a subscriber connected
// to replica B, exactly once. Replica B is the real entry point (src/main.ts) with a tenants file.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, TOKENS, graphql, startStack, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_replicas_test_secret_000000';
const stripeSdk = new Stripe('sk_test_unused');

describe('two gateway processes on one Redis', () => {
  let stack: Stack;
  let child: ChildProcess;
  let childUrl = '';
  let dir = '';
  beforeAll(async () => {
    stack = await startStack({ scale: { contacts: 10, invoices: 10, orders: 5 } });
    const config = stack.gateway.services.config;
    config.tenants[0]!.connections[1]!.webhookSecret = { type: 'static', token: SECRET };
    dir = mkdtempSync(join(tmpdir(), 'sb-replica-'));
    const tenantsFile = join(dir, 'tenants.json');
    writeFileSync(tenantsFile, JSON.stringify({ tenants: config.tenants }));
    const { REDIS_URL: _r, ...env } = process.env;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...env,
        PORT: '0',
        LOG_LEVEL: 'silent',
        NODE_ENV: 'production',
        SWITCHBOARD_CONFIG: tenantsFile,
        REDIS_URL,
        SWITCHBOARD_KEY_PREFIX: config.keyPrefix,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    childUrl = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /running at (http:\/\/\S+\/graphql)/.exec(out);
        if (m) resolve((m[1] as string).replace('localhost', '127.0.0.1'));
      });
      child.once('exit', (code) => reject(new Error(`replica exited ${code}: ${out}`)));
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers a webhook posted to replica A to a subscriber on replica B, once', async () => {
    const { data } = await graphql<{ changeCursor: string }>(childUrl, stack.apiKey, '{ changeCursor }');
    const sub = await subscribe<{ contactChanged: { eventId: string; contact: { name: string } } }>(
      childUrl,
      stack.apiKey,
      'subscription ($after: String) { contactChanged(after: $after) { eventId contact { name } } }',
      { after: data!.changeCursor },
    );
    try {
      const customers = await fetch(`${stack.stripe.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
      const customer = ((await customers.json()) as { data: Array<{ id: string }> }).data[0]!.id;
      const eventId = `evt_${randomUUID().replace(/-/g, '')}`;
      const payload = JSON.stringify({
        id: eventId,
        object: 'event',
        created: Math.floor(Date.now() / 1000),
        type: 'customer.updated',
        livemode: false,
        data: {
          object: { id: customer, object: 'customer', name: 'Across replicas', email: 'x@example.com', created: 1700000000, livemode: false, metadata: {} },
        },
      });
      const res = await fetch(`${stack.gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/acme-stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
        body: payload,
      });
      expect(res.status).toBe(200);
      const [event] = await sub.waitFor(1);
      expect(event!.contactChanged).toEqual({ eventId, contact: { name: 'Across replicas' } });
      // Both replicas run workers on the shared queue; the change is still published once.
      await new Promise((r) => setTimeout(r, 500));
      expect(sub.received).toHaveLength(1);
    } finally {
      await sub.close();
    }
  });
});
