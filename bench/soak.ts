// `npm run bench:soak`: does the gateway's memory settle under sustained mixed traffic, or grow?
// Runs the zero-config demo (`src/main.ts`: every provider emulator in the process, seeded) as a
// child process on a throwaway redis-server (or REDIS_URL), then for SOAK_S seconds at once:
//   - 3 query loops: lists (one loop across every provider, two on single providers), a page
//     after a cursor, single records by id;
//   - a change loop: every connector's `npm run demo:change` change every 250 ms (real signed
//     webhooks into the gateway, or a change the next poll sees), so caches are invalidated and
//     the event path, the change log and the fan-out run the whole time (a connector whose
//     emulator refuses a change, rate-limited, is left alone for 15 s);
//   - 2 subscription loops: connect over graphql-ws, subscribe to contactChanged, close after 0.7 s.
// Every second it reads the gateway's /metrics (the V8 heap used: its peak per window); at the end
// of each SOAK_SAMPLE_S window it runs a full garbage collection in the gateway (over the
// inspector) and prints the heap used right after it (what the gateway holds) and the RSS. A leak
// shows as a heap after GC that keeps rising; the last line gives its slope over the second half.
// SOAK_SNAPSHOTS=<dir>: heap snapshots of the gateway after the first window and at the end, for
// `npx tsx bench/heap-diff.ts <first> <last>` (each pauses the gateway for seconds).
// The child, its emulators and the redis-server are stopped at the end, also on error.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { CONNECTORS } from '../connectors/registry.ts';
import type { DemoState } from '../src/demo.ts';
import { startRedisServer, type RedisServer } from '../test/redis-server.ts';

const SOAK_S = Number(process.env.SOAK_S ?? 300);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_S ?? 20);
const SNAPSHOTS = process.env.SOAK_SNAPSHOTS ?? '';
const API_KEY = 'sk_demo_soak_0123456789abcdef0123';
const METRICS_TOKEN = 'soak-metrics-token-0123456789';

const QUERIES = [
  '{ contacts(first: 20) { nodes { id name emails { address } source { provider cacheStatus } } pageInfo { endCursor hasNextPage } } }',
  '{ invoices(first: 50) { nodes { id number total { amount currency } contact { name } } pageInfo { endCursor } } }',
  '{ orders(first: 10) { nodes { id } } }',
  '{ invoices(first: 10, filter: { provider: "stripe" }) { edges { cursor node { id status } } } }',
];
const FILTERED = [
  '{ contacts(first: 20, filter: { provider: "hubspot" }) { nodes { id name emails { address } } pageInfo { endCursor } } }',
  '{ invoices(first: 50, filter: { provider: "stripe" }) { nodes { id number total { amount currency } contact { name } } } }',
  '{ orders(first: 10, filter: { provider: "shopify" }) { nodes { id } } }',
];
const PAGE_AFTER = 'query ($after: String) { contacts(first: 20, after: $after) { nodes { id name } } }';
const BY_ID = 'query ($id: ID!) { node(id: $id) { id ... on Contact { name } ... on Invoice { number } } }';
const SUBSCRIPTION = 'subscription { contactChanged { type contact { name } } }';

const counts = { queries: 0, queryErrors: 0, changes: 0, changeFailures: 0, subscriptions: 0, events: 0, subscriptionErrors: 0 };
const closeCodes = new Map<string, number>();
/** Why a demo change could not be made, by connector and message. */
const changeFailures = new Map<string, number>();
/** Queries answered with errors, by HTTP status and the first error's code. */
const errorCodes = new Map<string, number>();
let running = true;

const ownRedis: RedisServer | null = process.env.REDIS_URL ? null : await startRedisServer();
const redisUrl = process.env.REDIS_URL ?? (ownRedis as RedisServer).url;
// The demo writes its state file (emulator URLs and tokens) under its working directory.
const workDir = mkdtempSync(join(tmpdir(), 'sb-soak-'));
symlinkSync(join(process.cwd(), 'node_modules'), join(workDir, 'node_modules'));
const child: ChildProcess = spawn(
  process.execPath,
  // The inspector (loopback, a free port) lets the soak run a full collection before each reading.
  ['--inspect=127.0.0.1:0', ...(SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR2'] : []), '--import', 'tsx', join(process.cwd(), 'src/main.ts')],
  {
    cwd: workDir,
    env: { ...process.env, REDIS_URL: redisUrl, PORT: '0', SWITCHBOARD_DEMO_API_KEY: API_KEY, LOG_LEVEL: 'warn', METRICS_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let output = '';
child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
child.stderr!.on('data', (b: Buffer) => (output += b.toString()));

/** The inspector connection (connectInspector), closed by cleanup(). */
let inspector: WebSocket | null = null;
async function cleanup(): Promise<void> {
  running = false;
  inspector?.close();
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  await ownRedis?.stop();
  rmSync(workDir, { recursive: true, force: true });
}

async function post(url: string, query: string, variables?: Record<string, unknown>): Promise<{ data?: Record<string, any>; errors?: unknown[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: Array<{ extensions?: { code?: string } }> };
  counts.queries += 1;
  if (body.errors) {
    counts.queryErrors += 1;
    const code = `HTTP ${res.status} ${body.errors[0]?.extensions?.code ?? 'no code'}`;
    errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1);
  }
  return body;
}

async function queryLoop(url: string, queries: readonly string[]): Promise<void> {
  // Each loop pages and looks up what its own lists returned (a loop on single providers never
  // waits on another provider's allowance).
  const ids: string[] = [];
  const cursors: string[] = [];
  for (let i = 0; running; i++) {
    try {
      const body = await post(url, queries[i % queries.length] as string);
      const list = body.data?.['contacts'] ?? body.data?.['invoices'];
      for (const node of (list?.nodes ?? []).slice(0, 3)) if (node?.id && ids.length < 500) ids.push(node.id);
      // A cursor continues the list it came from (same arguments): only the unfiltered contacts list's.
      if (queries[i % queries.length] === QUERIES[0] && list?.pageInfo?.endCursor && cursors.length < 200) cursors.push(list.pageInfo.endCursor);
      if (i % 3 === 0 && cursors.length) await post(url, PAGE_AFTER, { after: cursors[i % cursors.length] });
      if (i % 2 === 0 && ids.length) await post(url, BY_ID, { id: ids[i % ids.length] });
    } catch {
      counts.queryErrors += 1;
    }
  }
}

/** A refused change (the emulator's rate limit, which the gateway's calls share) pauses that connector's changes this long. */
const CHANGE_BACKOFF_MS = 15_000;

async function changeLoop(state: DemoState): Promise<void> {
  const pausedUntil = new Map<string, number>();
  while (running) {
    for (const { connector, demo } of CONNECTORS) {
      const id = connector.manifest.id;
      const emulator = state.emulators[id];
      if (!emulator || (pausedUntil.get(id) ?? 0) > Date.now()) continue;
      try {
        await demo.change(emulator);
        counts.changes += 1;
      } catch (err) {
        counts.changeFailures += 1;
        pausedUntil.set(id, Date.now() + CHANGE_BACKOFF_MS);
        const key = `${id}: ${(err as Error).message.slice(0, 160)}`;
        changeFailures.set(key, (changeFailures.get(key) ?? 0) + 1);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function subscriptionLoop(url: string): Promise<void> {
  while (running) {
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${API_KEY}` },
      retryAttempts: 0,
      on: {
        closed: (event) => {
          const { code, reason } = event as { code?: number; reason?: string };
          const key = `${code} ${reason ?? ''}`.trim();
          closeCodes.set(key, (closeCodes.get(key) ?? 0) + 1);
        },
      },
    });
    counts.subscriptions += 1;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve();
      }, 700);
      const unsubscribe = client.subscribe(
        { query: SUBSCRIPTION },
        {
          next: () => void (counts.events += 1),
          error: () => {
            counts.subscriptionErrors += 1;
            clearTimeout(timer);
            resolve();
          },
          complete: () => undefined,
        },
      );
    });
    await client.dispose();
  }
}

interface Metrics {
  heapUsed: number;
  heapTotal: number;
  rss: number;
}
async function readMetrics(base: string): Promise<Metrics | null> {
  try {
    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    // prom-client's default process metrics, under the gateway's prefix.
    const value = (name: string) => Number(new RegExp(`^(?:\\w+_)?${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
    return { heapUsed: value('nodejs_heap_size_used_bytes'), heapTotal: value('nodejs_heap_size_total_bytes'), rss: value('process_resident_memory_bytes') };
  } catch {
    return null;
  }
}

/** Takes a heap snapshot of the gateway (SIGUSR2) and names it `name` in SOAK_SNAPSHOTS. */
async function snapshot(name: string): Promise<void> {
  const before = new Set(readdirSync(workDir));
  child.kill('SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const made = readdirSync(workDir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // The file is complete once the gateway answers again.
    if (made && (await readMetrics(baseUrl))) {
      mkdirSync(SNAPSHOTS, { recursive: true });
      renameSync(join(workDir, made), join(SNAPSHOTS, name));
      return;
    }
  }
  console.warn(`no heap snapshot appeared for ${name}`);
}

/**
 * A full garbage collection in the gateway (Chrome DevTools Protocol, HeapProfiler.collectGarbage):
 * the heap used right after it is what the gateway holds, not what waits for a major collection
 * (V8 lets old-generation garbage pile up to several times the live heap between them).
 */
async function connectInspector(): Promise<() => Promise<void>> {
  let address: string | undefined;
  for (let i = 0; i < 100 && !address; i++) {
    address = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
    if (!address) await new Promise((r) => setTimeout(r, 100));
  }
  if (!address) throw new Error('the gateway printed no inspector address');
  const socket = new WebSocket(address);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  socket.on('message', (data: Buffer) => {
    const { id } = JSON.parse(data.toString()) as { id?: number };
    if (id !== undefined) waiting.get(id)?.();
  });
  inspector = socket;
  return () =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      waiting.set(id, () => {
        waiting.delete(id);
        resolve();
      });
      socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
    });
}

const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
let baseUrl = '';
try {
  const stateFile = join(workDir, '.tmp', 'demo.json');
  for (let i = 0; i < 600 && !existsSync(stateFile) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(stateFile)) throw new Error(`the demo did not start:\n${output.slice(-2000)}`);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DemoState;
  const url = state.gateway;
  baseUrl = url.replace(/\/graphql$/, '');
  console.log(`Switchboard soak — node ${process.version}, the demo (pid ${child.pid}) on ${redisUrl}, ${SOAK_S} s, windows of ${SAMPLE_S} s`);
  // One loop across every provider (it waits on Xero's 60 calls a minute like any client would),
  // two on providers with larger allowances, so the query path keeps running meanwhile.
  const loops = [QUERIES, FILTERED, FILTERED.slice().reverse()].map((queries) => queryLoop(url, queries));
  loops.push(changeLoop(state), subscriptionLoop(url), subscriptionLoop(url));

  const collectGarbage = await connectInspector();
  const started = Date.now();
  const rows: Array<Record<string, string | number>> = [];
  const live: Array<{ t: number; heap: number }> = [];
  let window = { peak: 0, queries: 0 };
  let nextSample = SAMPLE_S;
  while ((Date.now() - started) / 1000 < SOAK_S) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = await readMetrics(baseUrl);
    if (m && Number.isFinite(m.heapUsed)) window.peak = Math.max(window.peak, m.heapUsed);
    const t = (Date.now() - started) / 1000;
    if (t < nextSample) continue;
    await collectGarbage();
    const after = await readMetrics(baseUrl);
    if (!after) throw new Error('the gateway stopped answering /metrics');
    live.push({ t, heap: after.heapUsed });
    rows.push({
      t: `${t.toFixed(0)} s`,
      'heap after a full GC (MiB)': MiB(after.heapUsed),
      'heap used, peak (MiB)': MiB(window.peak),
      'RSS (MiB)': MiB(after.rss),
      'queries/s': ((counts.queries - window.queries) / SAMPLE_S).toFixed(1),
      'queries with errors': counts.queryErrors,
      changes: counts.changes,
      subscriptions: counts.subscriptions,
      'events received': counts.events,
    });
    console.log(JSON.stringify(rows.at(-1)));
    if (rows.length === 1 && SNAPSHOTS) await snapshot('first.heapsnapshot');
    window = { peak: 0, queries: counts.queries };
    nextSample += SAMPLE_S;
  }
  running = false;
  await Promise.all(loops);
  if (SNAPSHOTS) await snapshot('last.heapsnapshot');
  console.table(rows);
  // Least-squares slope of the live heap over the second half (the first is warm-up: JIT, caches, pools).
  const half = live.filter((f) => f.t >= SOAK_S / 2);
  if (half.length >= 2) {
    const mt = half.reduce((a, f) => a + f.t, 0) / half.length;
    const mh = half.reduce((a, f) => a + f.heap, 0) / half.length;
    const slope = half.reduce((a, f) => a + (f.t - mt) * (f.heap - mh), 0) / half.reduce((a, f) => a + (f.t - mt) ** 2, 0);
    console.log(
      `heap after a full GC over the second half: ${MiB(Math.min(...half.map((f) => f.heap)))}–${MiB(Math.max(...half.map((f) => f.heap)))} MiB, slope ${((slope * 60) / 2 ** 20).toFixed(2)} MiB/min`,
    );
  }
  console.log(`WebSocket closes seen by the subscribers: ${JSON.stringify(Object.fromEntries(closeCodes))}; subscription errors ${counts.subscriptionErrors}`);
  console.log(`queries with errors, by HTTP status and first error code: ${JSON.stringify(Object.fromEntries(errorCodes))}`);
  console.log(`changes not made: ${counts.changeFailures}`);
  for (const [why, n] of changeFailures) console.log(`  ${n} × ${why}`);
  // One pass over the gateway's output: warn/error lines counted by message, and the first line of
  // each error message kept in full (errors are rare and each one matters).
  const warnings = new Map<string, number>();
  const firstErrors = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /"level":(40|50|60).*"msg":"([^"]*)"/.exec(line);
    if (!m) continue;
    const msg = m[2] as string;
    const key = `${m[1] === '40' ? 'warn' : 'error'}: ${msg}`;
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
    if (m[1] !== '40' && !firstErrors.has(msg)) firstErrors.set(msg, line);
  }
  console.log('gateway warn/error lines by message:');
  for (const [msg, n] of [...warnings].sort((a, b) => b[1] - a[1])) console.log(`  ${n} × ${msg.slice(0, 200)}`);
  for (const [msg, line] of firstErrors) console.log(`  first "${msg}": ${line.slice(0, 1500)}`);
  if (SNAPSHOTS) console.log(`snapshots: npx tsx bench/heap-diff.ts ${join(SNAPSHOTS, 'first.heapsnapshot')} ${join(SNAPSHOTS, 'last.heapsnapshot')}`);
} finally {
  await cleanup();
}
