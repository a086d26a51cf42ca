// `npm run check:topology`: the guarantees of deploy/compose.yaml, checked on this machine without
// Docker. The same processes: redis-server with AOF, N gateway replicas from the built output
// (node dist/src/main.js, production mode, one tenants file), and a small round-robin proxy in
// place of nginx (WebSocket upgrades passed through; a refused connection tries the next replica,
// like nginx's proxy_next_upstream error). Then:
//   1. queries through the proxy all answer 200, spread over every replica;
//   2. webhooks posted through the proxy (accepted by any replica) reach a subscriber on one replica, once each;
//   3. SIGTERM to one replica under that load (queries + webhooks): no request fails, no event is
//      lost or duplicated, the replica exits 0.
// --split runs docs/deployment.md's reference topology instead: N intake processes
// (SWITCHBOARD_ROLES=webhooks), N workers and N api,subscriptions,pollers processes, the proxy routing
// /webhooks/* to the intake and everything else to the api; step 3 then SIGTERMs one intake process
// and one worker at once.
// Options: --replicas N (default 3; with --split, per kind, default 2), --split, --source (run
// src/main.ts through tsx instead of dist/).
// Exit code 0 when every check holds; the report says what was measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import Stripe from 'stripe';
import WebSocket from 'ws';
import { CONNECTORS } from '../connectors/registry.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { startRedisServer } from '../test/redis-server.ts';

const { values } = parseArgs({
  options: { replicas: { type: 'string' }, split: { type: 'boolean', default: false }, source: { type: 'boolean', default: false } },
});
const SPLIT = values.split;
const REPLICAS = Number(values.replicas ?? (SPLIT ? 2 : 3));
/** Roles of each process: one all-roles kind, or the reference topology's three kinds. */
const KINDS = SPLIT ? ['webhooks', 'workers', 'api,subscriptions,pollers'] : [null];
const REPO = new URL('..', import.meta.url).pathname;
const SECRET = 'whsec_topology_check_secret_000000';
const API_KEY = `sb_topology_${randomUUID()}`;
const stripeSdk = new Stripe('sk_test_unused');

interface Replica {
  child: ChildProcess;
  port: number;
  output: string;
  /** SWITCHBOARD_ROLES of the process; null: every role. */
  roles: string | null;
}

async function startReplica(env: NodeJS.ProcessEnv, roles: string | null): Promise<Replica> {
  const args = values.source ? ['--import', 'tsx', 'src/main.ts'] : ['dist/src/main.js'];
  const child = spawn(process.execPath, args, { cwd: REPO, env: roles ? { ...env, SWITCHBOARD_ROLES: roles } : env, stdio: ['ignore', 'pipe', 'pipe'] });
  const replica: Replica = { child, port: 0, output: '', roles };
  child.stdout!.on('data', (b: Buffer) => (replica.output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (replica.output += b.toString()));
  replica.port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      // The JSON log line (piped stdout gets no banner) or the banner (a terminal).
      const m = /"url":"http:\/\/[^:]+:(\d+)\/graphql"|running at http:\/\/[^:]+:(\d+)\/graphql/.exec(replica.output);
      if (m) resolve(Number(m[1] ?? m[2]));
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`replica exited ${code}: ${replica.output}`)));
  });
  return replica;
}

/** Round robin over the replicas that serve the path; a refused connection goes to the next one. */
function startProxy(portsFor: (path: string) => number[]): Promise<{ server: Server; url: string; served: Map<number, number> }> {
  let next = 0;
  const served = new Map<number, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const start = next++;
      const ports = portsFor(req.url ?? '/');
      const attempt = (n: number) => {
        if (n >= ports.length) {
          res.writeHead(502).end('no replica accepted the connection');
          return;
        }
        const port = ports[(start + n) % ports.length] as number;
        const up = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent: false }, (upRes: IncomingMessage) => {
          served.set(port, (served.get(port) ?? 0) + 1);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', (err: NodeJS.ErrnoException) => {
          // As deploy/nginx.conf: a refused connection reached nothing, so any request tries the next
          // replica; a connection reset before any answer (it sat in the accept queue of a replica that
          // stopped listening) is retried for what may be sent twice: GET, and webhooks (deduplicated).
          const resend = err.code === 'ECONNREFUSED' || (err.code === 'ECONNRESET' && (req.method === 'GET' || (req.url ?? '').startsWith('/webhooks/')));
          if (resend && !res.headersSent) attempt(n + 1);
          else if (!res.headersSent) res.writeHead(502).end(`upstream error ${err.code ?? err.message}`);
          else res.destroy();
        });
        up.end(body);
      };
      attempt(0);
    });
  });
  server.on('upgrade', (req, socket: Socket, head) => {
    const ports = portsFor(req.url ?? '/');
    const port = ports[next++ % ports.length] as number;
    const up = connect(port, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)];
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      up.pipe(socket).pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served })),
  );
}

async function main(): Promise<number> {
  if (!values.source && !existsSync(join(REPO, 'dist/src/main.js'))) throw new Error('dist/src/main.js is missing: run `npm run build` first');
  const redis = await startRedisServer({ durable: true });
  const stripeEntry = CONNECTORS.find((c) => c.connector.manifest.id === 'stripe')!;
  // The test profile, as the suite's own setups use it (test/helpers.ts): the emulator's per-key
  // limit raised and the connection's budget matching it. With the test-mode key's 25/s against
  // the manifest's 100/s budget, the first queries drew Stripe 429s now and then.
  const stripeTest = stripeEntry.demo.test;
  const emulator = await stripeEntry.startEmulator({
    credentials: [stripeEntry.demo.testToken],
    ...stripeTest?.emulatorOptions,
    latencyMs: 0,
    seed: 7,
    scale: { contacts: 20, invoices: 20, orders: 5 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'sb-topology-'));
  const replicas: Replica[] = [];
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failures.push(what);
  };
  try {
    writeFileSync(
      join(dir, 'tenants.json'),
      JSON.stringify({
        tenants: [
          {
            id: 'acme',
            apiKeys: [{ id: 'k1', sha256: hashApiKey(API_KEY) }],
            connections: [
              {
                id: 'acme-stripe',
                provider: 'stripe',
                baseUrl: emulator.url,
                credentials: { type: 'static', token: stripeEntry.demo.testToken },
                ...(stripeTest?.rateLimit ? { rateLimit: stripeTest.rateLimit } : {}),
                webhookSecret: { type: 'env', variable: 'TOPOLOGY_STRIPE_WEBHOOK_SECRET' },
              },
            ],
          },
        ],
      }),
    );
    const { SWITCHBOARD_CONFIG: _c, REDIS_URL: _r, ...base } = process.env;
    const env = {
      ...base,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
      SWITCHBOARD_CONFIG: join(dir, 'tenants.json'),
      SWITCHBOARD_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      SWITCHBOARD_KEY_PREFIX: `topology-${randomUUID().slice(0, 6)}`,
      TOPOLOGY_STRIPE_WEBHOOK_SECRET: SECRET,
    };
    for (const roles of KINDS) replicas.push(...(await Promise.all(Array.from({ length: REPLICAS }, () => startReplica(env, roles)))));
    const serving = (role: string) => replicas.filter((r) => r.roles === null || r.roles.split(',').includes(role));
    const api = serving('api');
    // Only live processes: a stopped one refuses connections, which the proxy skips anyway.
    const live = (list: Replica[]) => list.filter((r) => r.child.exitCode === null && r.child.signalCode === null).map((r) => r.port);
    proxy = await startProxy((path) => live(path.startsWith('/webhooks/') ? serving('webhooks') : api));
    console.log(
      `redis-server (AOF) ${redis.url}, ${replicas.length} processes on ports ${replicas.map((r) => `${r.port}${r.roles ? ` (${r.roles})` : ''}`).join(', ')}, proxy ${proxy.url}`,
    );

    const gql = async (query: string) => {
      const res = await fetch(`${proxy!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ query }),
      });
      const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
      return { status: res.status, body };
    };

    // Queries as GraphQL-over-HTTP GET: a proxy may send a GET again after a reset (nginx does not
    // resend a POST that may have reached a replica; docs/deployment.md).
    const gqlGet = async (query: string) => {
      const res = await fetch(`${proxy!.url}/graphql?query=${encodeURIComponent(query)}`, {
        headers: { authorization: `Bearer ${API_KEY}`, 'apollo-require-preflight': 'true' },
      });
      const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
      return { status: res.status, body };
    };

    // 1. Queries through the proxy.
    const answers = await Promise.all(Array.from({ length: 6 * REPLICAS }, () => gql('{ invoices(first: 5) { nodes { id } } }')));
    const failed = answers.find((a) => a.status !== 200 || a.body.errors);
    check(
      failed === undefined,
      `${answers.length} queries through the proxy answered 200 without errors${failed ? ` (first failure: ${failed.status} ${JSON.stringify(failed.body.errors ?? failed.body).slice(0, 500)})` : ''}`,
    );
    check(
      api.every((r) => (proxy!.served.get(r.port) ?? 0) > 0),
      `every ${SPLIT ? 'api process' : 'replica'} answered some (${api.map((r) => proxy!.served.get(r.port) ?? 0).join(' / ')})`,
    );

    // 2. A subscriber on the first api process (directly: it stays up); webhooks through the proxy.
    const cursor = ((await gql('{ changeCursor }')).body.data as { changeCursor: string }).changeCursor;
    const received: string[] = [];
    const client = createClient({
      url: `ws://127.0.0.1:${api[0]!.port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${API_KEY}` },
      retryAttempts: 0,
    });
    client.subscribe<{ contactChanged: { eventId: string } }>(
      { query: 'subscription ($after: String) { contactChanged(after: $after) { eventId } }', variables: { after: cursor } },
      {
        next: (m) => m.data && received.push(m.data.contactChanged.eventId),
        error: (e) => failures.push(`subscription error ${JSON.stringify(e)}`),
        complete: () => undefined,
      },
    );
    const customersRes = await fetch(`${emulator.url}/v1/customers?limit=20`, { headers: { authorization: `Bearer ${stripeEntry.demo.testToken}` } });
    const customersBody = (await customersRes.json()) as { data?: Array<Record<string, unknown> & { id: string }> };
    if (!customersBody.data) throw new Error(`the Stripe emulator's customers: ${customersRes.status} ${JSON.stringify(customersBody).slice(0, 300)}`);
    const customers = customersBody.data;
    const sent: string[] = [];
    let webhookFailures = 0;
    const refusals: string[] = [];
    const postWebhook = async (i: number) => {
      const id = `evt_${randomUUID().replace(/-/g, '')}`;
      const customer = customers[i % customers.length]!;
      const payload = JSON.stringify({
        id,
        object: 'event',
        created: Math.floor(Date.now() / 1000) + i, // newer than the last one for the same customer
        type: 'customer.updated',
        livemode: false,
        data: { object: { ...customer, name: `Topology ${i}` } },
      });
      const res = await fetch(`${proxy!.url}/webhooks/stripe/acme-stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSdk.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
        body: payload,
      });
      if (res.ok) sent.push(id);
      else {
        webhookFailures++;
        refusals.push(`${res.status} ${(await res.text()).slice(0, 160)}`);
      }
    };
    const waitDelivered = async (n: number, ms: number) => {
      const deadline = Date.now() + ms;
      while (received.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    // No wait for the subscription to start: it resumes from `cursor`, taken before any webhook.
    for (let i = 0; i < 20; i++) await postWebhook(i);
    await waitDelivered(sent.length, 15_000);
    check(
      webhookFailures === 0 && received.length === sent.length,
      `20 webhooks through the proxy (any ${SPLIT ? 'intake process' : 'replica'}) reached the subscriber on ${SPLIT ? 'an api process' : 'replica 1'}: ${received.length}/${sent.length}`,
    );

    // 3. SIGTERM under load: the last replica, or (split) the last intake process and the last worker.
    const victims = SPLIT ? [serving('webhooks').at(-1)!, replicas.filter((r) => r.roles === 'workers').at(-1)!] : [replicas.at(-1)!];
    let queryFailures = 0;
    const queryRefusals: string[] = [];
    let queries = 0;
    let stop = false;
    const queryLoad = (async () => {
      while (!stop) {
        const a = await gqlGet('{ invoices(first: 3) { nodes { id } } }').catch((err: unknown) => ({
          status: 0,
          body: { errors: [String(err)] } as { errors?: unknown[] },
        }));
        queries++;
        if (a.status !== 200 || a.body.errors) {
          queryFailures++;
          queryRefusals.push(`${a.status} ${JSON.stringify(a.body.errors ?? null).slice(0, 160)}`);
        }
      }
    })();
    const hookLoad = (async () => {
      for (let i = 20; !stop; i++) await postWebhook(i);
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    const signalled = Date.now();
    const exits = await Promise.all(
      victims.map(async (victim) => {
        victim.child.kill('SIGTERM');
        const [code] = (await once(victim.child, 'exit')) as [number | null];
        return { victim, code, seconds: (Date.now() - signalled) / 1000 };
      }),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await Promise.all([queryLoad, hookLoad]);
    await waitDelivered(sent.length, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    for (const { victim, code, seconds } of exits) {
      check(code === 0, `the SIGTERMed ${victim.roles ? `${victim.roles} process` : 'replica'} exited ${code} after ${seconds.toFixed(2)} s`);
    }
    check(queryFailures === 0, `queries during the drain: ${queries}, failed: ${queryFailures}${queryRefusals.length ? ` (${queryRefusals.join('; ')})` : ''}`);
    check(webhookFailures === 0, `webhooks accepted: ${sent.length}, refused: ${webhookFailures}${refusals.length ? ` (${refusals.join('; ')})` : ''}`);
    const unique = new Set(received);
    check(
      sent.every((id) => unique.has(id)) && unique.size === received.length,
      `events delivered: ${unique.size}/${sent.length}, duplicates: ${received.length - unique.size}`,
    );
    for (const { victim } of exits) {
      console.log(
        victim.output
          .split('\n')
          .filter((l) => l.includes('"drain:'))
          .map((l) => `  ${victim.roles ?? 'replica'} ${victim.port}: ${(JSON.parse(l) as { msg: string }).msg}`)
          .join('\n'),
      );
    }
    await client.dispose();
  } finally {
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => (r.child.exitCode === null && r.child.signalCode === null ? once(r.child, 'exit') : null)));
    await new Promise((r) => (proxy ? proxy.server.close(r) : r(undefined)));
    await emulator.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures.length ? `\n${failures.length} check(s) failed` : '\nall topology checks passed');
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`check:topology: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
