// `npm run bench:webhooks`: the webhook benchmark (issue #3). In child processes: a gateway on
// Redis (durable BullMQ path) with a Stripe connection that has a webhook secret, a bare node:http
// baseline that only verifies the Stripe-Signature HMAC and answers 200, and N graphql-ws
// subscribers. Measures, in one run:
//   (a) verified webhooks accepted per second — autocannon, same connections and duration for the
//       gateway and the baseline, every request a distinct signed customer.updated Event;
//       then how long the gateway's workers take to publish what was accepted;
//   (b) webhook POST → subscriber receipt latency at a fixed event rate with N subscribers, over
//       every (subscriber, event) delivery, with delivered/expected counts;
//   (c) gateway RSS (and CPU) before and after, from its /metrics.
// Numbers go to docs/benchmarks.md by hand. Every child is killed and every Redis key of the run's
// prefix is deleted at the end, also on error. All traffic stays on 127.0.0.1.
// Knobs (env): REDIS_URL (default: a throwaway redis-server), BENCH_GATEWAY_FROM (dist: the compiled build), BENCH_DURATION_S (10), BENCH_WARMUP_S (2), BENCH_CONNECTIONS (10), BENCH_PAYLOADS (100000),
// BENCH_POINTS (empty: skip (b)), BENCH_DRAIN_TIMEOUT_MS (20000), BENCH_GATEWAY_NODE_ARGS (e.g. --cpu-prof),
// BENCH_REDIS_COMMANDS (set: print each pass's Redis commands by name, per webhook and per published change).
// The subscribers must stay ahead of the gateway for (b) to measure the gateway: the table prints
// each process's CPU share so that can be checked.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import Stripe from 'stripe';
import { hostClockMs, type LatencySummary } from './latency-histogram.ts';
import { removeKeys } from '../test/redis-cleanup.ts';
import { hashTag } from '../src/util/redis.ts';
import { startRedisServer, type RedisServer } from '../test/redis-server.ts';

// BENCH_GATEWAY_FROM=dist: the gateway processes run the compiled build, as the Docker image does
// (built here first); unset, they run the sources through tsx.
if (process.env.BENCH_GATEWAY_FROM === 'dist') {
  const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
}

// Without REDIS_URL the benchmark runs on a throwaway redis-server of its own (never a Redis
// someone runs for other work).
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const REDIS_URL = process.env.REDIS_URL ?? (ownRedis as RedisServer).url;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** Load sent to each server of (a) before its measured run (JIT, pools, the startup's garbage), other Events, not counted. */
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** Distinct signed Events per pass; a gateway sent more than this sees the rest as duplicates (cheaper), which the output flags. */
const PAYLOADS = Number(process.env.BENCH_PAYLOADS ?? 100_000);
/**
 * Fixed-rate points "<events/s>x<subscribers>[x<seconds>]", comma-separated, run in order. The last
 * default is the issue's point (1,000 events/s, 1,000 subscribers, 10 s; it saturates a small
 * machine, so it runs last); the first two put 10,000 deliveries/s one way or the other (5 s each).
 */
const POINTS = (process.env.BENCH_POINTS ?? `1000x10x5,10x1000x5,1000x1000x${DURATION_S}`)
  .split(',')
  .filter(Boolean)
  .map((p) => {
    const [rate, subscribers, seconds] = p.split('x').map(Number);
    if (!rate || !subscribers) throw new Error(`BENCH_POINTS: "${p}" is not <events/s>x<subscribers>[x<seconds>]`);
    return { rate, subscribers, seconds: seconds || DURATION_S };
  });
/**
 * A checkout of another version (say main, in a worktree with its node_modules) whose intake process
 * (SWITCHBOARD_ROLES=webhooks) is measured side by side with this version's and the bare server:
 * (a′) alternates BENCH_AB_SLICE_S-second autocannon slices between the three, BENCH_AB_ROUNDS
 * times, so both versions see the same machine state, with BENCH_AB_PROCESSES fresh intake
 * processes per version one after another. Unset: (a′) is skipped.
 */
const BEFORE_TREE = process.env.BENCH_BEFORE_TREE ?? '';
const AB_ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 4);
/** Fresh intake processes per version in (a′), one after another (see sideBySideSlices). */
const AB_PROCESSES = Number(process.env.BENCH_AB_PROCESSES ?? 3);
const AB_SLICE_S = Number(process.env.BENCH_AB_SLICE_S ?? 2);
/** Longest the gateway may take to publish / fan out what it accepted, after the load stops. */
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_DRAIN_TIMEOUT_MS ?? 20_000);
/** Extra node flags for the gateway child only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
const GATEWAY_NODE_ARGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Webhook POSTs in flight at once in the fixed-rate phase (a sender this far behind is reported). */
const MAX_IN_FLIGHT = 256;

const runId = randomBytes(4).toString('hex');
const keyPrefix = `sbbench-wh:${runId}`;
const connectionId = 'bench-stripe';
const apiKey = `sb_bench_${randomBytes(18).toString('base64url')}`;
const secret = `whsec_bench_${randomBytes(16).toString('hex')}`;
const stripe = new Stripe('sk_test_unused_for_signing');

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

interface Child<T> {
  info: T;
  child: ChildProcess;
}
const children: ChildProcess[] = [];
/** The gateway's warn/error log lines (pino JSON on its stderr), counted by level and message. */
const gatewayLog = new Map<string, number>();

function startChild<T>(script: string, extraEnv: Record<string, string>, onStderr?: (line: string) => void, nodeArgs: string[] = []): Promise<Child<T>> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', onStderr ? 'pipe' : 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'silent', ...extraEnv },
  });
  children.push(child);
  if (onStderr) createInterface({ input: child.stderr! }).on('line', onStderr);
  return new Promise((resolve, reject) => {
    let ready = false;
    // The first JSON line with `ready` carries the URLs; later stdout lines are ignored.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready || !line.startsWith('{')) return;
      try {
        const info = JSON.parse(line) as T & { ready?: boolean };
        if (!info.ready) return;
        ready = true;
        resolve({ info, child });
      } catch {
        /* not ours */
      }
    });
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`${script} exited with ${code} before it was ready`));
    });
    setTimeout(() => !ready && reject(new Error(`${script} not ready within 120 s`)), 120_000).unref();
  });
}

function countGatewayLog(line: string): void {
  let key = line.slice(0, 200);
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: string; code?: string };
    const level = entry.level === 40 ? 'warn' : entry.level === 50 ? 'error' : entry.level === 60 ? 'fatal' : String(entry.level);
    key = `${level}: ${entry.msg ?? ''}${entry.code ? ` (${entry.code})` : ''}${entry.err ? ` — ${String(entry.err).slice(0, 120)}` : ''}`;
  } catch {
    /* not JSON: keep the raw line */
  }
  gatewayLog.set(key, (gatewayLog.get(key) ?? 0) + 1);
}

/** Request/response over the subscriber child's IPC channel (one outstanding command at a time). */
function ask<T>(child: ChildProcess, msg: Record<string, unknown>, reply: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`subscribers: no "${reply}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: unknown) => {
      if ((m as { type?: string }).type !== reply) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.send(msg, (err) => {
      if (!err) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      reject(err);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Stripe events
// ---------------------------------------------------------------------------------------------

/** A customer.updated Event as Stripe sends it (the full customer in data.object), ~1.3 KB. */
function customerUpdated(eventId: string, customerId: string, name: string): string {
  const created = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    id: eventId,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: {
      object: {
        id: customerId,
        object: 'customer',
        address: { city: 'Berlin', country: 'DE', line1: 'Rosenthaler Str. 40', line2: null, postal_code: '10178', state: null },
        balance: 0,
        created: 1680893993,
        currency: 'eur',
        default_source: null,
        delinquent: false,
        description: null,
        discount: null,
        email: `${customerId}@bench.example`,
        invoice_prefix: '0759376C',
        invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
        livemode: false,
        metadata: { plan: 'bench' },
        name,
        next_invoice_sequence: 3,
        phone: '+4930123456',
        preferred_locales: [],
        shipping: null,
        tax_exempt: 'none',
        test_clock: null,
      },
      previous_attributes: { name: 'Before' },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${eventId.slice(-14)}`, idempotency_key: null },
    type: 'customer.updated',
  });
}

interface SignedEvent {
  body: string;
  signature: string;
}
/** Signed with the official SDK's test helper (Stripe-Signature: t=…,v1=…), not with our code. */
const sign = (body: string): SignedEvent => ({ body, signature: stripe.webhooks.generateTestHeaderString({ payload: body, secret }) });
/** `n` distinct signed customer.updated Events for a pass: ids tagged `tag`, customers named `<name> <i>`. */
const signedEvents = (tag: string, n: number, name: string): SignedEvent[] =>
  Array.from({ length: n }, (_, i) => sign(customerUpdated(`evt_bench_${runId}_${tag}${i}`, `cus_bench_${tag}${i}`, `${name} ${i}`)));

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** POSTs one webhook; resolves with the status (-1 on a network error or a 10 s timeout). */
function postWebhook(url: URL, event: SignedEvent): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(event.body), 'stripe-signature': event.signature },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(-1));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(-1));
    req.end(event.body);
  });
}

async function graphqlPost<T>(url: string, query: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors) throw new Error(`query failed (${res.status}): ${JSON.stringify(body.errors)}`);
  return body.data;
}

interface ProcessSample {
  rssMiB: number;
  cpuSeconds: number;
  /** Event-loop delay since the previous scrape (prom-client resets it on every collect). */
  lagMaxMs: number;
  at: number;
}
async function processSample(gatewayUrl: string): Promise<ProcessSample> {
  const text = await fetch(gatewayUrl.replace(/\/graphql$/, '/metrics')).then((r) => r.text());
  const metric = (name: string) => new RegExp(`^switchboard_${name} (\\S+)$`, 'm').exec(text)?.[1];
  const rss = metric('process_resident_memory_bytes');
  const cpu = metric('process_cpu_seconds_total');
  if (!rss || !cpu) throw new Error('the gateway /metrics has no process metrics (is it running with mode production?)');
  return {
    rssMiB: Number(rss) / 2 ** 20,
    cpuSeconds: Number(cpu),
    lagMaxMs: Number(metric('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000,
    at: hostClockMs(),
  };
}
const share = (cpuSeconds: number, fromMs: number, toMs: number) => `${((100 * cpuSeconds) / ((toMs - fromMs) / 1000)).toFixed(0)} %`;
const cpuShare = (a: ProcessSample, b: ProcessSample) => share(b.cpuSeconds - a.cpuSeconds, a.at, b.at);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
};

// ---------------------------------------------------------------------------------------------
// (a) accepted webhooks per second
// ---------------------------------------------------------------------------------------------

interface AcceptResult {
  acceptedPerS: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  sent: number;
}

async function acceptRate(url: string, events: SignedEvent[], durationS = DURATION_S, startAt = 0): Promise<AcceptResult> {
  let next = startAt;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const e = events[next++ % events.length] as SignedEvent;
          return { ...req, method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': e.signature }, body: e.body };
        },
      },
    ],
  });
  return {
    acceptedPerS: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    sent: next - startAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

interface GatewayInfo {
  url: string;
  webhookUrl: string;
}
interface SubscriberStats {
  subscribers: number;
  delivered: number;
  duplicates: number;
  foreign: number;
  latency: LatencySummary;
  toPublish: LatencySummary;
  fromPublish: LatencySummary;
  perSubscriber: { min: number; max: number };
  closedCodes: Record<string, number>;
  errorCount: number;
  errors: string[];
  cpuSeconds: number;
}

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });
// The gateway's BullMQ prefix is a hash tag (queue.ts bullPrefix); the intake streams sit in front
// of it (intake.ts; SWITCHBOARD_INTAKE_SHARDS, default 4; absent on versions without them).
const queue = new Queue('changes', { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix: hashTag(`${keyPrefix}:events`) });
const intakeStreams = Array.from({ length: Number(process.env.SWITCHBOARD_INTAKE_SHARDS ?? 4) }, (_, i) => hashTag(`${keyPrefix}:events:intake:${i}`));
const streamKey = `${keyPrefix}:events:changes`;

/**
 * Entries ever appended to the change log (XINFO STREAM entries-added, Redis 7): not XLEN, which
 * drops as the log is trimmed to its retention (100,000 changes) and then undercounts a pass.
 */
async function appendedToChangeLog(): Promise<number> {
  const info = (await redis.call('XINFO', 'STREAM', streamKey).catch(() => null)) as unknown[] | null;
  if (!info) return 0; // not created yet
  const at = info.indexOf('entries-added');
  if (at < 0) throw new Error('XINFO STREAM has no entries-added (Redis 7 or newer is needed)');
  return Number(info[at + 1]);
}
const subscriberChildren: ChildProcess[] = [];

async function redisCpuSeconds(): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:(\S+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:(\S+)/.exec(info)?.[1] ?? 0);
}
/** Commands Redis has run so far (all clients): with the workers paused, the intake's round trips per webhook. */
async function redisCommands(): Promise<{ all: number; scripts: number; byName: Map<string, number> }> {
  const info = await redis.info('commandstats');
  let all = 0;
  let scripts = 0;
  const byName = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    all += Number(m[2]);
    byName.set(m[1] as string, Number(m[2]));
    if (m[1] === 'evalsha' || m[1] === 'eval') scripts += Number(m[2]);
  }
  return { all, scripts, byName };
}
/** "name × calls per unit" for the commands that ran between two counts, most frequent first (commands inside scripts count too). */
function commandMix(before: Map<string, number>, after: Map<string, number>, units: number): string {
  return [...after]
    .map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / Math.max(1, units)] as const)
    .filter(([, per]) => per >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, per]) => `${name} ${per.toFixed(2)}`)
    .join(', ');
}
const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function waitForQueueDrain(timeoutMs: number): Promise<{ drained: boolean; ms: number; left: number }> {
  const started = hostClockMs();
  for (;;) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    const intake = await Promise.all(intakeStreams.map((k) => redis.xlen(k)));
    const left = Object.values(c).reduce((a, b) => a + b, 0) + intake.reduce((a, b) => a + b, 0);
    const ms = hostClockMs() - started;
    if (left === 0 || ms > timeoutMs) return { drained: left === 0, ms, left };
    await sleep(100);
  }
}

async function cleanup(): Promise<void> {
  for (const c of subscriberChildren) if (c.connected) await ask(c, { type: 'close' }, 'closed', 5_000).catch(() => undefined);
  await Promise.all(children.map(stopChild));
  agent.destroy();
  await queue.close().catch(() => undefined);
  try {
    const n = await removeKeys(REDIS_URL, keyPrefix);
    console.log(`cleanup: deleted ${n} Redis keys under ${keyPrefix}:*`);
  } catch (err) {
    console.error(`cleanup: could not delete the Redis keys under ${keyPrefix}:* (${String(err)})`);
  }
  redis.disconnect();
  await ownRedis?.stop();
}

let cleaning: Promise<void> | null = null;
process.once('SIGINT', () => {
  cleaning ??= cleanup();
  void cleaning.finally(() => process.exit(130));
});

interface PointResult {
  label: string;
  rate: number;
  subscribers: number;
  sent: number;
  sendSeconds: number;
  accepted: number;
  non2xx: string;
  published: number;
  postP50: number;
  postP99: number;
  stats: SubscriberStats;
  expected: number;
  waitedS: number;
  cpu: { gateway: string; subscribers: string; redis: string; sender: string };
  lagMaxMs: number;
  rssAfterMiB: number;
}

/** (b) One fixed-rate point: N subscribers, `rate` signed Events per second for `seconds`. */
async function fixedRatePoint(
  gw: GatewayInfo & { processUrls: string[] },
  rate: number,
  subscriberCount: number,
  seconds: number,
  tag: string,
): Promise<PointResult> {
  const label = `${rate} events/s × ${subscriberCount} subscribers, ${seconds} s`;
  await waitForQueueDrain(DRAIN_TIMEOUT_MS); // start from an empty queue
  const { changeCursor } = await graphqlPost<{ changeCursor: string }>(gw.url, '{ changeCursor }');
  const subs = await startChild<{ pid: number }>('bench/webhook-subscribers-process.ts', {});
  subscriberChildren.push(subs.child);
  const query = /* GraphQL */ `
    subscription ($after: String, $filter: ChangeFilter) {
      contactChanged(after: $after, filter: $filter) {
        eventId
        type
        contact {
          name
        }
        source {
          fetchedAt
        }
      }
    }
  `;
  const connected = await ask<{ connected: number; failed: number; ms: number }>(
    subs.child,
    {
      type: 'connect',
      wsUrl: gw.url.replace(/^http/, 'ws'),
      apiKey,
      count: subscriberCount,
      query,
      variables: { after: changeCursor, filter: { connectionId } },
    },
    'connected',
    120_000,
  );
  // A probe Event: every subscriber must have it before the timed phase starts.
  const hookUrl = new URL(gw.webhookUrl);
  const probeStatus = await postWebhook(
    hookUrl,
    sign(customerUpdated(`evt_bench_${runId}_${tag}_probe`, `cus_bench_${tag}_probe`, `probe:${tag}:0:${hostClockMs()}`)),
  );
  const probe = await ask<{ received: number; of: number }>(subs.child, { type: 'waitProbe', tag, timeoutMs: 30_000 }, 'probe', 35_000);
  console.log(
    `[${label}] ${connected.connected} subscribers connected in ${(connected.ms / 1000).toFixed(1)} s (${connected.failed} failed); probe Event (${probeStatus}) reached ${probe.received} of ${probe.of}`,
  );

  const total = rate * seconds;
  await ask(subs.child, { type: 'arm', tag, events: total }, 'armed', 10_000);
  const appendedBefore = await appendedToChangeLog();
  const subsCpu0 = (await ask<SubscriberStats>(subs.child, { type: 'stats' }, 'stats', 10_000)).cpuSeconds;
  const [gw0s, redis0, own0] = [await Promise.all(gw.processUrls.map(processSample)), await redisCpuSeconds(), ownCpuSeconds()];
  const gw0 = gw0s[gw0s.length - 1] as ProcessSample;
  const postMs: number[] = [];
  const statuses = new Map<number, number>();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let throttled = 0;
  const started = hostClockMs();
  let lastSendAt = started;
  while (sent < total) {
    const elapsed = hostClockMs() - started;
    if (elapsed > seconds * 1000 + 10_000) break; // the sender is 10 s behind: stop
    const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
    while (sent < due) {
      if (inFlight.size >= MAX_IN_FLIGHT) {
        throttled++;
        break;
      }
      const i = sent++;
      const sentAt = hostClockMs();
      const event = sign(customerUpdated(`evt_bench_${runId}_${tag}${i}`, `cus_bench_${tag}${i}`, `bench:${tag}:${i}:${sentAt}`));
      lastSendAt = sentAt;
      const p: Promise<void> = postWebhook(hookUrl, event).then((status) => {
        postMs.push(hostClockMs() - sentAt);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const sendSeconds = (lastSendAt - started) / 1000;
  const accepted = [...statuses].filter(([s]) => s >= 200 && s < 300).reduce((a, [, n]) => a + n, 0);
  const expected = accepted * connected.connected;

  // Wait until every expected delivery arrived, or nothing arrived for 5 s, or the drain timeout.
  let stats = await ask<SubscriberStats>(subs.child, { type: 'stats' }, 'stats', 10_000);
  const waitStarted = hostClockMs();
  let lastProgress = waitStarted;
  let lastDelivered = stats.delivered;
  while (stats.delivered < expected && hostClockMs() - waitStarted < DRAIN_TIMEOUT_MS && hostClockMs() - lastProgress < 5_000) {
    await sleep(250);
    stats = await ask<SubscriberStats>(subs.child, { type: 'stats' }, 'stats', 10_000);
    if (stats.delivered > lastDelivered) {
      lastDelivered = stats.delivered;
      lastProgress = hostClockMs();
    }
  }
  const waitedS = (hostClockMs() - waitStarted) / 1000;
  // CPU over the whole window: sending plus the wait for the last deliveries.
  const [gw1s, redis1, own1] = [await Promise.all(gw.processUrls.map(processSample)), await redisCpuSeconds(), ownCpuSeconds()];
  const gw1 = gw1s[gw1s.length - 1] as ProcessSample;
  const published = (await appendedToChangeLog()) - appendedBefore;
  await ask(subs.child, { type: 'close' }, 'closed', 10_000).catch(() => undefined);

  const non2xx =
    [...statuses]
      .filter(([s]) => s < 200 || s >= 300)
      .map(([s, n]) => `${s}×${n}`)
      .join(', ') || '0';
  const result: PointResult = {
    label,
    rate,
    subscribers: connected.connected,
    sent,
    sendSeconds,
    accepted,
    non2xx,
    published,
    postP50: pct(postMs, 50),
    postP99: pct(postMs, 99),
    stats,
    expected,
    waitedS,
    cpu: {
      gateway: gw0s.map((a, i) => cpuShare(a, gw1s[i] as ProcessSample)).join(' + '),
      subscribers: share(stats.cpuSeconds - subsCpu0, gw0.at, gw1.at),
      redis: share(redis1 - redis0, gw0.at, gw1.at),
      sender: share(own1 - own0, gw0.at, gw1.at),
    },
    lagMaxMs: Math.max(...gw1s.map((g) => g.lagMaxMs)),
    rssAfterMiB: gw1.rssMiB,
  };
  console.log(
    `[${label}] sent ${sent} Events in ${sendSeconds.toFixed(1)} s (${(sent / Math.max(sendSeconds, 0.001)).toFixed(0)}/s${throttled ? `; sender held back ${throttled}× at ${MAX_IN_FLIGHT} in flight` : ''}), ` +
      `${accepted} answered 2xx (non-2xx: ${non2xx}), ${published} published; deliveries ${stats.delivered} of ${expected} (dup ${stats.duplicates}) after waiting ${waitedS.toFixed(1)} s; ` +
      `CPU gateway ${result.cpu.gateway}, subscribers ${result.cpu.subscribers}, Redis ${result.cpu.redis}, sender ${result.cpu.sender}`,
  );
  const closed = Object.entries(stats.closedCodes);
  if (closed.length || stats.errorCount)
    console.log(
      `[${label}] subscriber sockets closed: ${closed.map(([k, n]) => `${n}× ${k}`).join('; ') || 'none'}; errors: ${stats.errorCount} ${stats.errors.join(' | ')}`,
    );
  if (stats.latency.negative) console.log(`[${label}] ${stats.latency.negative} deliveries had a negative latency (clock problem)`);
  return result;
}

/**
 * CPU seconds (user + system) a child has used so far, from /proc: on a machine shared with other
 * work the accepted/s of every server shrinks with its CPU share, while the CPU each accepted
 * webhook costs does not, so (a) also reports CPU per webhook and what one core would accept.
 */
function childCpuSeconds(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** One (a) measurement against `url` (after a warm-up and its drain), then the wait until the workers published everything accepted. */
async function acceptAndDrain(
  url: string,
  sampleUrls: string[],
  prepared: SignedEvent[],
  warmup: SignedEvent[],
  server: ChildProcess,
  worker: ChildProcess = server,
  pauseWorker = false,
) {
  if (WARMUP_S > 0) {
    await acceptRate(url, warmup, WARMUP_S);
    await waitForQueueDrain(DRAIN_TIMEOUT_MS);
  }
  const workerCpu0 = childCpuSeconds(worker);
  // The workers' process stopped (SIGSTOP) for the load and resumed after it: the intake has the
  // machine to itself with Redis, as when the workers run on machines of their own.
  if (pauseWorker) worker.kill('SIGSTOP');
  const appendedBefore = await appendedToChangeLog();
  const before = await Promise.all(sampleUrls.map(processSample));
  const [serverCpu0, redisCpu0, commands0] = [childCpuSeconds(server), await redisCpuSeconds(), await redisCommands()];
  const loadStarted = hostClockMs();
  const tp = await acceptRate(url, prepared);
  const commands1 = await redisCommands();
  const redisCalls = { all: (commands1.all - commands0.all) / Math.max(1, tp.ok), scripts: (commands1.scripts - commands0.scripts) / Math.max(1, tp.ok) };
  const cpuPerRequestUs = ((childCpuSeconds(server) - serverCpu0) * 1e6) / Math.max(1, tp.ok);
  const redisPerRequestUs = (((await redisCpuSeconds()) - redisCpu0) * 1e6) / Math.max(1, tp.ok);
  if (pauseWorker) worker.kill('SIGCONT');
  const afterLoad = await Promise.all(sampleUrls.map(processSample));
  // Paused workers start the drain with the whole load queued: time for them to catch up at ~500/s.
  const drain = await waitForQueueDrain(pauseWorker ? Math.max(DRAIN_TIMEOUT_MS, tp.ok * 2) : DRAIN_TIMEOUT_MS);
  const published = (await appendedToChangeLog()) - appendedBefore;
  const seconds = (hostClockMs() - loadStarted) / 1000;
  if (process.env.BENCH_REDIS_COMMANDS) {
    const commands2 = await redisCommands();
    console.log(`  Redis commands per accepted webhook, during the load: ${commandMix(commands0.byName, commands1.byName, tp.ok)}`);
    console.log(`  Redis commands per published change, load and drain: ${commandMix(commands0.byName, commands2.byName, published)}`);
  }
  // What the process running the workers spent per published change (the intake's share included when it is the same process).
  const workerCpuPerPublishedUs = ((childCpuSeconds(worker) - workerCpu0) * 1e6) / Math.max(1, published);
  return {
    workerCpuPerPublishedUs,
    redisCalls,
    tp,
    cpuPerRequestUs,
    redisPerRequestUs,
    drain,
    published,
    seconds,
    cpu: before.map((b, i) => cpuShare(b, afterLoad[i] as ProcessSample)),
    lagMaxMs: afterLoad.map((a) => a.lagMaxMs),
  };
}

/**
 * (a′) This version's intake process against another version's (BENCH_BEFORE_TREE) and the bare
 * server, in alternating slices: CPU µs per accepted webhook of each, summed over the rounds.
 */
async function sideBySide(childEnv: Record<string, string>, bare: Child<{ webhookUrl: string }>, workers: ChildProcess): Promise<void> {
  // Both intake processes alone with Redis: this version's workers paused meanwhile (the other version has none).
  workers.kill('SIGSTOP');
  try {
    await sideBySideSlices(childEnv, bare);
  } finally {
    workers.kill('SIGCONT');
  }
}

async function sideBySideSlices(childEnv: Record<string, string>, bare: Child<{ webhookUrl: string }>): Promise<void> {
  // Both versions' intake processes start fresh here, alike: reusing this version's intake from the
  // passes above gave it a longer history (heap, a backlog in its streams) than the other version's,
  // and measured it ~10 % slower for it (the same two versions, swapped, measured the other way).
  // And not once but BENCH_AB_PROCESSES times: on this machine one process of the same tree runs
  // 25-60 % slower than another for its whole life (two of the same tree, side by side: 130 and
  // 162 µs per webhook), so one process per version compares two draws, not two versions.
  const intakeOf = (tree: string, prefix: string) =>
    startChild<GatewayInfo>(
      `${tree}bench/webhook-gateway-process.ts`,
      { ...childEnv, BENCH_KEY_PREFIX: `${keyPrefix}:${prefix}`, SWITCHBOARD_ROLES: 'webhooks', BENCH_KEEP_KEYS: 'true' },
      countGatewayLog,
    );
  // Fresh Events (the ones above are duplicates for this version's intake now); each process walks them from the start.
  const events = signedEvents('ab', PAYLOADS, 'AB Customer');
  const warm = signedEvents('abw', 4_000, 'AB warm-up');
  const names = [`intake process, this version`, `intake process, ${BEFORE_TREE}`, 'baseline: node:http, HMAC verify only'];
  const totals = names.map((name) => ({ name, ok: 0, non2xx: 0, cpuS: 0, wallS: 0, perProcessUs: [] as number[], maxCursor: 0 }));
  let bareCursor = 0;
  const load0 = loadavg()[0] as number;
  for (let set = 0; set < AB_PROCESSES; set++) {
    const [current, before] = await Promise.all([intakeOf('', `after${set}`), intakeOf(`${BEFORE_TREE}/`, `before${set}`)]);
    const servers = [
      { url: current.info.webhookUrl, child: current.child, cursor: 0 },
      { url: before.info.webhookUrl, child: before.child, cursor: 0 },
      { url: bare.info.webhookUrl, child: bare.child, cursor: bareCursor },
    ].map((srv) => ({ ...srv, ok: 0, non2xx: 0, cpuS: 0 }));
    for (const srv of servers.slice(0, 2)) await acceptRate(srv.url, warm, 1);
    for (let round = 0; round < AB_ROUNDS; round++) {
      // Rotate the order so no server always follows the same one.
      for (let k = 0; k < servers.length; k++) {
        const srv = servers[(round + set + k) % servers.length] as (typeof servers)[number];
        const cpu0 = childCpuSeconds(srv.child);
        const r = await acceptRate(srv.url, events, AB_SLICE_S, srv.cursor);
        srv.cpuS += childCpuSeconds(srv.child) - cpu0;
        srv.cursor += r.sent;
        srv.ok += r.ok;
        srv.non2xx += r.non2xx;
      }
    }
    // This set's processes into the totals: pooled counts, and each process's own µs per webhook.
    servers.forEach((srv, i) => {
      const total = totals[i] as (typeof totals)[number];
      total.ok += srv.ok;
      total.cpuS += srv.cpuS;
      total.non2xx += srv.non2xx;
      total.wallS += AB_ROUNDS * AB_SLICE_S;
      total.perProcessUs.push((srv.cpuS * 1e6) / Math.max(1, srv.ok));
      total.maxCursor = Math.max(total.maxCursor, srv.cursor);
    });
    bareCursor = (servers[2] as (typeof servers)[number]).cursor;
    await Promise.all([stopChild(before.child), stopChild(current.child)]);
  }
  const bareUs = ((totals[2]?.cpuS ?? 0) * 1e6) / Math.max(1, totals[2]?.ok ?? 0);
  console.log(
    `(a′) Side by side: ${AB_PROCESSES} fresh intake processes per version, each ${AB_ROUNDS} rounds of ${AB_SLICE_S} s slices alternating with the other and the baseline; autocannon ${CONNECTIONS} connections; load average ${load0.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)}`,
  );
  console.table(
    totals.map((t) => {
      const us = (t.cpuS * 1e6) / Math.max(1, t.ok);
      const sorted = [...t.perProcessUs].sort((a, b) => a - b);
      return {
        case: t.name,
        '2xx': t.ok,
        'non-2xx': t.non2xx,
        'accepted/s': (t.ok / t.wallS).toFixed(0),
        'CPU µs/webhook': us.toFixed(0),
        'median of processes': (sorted[Math.floor((sorted.length - 1) / 2)] ?? 0).toFixed(0),
        'each process (or set)': t.perProcessUs.map((x) => x.toFixed(0)).join(' '),
        'vs baseline (CPU)': (bareUs / us).toFixed(2),
      };
    }),
  );
  for (const t of totals.slice(0, 2))
    if (t.maxCursor > events.length)
      console.log(`WARNING ${t.name}: ${t.maxCursor} sent for ${events.length} distinct Events (the rest were duplicates; raise BENCH_PAYLOADS)`);
  console.log();
}

async function main(): Promise<void> {
  const benchStarted = hostClockMs();
  await redis.connect();
  const childEnv = { REDIS_URL, BENCH_API_KEY: apiKey, BENCH_WEBHOOK_SECRET: secret, BENCH_KEY_PREFIX: keyPrefix, BENCH_CONNECTION_ID: connectionId };
  const [single, base] = await Promise.all([
    startChild<GatewayInfo>('bench/webhook-gateway-process.ts', childEnv, countGatewayLog, GATEWAY_NODE_ARGS),
    startChild<{ webhookUrl: string }>('bench/webhook-baseline-process.ts', childEnv),
  ]);
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  console.log(
    `\nSwitchboard webhook benchmark — node ${process.version}, Redis ${redisVersion} (${REDIS_URL}), key prefix ${keyPrefix}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}`,
  );
  console.log(`Stripe customer.updated Events (~1.3 KB, signed with stripe.webhooks.generateTestHeaderString) → POST /webhooks/stripe/${connectionId}\n`);
  const idle = await processSample(single.info.url);
  // (a) Accepted per second: the baseline first (the gateways idle), then one process with every
  // role, then a split deployment (SWITCHBOARD_ROLES): an intake process (webhooks), a workers
  // process and an api+subscriptions process, which (b) then measures.
  const prepared = signedEvents('a', PAYLOADS, 'Bench Customer');
  const warmup = signedEvents('w', Math.ceil(PAYLOADS / 4), 'Warm-up');
  if (WARMUP_S > 0) await acceptRate(base.info.webhookUrl, warmup, WARMUP_S);
  const baseCpu0 = childCpuSeconds(base.child);
  const baseTp = await acceptRate(base.info.webhookUrl, prepared);
  const baseCpuUs = ((childCpuSeconds(base.child) - baseCpu0) * 1e6) / Math.max(1, baseTp.ok);
  const one = await acceptAndDrain(single.info.webhookUrl, [single.info.url], prepared, warmup, single.child);
  const afterA = await processSample(single.info.url);
  // The keys stay (the split processes reuse the run's prefix): the queue is empty here, and the
  // second pass over the same Events must be accepted again, so the dedupe keys go.
  await stopChild(single.child);
  await removeKeys(REDIS_URL, keyPrefix);
  const splitEnv = (roles: string) => ({ ...childEnv, SWITCHBOARD_ROLES: roles, BENCH_KEEP_KEYS: 'true' });
  const [intake, workers, gw] = await Promise.all([
    startChild<GatewayInfo>('bench/webhook-gateway-process.ts', splitEnv('webhooks'), countGatewayLog, GATEWAY_NODE_ARGS),
    startChild<GatewayInfo>('bench/webhook-gateway-process.ts', splitEnv('workers'), countGatewayLog),
    startChild<GatewayInfo>('bench/webhook-gateway-process.ts', splitEnv('api,subscriptions'), countGatewayLog),
  ]);
  const split = await acceptAndDrain(intake.info.webhookUrl, [intake.info.url, workers.info.url], prepared, warmup, intake.child, workers.child);
  // The same processes again, the workers paused during the load (fresh Events: the ones above are
  // duplicates now). What one intake process accepts when processing runs elsewhere.
  const alone = await acceptAndDrain(
    intake.info.webhookUrl,
    [intake.info.url],
    signedEvents('p', PAYLOADS, 'Bench Customer p'),
    signedEvents('pw', Math.ceil(PAYLOADS / 4), 'Bench Customer pw'),
    intake.child,
    workers.child,
    true,
  );
  console.log(
    `(a) Verified webhooks accepted per second — autocannon, ${CONNECTIONS} connections, ${DURATION_S} s each, ${PAYLOADS} distinct signed Events (cycled)`,
  );
  const row = (name: string, r: AcceptResult, ratio: number, cpuUs: number, redisUs: number | null) => ({
    case: name,
    'accepted/s': r.acceptedPerS.toFixed(0),
    'CPU µs/webhook': cpuUs.toFixed(0),
    'per core /s': (1e6 / cpuUs).toFixed(0),
    'vs baseline (CPU)': (baseCpuUs / cpuUs).toFixed(2),
    'Redis µs/webhook': redisUs === null ? '-' : redisUs.toFixed(0),
    p50: `${r.p50} ms`,
    p99: `${r.p99} ms`,
    '2xx': r.ok,
    'non-2xx': r.non2xx,
    errors: r.errors,
    'vs baseline': ratio.toFixed(2),
  });
  console.table([
    row('gateway, every role in one process', one.tp, one.tp.acceptedPerS / baseTp.acceptedPerS, one.cpuPerRequestUs, one.redisPerRequestUs),
    row(
      'gateway, webhooks role only (workers elsewhere)',
      split.tp,
      split.tp.acceptedPerS / baseTp.acceptedPerS,
      split.cpuPerRequestUs,
      split.redisPerRequestUs,
    ),
    row(
      'gateway, webhooks role only, workers paused during the load',
      alone.tp,
      alone.tp.acceptedPerS / baseTp.acceptedPerS,
      alone.cpuPerRequestUs,
      alone.redisPerRequestUs,
    ),
    row('baseline: node:http, HMAC verify only', baseTp, 1, baseCpuUs, null),
  ]);
  const passes = [
    ['one process', one],
    ['split (intake, workers)', split],
    ['split, workers paused during the load', alone],
  ] as const;
  for (const [name, r] of passes) {
    console.log(
      `${name}: ${r.published} Events published to the change log for ${r.tp.ok} answered 2xx (${r.tp.sent} sent; the difference is requests in flight when autocannon stopped); ` +
        `queue ${r.drain.drained ? 'empty' : `NOT empty (${r.drain.left} left)`} ${(r.drain.ms / 1000).toFixed(1)} s after the load stopped ` +
        `(≈ ${(r.published / r.seconds).toFixed(0)} published/s from the first POST to the empty queue; CPU of the workers' process ${r.workerCpuPerPublishedUs.toFixed(0)} µs per published change, i.e. ≈ ${(1e6 / r.workerCpuPerPublishedUs).toFixed(0)}/s per core); Redis commands per webhook during the load ${r.redisCalls.all.toFixed(2)} (scripts ${r.redisCalls.scripts.toFixed(3)}); CPU during the load ${r.cpu.join(' + ')} of one core, event-loop delay max ${r.lagMaxMs.map((l) => l.toFixed(0)).join(' / ')} ms`,
    );
    if (r.tp.sent > PAYLOADS)
      console.log(`WARNING ${name}: ${r.tp.sent} sent for ${PAYLOADS} distinct Events: ${r.tp.sent - PAYLOADS} were duplicates (raise BENCH_PAYLOADS)`);
  }
  console.log();
  if (BEFORE_TREE) await sideBySide(childEnv, base, workers.child);
  // (b) Latency at fixed rates.
  console.log('(b) Webhook POST → subscriber receipt at a fixed rate (sender: paced POSTs, each Event signed when sent with its send time in the name)');
  const results: PointResult[] = [];
  for (const [k, p] of POINTS.entries())
    results.push(
      await fixedRatePoint(
        { url: gw.info.url, webhookUrl: intake.info.webhookUrl, processUrls: [intake.info.url, workers.info.url, gw.info.url] },
        p.rate,
        p.subscribers,
        p.seconds,
        `p${k}`,
      ),
    );
  console.table(
    results.map((r) => ({
      point: r.label,
      'sent/s': (r.sent / Math.max(r.sendSeconds, 0.001)).toFixed(0),
      'POST→2xx p50/p99': `${r.postP50.toFixed(1)} / ${r.postP99.toFixed(1)} ms`,
      'POST→receipt p50/p99': `${r.stats.latency.p50.toFixed(1)} / ${r.stats.latency.p99.toFixed(1)} ms`,
      'of which POST→published p50/p99': `${r.stats.toPublish.p50.toFixed(0)} / ${r.stats.toPublish.p99.toFixed(0)} ms`,
      'published→receipt p50/p99': `${r.stats.fromPublish.p50.toFixed(0)} / ${r.stats.fromPublish.p99.toFixed(0)} ms`,
      'delivered/expected': `${r.stats.delivered}/${r.expected}`,
      dup: r.stats.duplicates,
      'non-2xx': r.non2xx,
      'gw CPU': r.cpu.gateway,
      'loop delay max': `${r.lagMaxMs.toFixed(0)} ms`,
    })),
  );

  // (c) Memory.
  console.log('\n(c) Gateway process RSS (the gateway and the Stripe emulator share the process), from its /metrics');
  console.table([
    { when: 'idle, after start', RSS: `${idle.rssMiB.toFixed(0)} MiB` },
    { when: `after (a): ${one.tp.ok} webhooks accepted, queue drained (one process)`, RSS: `${afterA.rssMiB.toFixed(0)} MiB` },
    ...results.map((r) => ({ when: `after ${r.label}`, RSS: `${r.rssAfterMiB.toFixed(0)} MiB` })),
  ]);

  const { deadLetters } = await graphqlPost<{ deadLetters: { nodes: unknown[] } }>(gw.info.url, '{ deadLetters(first: 100) { nodes { id } } }');
  const failed = await queue.getJobCounts('failed');
  console.log(`dead letters: ${deadLetters.nodes.length}; failed jobs kept by BullMQ: ${failed.failed ?? 0}`);
  if (gatewayLog.size) {
    console.log('gateway warn/error log lines:');
    for (const [k, n] of gatewayLog) console.log(`  ${n}× ${k}`);
  } else console.log('gateway warn/error log lines: none');
  console.log(
    `whole benchmark: ${((hostClockMs() - benchStarted) / 1000).toFixed(0)} s; load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}`,
  );
}

try {
  await main();
} finally {
  cleaning ??= cleanup();
  await cleaning;
}
