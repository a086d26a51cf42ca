// SIGTERM through the real entry point (src/main.ts) in production mode, next to a second replica:
// in-flight HTTP requests finish with 200, graphql-ws clients get 1001 with a reason, the event
// job the stopping replica was working on is handed back and finished by the other replica within
// seconds (not after BullMQ's stall timeout, 10–16 s), and the process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_SETTINGS } from '../src/config.ts';
import { REDIS_URL, TOKENS, graphql, postStripeWebhook, startStack, stripeEventBody, subscribe, type Stack } from './helpers.ts';

const SECRET = 'whsec_lifecycle_test_secret_00000';
const UPSTREAM_DELAY_MS = 3_000;

/** Starts src/main.ts as production runs it; resolves with its URL once it listens. */
async function startEntryPoint(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { REDIS_URL: _r, SWITCHBOARD_CONFIG: _c, ...rest } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...rest,
      PORT: '0',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      SWITCHBOARD_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      // The JSON log line: piped stdout gets no banner.
      const m = /"url":"(http:\/\/[^"]+\/graphql)"/.exec(out);
      if (m) resolve((m[1] as string).replace('localhost', '127.0.0.1'));
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`entry point exited ${code}: ${out}`)));
  });
  return { child, url, output: () => out };
}

/** The drain's log lines (pino JSON on stdout) whose message starts with "drain:". */
function drainLines(output: string): Array<Record<string, unknown> & { msg: string }> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string })
    .filter((l) => l.msg.startsWith('drain:'));
}

describe('SIGTERM drains a production replica (real entry point)', () => {
  let stack: Stack;
  let replica: Awaited<ReturnType<typeof startEntryPoint>>;
  let slow: Server;
  let dir = '';
  /** Requests the slow upstream has received (path), in arrival order. */
  const arrived: string[] = [];
  let arrivedWake: (() => void) | null = null;

  beforeAll(async () => {
    // Replica B: in this process, fast upstream, 2 workers.
    stack = await startStack({ scale: { contacts: 10, invoices: 20, orders: 5 }, config: { events: { ...DEFAULT_EVENT_SETTINGS, workerConcurrency: 2 } } });
    const config = stack.gateway.services.config;
    // Replica A reaches Stripe through this proxy, which holds every request UPSTREAM_DELAY_MS: its
    // GraphQL requests and its event jobs are in progress when it gets SIGTERM.
    slow = createServer((req, res) => {
      arrived.push(req.url ?? '');
      arrivedWake?.();
      setTimeout(() => {
        fetch(`${stack.stripe.url}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(
          async (r) => {
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
            res.end(Buffer.from(await r.arrayBuffer()));
          },
          () => res.destroy(),
        );
      }, UPSTREAM_DELAY_MS);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const tenants = config.tenants.map((t) => ({
      ...t,
      connections: t.connections.map((c) => (c.provider === 'stripe' ? { ...c, baseUrl: slowUrl, webhookSecret: { type: 'static', token: SECRET } } : c)),
    }));
    dir = mkdtempSync(join(tmpdir(), 'sb-lifecycle-'));
    writeFileSync(join(dir, 'tenants.json'), JSON.stringify({ tenants }));
    replica = await startEntryPoint({
      SWITCHBOARD_CONFIG: join(dir, 'tenants.json'),
      REDIS_URL,
      SWITCHBOARD_KEY_PREFIX: config.keyPrefix,
      SHUTDOWN_DRAIN_MS: '30000',
      UPSTREAM_TIMEOUT_MS: '20000',
      REQUEST_DEADLINE_MS: '30000',
    });
  }, 60_000);

  afterAll(async () => {
    if (replica?.child.exitCode === null) {
      replica.child.kill('SIGKILL');
      await once(replica.child, 'exit');
    }
    await stack?.stop();
    await new Promise((r) => slow?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finishes in-flight requests (200), closes sockets with 1001, hands its job to the other replica at once, exits 0', async () => {
    let queries: Array<Promise<unknown>> = [];
    const waitArrived = async (pred: (paths: string[]) => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!pred(arrived)) {
        if (Date.now() > deadline)
          throw new Error(
            `the slow upstream saw only ${JSON.stringify(arrived)}; queries: ${JSON.stringify(await Promise.race([Promise.all(queries), 'pending']))}; replica output:\n${replica.output()}`,
          );
        await new Promise<void>((r) => {
          arrivedWake = r;
          setTimeout(r, 500);
        });
      }
    };
    const SUB = 'subscription ($after: String) { invoiceChanged(after: $after) { eventId invoice { number } } }';
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const onB = await subscribe<{ invoiceChanged: { eventId: string } }>(stack.gateway.url, stack.apiKey, SUB, { after: data!.changeCursor });
    const onA = await subscribe<{ invoiceChanged: { eventId: string } }>(replica.url, stack.apiKey, SUB);

    // Two slow GraphQL requests in flight on A (both at the slow upstream).
    queries = [3, 4].map((n) =>
      graphql<{ invoices: { nodes: unknown[] } }>(replica.url, stack.apiKey, `{ invoices(first: ${n}, filter: { provider: "stripe" }) { nodes { id } } }`),
    );
    await waitArrived((p) => p.filter((x) => /^\/v1\/invoices\?/.test(x)).length >= 2);

    // Invoices whose embedded lines say "more pages": the worker must refetch them (slow on A).
    const list = await fetch(`${stack.stripe.url}/v1/invoices?limit=6`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
    const invoices = ((await list.json()) as { data: Array<Record<string, unknown> & { lines: Record<string, unknown> }> }).data;
    const created = Math.floor(Date.now() / 1000) + 5;
    const eventIds: string[] = [];
    const hook = replica.url.replace(/\/graphql$/, '/webhooks/stripe/acme-stripe');
    for (const invoice of invoices) {
      const id = `evt_${randomUUID().replace(/-/g, '')}`;
      eventIds.push(id);
      const res = await postStripeWebhook(
        hook,
        stripeEventBody(id, 'invoice.updated', { ...invoice, lines: { ...invoice.lines, has_more: true } }, created),
        SECRET,
      );
      expect(res.status).toBe(200);
    }
    // A refetch at the slow upstream: A has an event job in progress.
    await waitArrived((p) => p.some((x) => /^\/v1\/invoices\/[^?]/.test(x)));

    const signalled = Date.now();
    replica.child.kill('SIGTERM');
    const exited = once(replica.child, 'exit') as Promise<[number | null, string | null]>;

    // Every event arrives at the subscriber on B: A's unfinished jobs were handed back.
    await onB.waitFor(eventIds.length, 20_000);
    const takeoverSeconds = (Date.now() - signalled) / 1000;
    console.log(`lifecycle: all ${eventIds.length} events delivered by the other replica ${takeoverSeconds.toFixed(2)} s after SIGTERM`);

    for (const q of (await Promise.all(queries)) as Array<Awaited<ReturnType<typeof graphql<{ invoices: { nodes: unknown[] } }>>>>) {
      expect(q.status).toBe(200);
      expect(q.errors).toBeUndefined();
      expect(q.data!.invoices.nodes.length).toBeGreaterThan(0);
    }
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    await expect.poll(() => onA.errors.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(onA.errors[0]).toMatchObject({ code: 1001, reason: expect.stringContaining('Going away') });

    const drain = drainLines(replica.output());
    const workers = drain.find((l) => l.msg.startsWith('drain: event workers stopped'));
    expect(workers?.['handedBack']).toBeGreaterThanOrEqual(1);
    expect(drain.find((l) => l.msg.startsWith('drain: in-flight HTTP requests finished'))?.['finished']).toBeGreaterThanOrEqual(2);
    expect(drain.map((l) => l.msg.split(';')[0])).toEqual([
      'drain: signal received',
      'drain: stopped accepting connections',
      'drain: closed graphql-ws sockets with 1001 (going away)',
      'drain: in-flight HTTP requests finished',
      'drain: event workers stopped (jobs finished, or handed back to the queue for another replica)',
      'drain: closed Redis connections',
    ]);
    // Handed back at once: well under the stall timeout (lock 10 s + check 5 s).
    expect(takeoverSeconds).toBeLessThan(8);

    // Each event published once, even though A's abandoned attempt also ended.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(onB.received.map((e) => e.invoiceChanged.eventId).sort()).toEqual([...eventIds].sort());
    await onA.close();
    await onB.close();
  }, 90_000);
});
