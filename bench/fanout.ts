// Fan-out benchmark (issue #12, item 5): the subscription path alone, before and after, in one run.
// For each source tree (the baseline commit, extracted to a temporary directory, and this tree) it
// starts a gateway child with in-memory stores (bench/fanout-gateway-process.ts) and real graphql-ws
// clients in other children (bench/fanout-clients-process.ts), then measures:
// - idle memory: RSS and V8 heap after a full GC, before and after SOCKETS sockets each open one
//   contactChanged subscription (all confirmed live by a probe change delivered to every one);
// - throughput: EVENTS changes appended to the change log as fast as it takes them, delivered to
//   every subscriber; deliveries per second of wall time and per second of gateway CPU (the
//   per-core rate a larger deployment extrapolates from);
// - paced points (BENCH_POINTS=<events/s>x<subscribers>x<seconds>,…): publish → receipt p50/p99;
// - with BENCH_SPLIT=<n>: the same points on a split deployment sharing a Redis (measureSplit).
// Usage: npx tsx bench/fanout.ts  (BENCH_BASELINE_REF=<commit> to compare with, the merge base with main by default; empty to skip)
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(new URL('..', import.meta.url).pathname);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 10_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 40);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2);
// The baseline: where this branch left main, by default.
const baselineRef = process.env.BENCH_BASELINE_REF ?? execSync('git merge-base HEAD main', { cwd: repo }).toString().trim();
const points = (process.env.BENCH_POINTS ?? '1000x1000x5,100x1000x5')
  .split(',')
  .filter(Boolean)
  .map((p) => p.split('x').map(Number) as [number, number, number]);
const QUERY = 'subscription { contactChanged { eventId type contact { name emails { address } } source { remoteId fetchedAt } } }';

interface Proc {
  child: ChildProcess;
  request<T>(msg: object, answer: string, timeoutMs?: number): Promise<T>;
}

function startProc(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<Proc & { ready: Record<string, string> }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(repo, 'bench', script)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  const request = <T>(msg: object, answer: string, timeoutMs = 300_000) =>
    new Promise<T>((res, rej) => {
      const onMessage = (m: { type: string }) => {
        if (m.type === 'failed') rej(new Error(JSON.stringify(m)));
        if (m.type !== answer) return;
        child.off('message', onMessage);
        clearTimeout(timer);
        res(m as T);
      };
      const timer = setTimeout(() => rej(new Error(`${script}: no ${answer} within ${timeoutMs} ms`)), timeoutMs);
      child.on('message', onMessage);
      child.send(msg);
    });
  return new Promise((res, rej) => {
    child.once('message', (m: Record<string, string>) => (m.type === 'ready' ? res({ child, request, ready: m }) : rej(new Error(JSON.stringify(m)))));
    child.once('exit', (code) => rej(new Error(`${script} exited with ${code}`)));
  });
}

interface Measured {
  rss: number;
  heapUsed: number;
  cpuMs: number;
}
interface Stats {
  delivered: number;
  errors: number;
  firstError: string;
  p50: number;
  p99: number;
}
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function totals(clients: Proc[]): Promise<Stats> {
  const all = await Promise.all(clients.map((c) => c.request<Stats>({ type: 'stats' }, 'stats')));
  return {
    delivered: all.reduce((n, s) => n + s.delivered, 0),
    errors: all.reduce((n, s) => n + s.errors, 0),
    firstError: all.map((s) => s.firstError).find(Boolean) ?? '',
    // The worse client process's percentile (each holds its own histogram).
    p50: Math.max(...all.map((s) => s.p50)),
    p99: Math.max(...all.map((s) => s.p99)),
  };
}

async function waitDelivered(clients: Proc[], expected: number, timeoutMs: number): Promise<Stats> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const t = await totals(clients);
    if (t.delivered >= expected || Date.now() > until) return t;
    await sleep(100);
  }
}

async function connectClients(url: string, apiKey: string, sockets: number, processes = CLIENT_PROCESSES): Promise<Proc[]> {
  const n = Math.min(processes, sockets);
  const clients = await Promise.all(Array.from({ length: n }, () => startProc('fanout-clients-process.ts', {})));
  await Promise.all(
    clients.map((c, i) =>
      c.request(
        { type: 'connect', url, apiKey, sockets: Math.floor(sockets / n) + (i < sockets % n ? 1 : 0), subscriptionsPerSocket: 1, query: QUERY },
        'connected',
        900_000,
      ),
    ),
  );
  return clients;
}

async function reset(clients: Proc[]): Promise<void> {
  await Promise.all(clients.map((c) => c.request({ type: 'reset' }, 'reset')));
}

async function closeClients(clients: Proc[]): Promise<void> {
  await Promise.all(clients.map((c) => c.request({ type: 'close' }, 'closed').catch(() => c.child.kill())));
}

/** One paced point (events/s × subscribers × seconds) of a run. */
interface PointRow {
  point: string;
  /** Events per second the publisher reached (it slows when what it publishes into saturates). */
  achievedRate: number;
  delivered: number;
  expected: number;
  p50: number;
  p99: number;
  cpuMs: number;
  wallMs: number;
  errors: number;
}

interface Row {
  tree: string;
  idle: { rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number };
  throughput: { deliveries: number; wallMs: number; cpuMs: number; errors: number };
  points: PointRow[];
}

async function measureTree(tree: string, root: string): Promise<Row> {
  const gateway = await startProc('fanout-gateway-process.ts', { BENCH_SWITCHBOARD_ROOT: root }, ['--expose-gc']);
  const { url, apiKey } = gateway.ready as { url: string; apiKey: string };
  const measure = (gc = true) => gateway.request<Measured>({ type: 'measure', gc }, 'measured');
  const publish = (tag: string, count: number, perSecond = 0, perTick = 1) =>
    gateway.request({ type: 'publish', tag, count, perTick, perSecond }, 'published', 600_000);
  try {
    const before = await measure();
    if (process.env.BENCH_SNAPSHOT_DIR)
      await gateway.request({ type: 'snapshot', path: join(process.env.BENCH_SNAPSHOT_DIR, `${tree.split(' ')[0]}-0.heapsnapshot`) }, 'snapshotted');
    // Idle memory: SOCKETS sockets, one subscription each, confirmed live by one probe each.
    let clients = await connectClients(url, apiKey as string, SOCKETS);
    await publish('probe', 1);
    const probe = await waitDelivered(clients, SOCKETS, 120_000);
    if (probe.delivered < SOCKETS) throw new Error(`${tree}: probe reached ${probe.delivered} of ${SOCKETS} (${probe.firstError})`);
    await sleep(500);
    const after = await measure();
    if (process.env.BENCH_SNAPSHOT_DIR)
      await gateway.request({ type: 'snapshot', path: join(process.env.BENCH_SNAPSHOT_DIR, `${tree.split(' ')[0]}-${SOCKETS}.heapsnapshot`) }, 'snapshotted');
    console.log(`${tree}: ${SOCKETS} idle subscriptions: RSS ${(before.rss / MB).toFixed(0)} → ${(after.rss / MB).toFixed(0)} MiB`);

    // Throughput: EVENTS changes, each to every subscriber.
    await reset(clients);
    const cpu0 = (await measure(false)).cpuMs;
    const t0 = performance.now();
    await publish('tput', EVENTS);
    const tput = await waitDelivered(clients, EVENTS * SOCKETS, 300_000);
    const wallMs = performance.now() - t0;
    const cpuMs = (await measure(false)).cpuMs - cpu0;
    console.log(`${tree}: ${tput.delivered} deliveries in ${wallMs.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms gateway CPU`);
    await closeClients(clients);

    const rows: Row['points'] = [];
    for (const [rate, subscribers, seconds] of points) {
      clients = await connectClients(url, apiKey as string, subscribers);
      await publish('probe', 1);
      await waitDelivered(clients, subscribers, 60_000);
      await reset(clients);
      const c0 = (await measure(false)).cpuMs;
      const s0 = performance.now();
      const events = rate * seconds;
      await publish('paced', events, rate, Math.max(1, Math.round(rate / 100)));
      // The publisher shares the gateway's event loop: a saturated gateway slows it below the rate.
      const publishMs = performance.now() - s0;
      const got = await waitDelivered(clients, events * subscribers, 30_000);
      const cpuMs = (await measure(false)).cpuMs - c0;
      const wallMs = performance.now() - s0;
      rows.push({
        point: `${rate} events/s × ${subscribers} subscribers, ${seconds} s`,
        delivered: got.delivered,
        expected: events * subscribers,
        p50: got.p50,
        p99: got.p99,
        cpuMs,
        wallMs,
        achievedRate: events / (publishMs / 1000),
        errors: got.errors,
      });
      console.log(`${tree}: ${JSON.stringify(rows.at(-1))}`);
      await closeClients(clients);
    }
    return {
      tree,
      idle: { rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heapUsed, heapAfter: after.heapUsed },
      throughput: { deliveries: tput.delivered, wallMs, cpuMs, errors: tput.errors },
      points: rows,
    };
  } finally {
    await gateway.request({ type: 'stop' }, 'never', 5_000).catch(() => undefined);
    gateway.child.kill();
  }
}

const results: Row[] = [];
let baselineDir: string | null = null;
try {
  // BENCH_SOCKETS=0: only the split deployment (BENCH_SPLIT).
  if (baselineRef && SOCKETS > 0) {
    baselineDir = mkdtempSync(join(tmpdir(), 'sb-fanout-baseline-'));
    execSync(`git archive ${baselineRef} src connectors schema package.json | tar -x -C ${baselineDir}`, { cwd: repo });
    symlinkSync(join(repo, 'node_modules'), join(baselineDir, 'node_modules'));
    results.push(await measureTree(`before (${baselineRef.slice(0, 7)})`, baselineDir));
  }
  if (SOCKETS > 0) results.push(await measureTree('after (this tree)', repo));
} finally {
  if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
}

/**
 * A split deployment on one Redis: one `api` process appends the changes to the change log (as a
 * worker would), SPLIT processes with `SWITCHBOARD_ROLES=subscriptions` each tail the log and serve
 * an equal share of the subscribers; measured at each paced point, with the subscription
 * processes' CPU time summed.
 */
type SplitRow = PointRow;
async function measureSplit(processes: number): Promise<SplitRow[]> {
  const { startRedisServer } = await import('../test/redis-server.ts');
  const redis = await startRedisServer();
  const env = { BENCH_REDIS_URL: redis.url, BENCH_KEY_PREFIX: `sbfanout-split:${process.pid}` };
  const procs: Proc[] = [];
  try {
    const publisher = await startProc('fanout-gateway-process.ts', { ...env, BENCH_ROLES: 'api' });
    procs.push(publisher);
    const gateways = await Promise.all(
      Array.from({ length: processes }, () => startProc('fanout-gateway-process.ts', { ...env, BENCH_ROLES: 'subscriptions' })),
    );
    procs.push(...gateways);
    const cpu = async () => {
      const all = await Promise.all(gateways.map((g) => g.request<Measured>({ type: 'measure', gc: false }, 'measured')));
      return all.reduce((n, m) => n + m.cpuMs, 0);
    };
    const publish = (tag: string, count: number, perSecond = 0, perTick = 1) =>
      publisher.request({ type: 'publish', tag, count, perTick, perSecond }, 'published', 600_000);
    const rows: SplitRow[] = [];
    for (const [rate, subscribers, seconds] of points) {
      const clients = (
        await Promise.all(
          gateways.map((g, i) =>
            connectClients(g.ready.url as string, g.ready.apiKey as string, Math.floor(subscribers / processes) + (i < subscribers % processes ? 1 : 0), 1),
          ),
        )
      ).flat();
      await publish('probe', 1);
      await waitDelivered(clients, subscribers, 60_000);
      await reset(clients);
      const c0 = await cpu();
      const s0 = performance.now();
      const events = rate * seconds;
      await publish('paced', events, rate, Math.max(1, Math.round(rate / 100)));
      const publishMs = performance.now() - s0;
      const got = await waitDelivered(clients, events * subscribers, 30_000);
      rows.push({
        achievedRate: events / (publishMs / 1000),
        point: `${rate} events/s × ${subscribers} subscribers, ${seconds} s`,
        delivered: got.delivered,
        expected: events * subscribers,
        p50: got.p50,
        p99: got.p99,
        cpuMs: (await cpu()) - c0,
        wallMs: performance.now() - s0,
        errors: got.errors,
      });
      console.log(`split ×${processes}: ${JSON.stringify(rows.at(-1))}`);
      await closeClients(clients);
    }
    return rows;
  } finally {
    for (const p of procs) {
      await p.request({ type: 'stop' }, 'never', 5_000).catch(() => undefined);
      p.child.kill();
    }
    await redis.stop();
  }
}

const SPLIT = Number(process.env.BENCH_SPLIT ?? 0);
const splitRows = SPLIT > 0 ? await measureSplit(SPLIT) : [];

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
if (results.length) {
  console.log(`\n### Idle subscriptions (${fmt(SOCKETS)} sockets, one contactChanged each)\n`);
  console.log('| tree | RSS before / after | per subscription (RSS) | V8 heap before / after | per subscription (heap) |');
  console.log('|---|---|---|---|---|');
  for (const r of results) {
    const { rssBefore, rssAfter, heapBefore, heapAfter } = r.idle;
    console.log(
      `| ${r.tree} | ${fmt(rssBefore / MB)} / ${fmt(rssAfter / MB)} MiB | ${((rssAfter - rssBefore) / SOCKETS / 1024).toFixed(1)} KiB | ${fmt(heapBefore / MB)} / ${fmt(heapAfter / MB)} MiB | ${((heapAfter - heapBefore) / SOCKETS / 1024).toFixed(1)} KiB |`,
    );
  }
  console.log(`\n### Throughput (${EVENTS} changes × ${fmt(SOCKETS)} subscribers, published back to back)\n`);
  console.log('| tree | deliveries | wall | deliveries/s | gateway CPU | deliveries per CPU-second | errors |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const t = r.throughput;
    console.log(
      `| ${r.tree} | ${fmt(t.deliveries)} | ${fmt(t.wallMs)} ms | ${fmt(t.deliveries / (t.wallMs / 1000))} | ${fmt(t.cpuMs)} ms | ${fmt(t.deliveries / (t.cpuMs / 1000))} | ${t.errors} |`,
    );
  }
}
if (points.length && results.length) {
  console.log('\n### Paced points (publish → receipt)\n');
  console.log('| tree | point | events/s published | delivered / expected | p50 / p99 | gateway CPU (wall) | deliveries per CPU-second | errors |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results)
    for (const p of r.points)
      console.log(
        `| ${r.tree} | ${p.point} | ${fmt(p.achievedRate)} | ${fmt(p.delivered)} / ${fmt(p.expected)} | ${p.p50.toFixed(1)} / ${p.p99.toFixed(1)} ms | ${fmt(p.cpuMs)} ms (${fmt(p.wallMs)} ms) | ${fmt(p.delivered / (p.cpuMs / 1000))} | ${p.errors} |`,
      );
}
if (splitRows.length) {
  console.log(`\n### Split deployment: ${SPLIT} subscription processes (SWITCHBOARD_ROLES=subscriptions) and one api process appending, one Redis\n`);
  console.log(
    '| point | events/s published | delivered / expected | publish → receipt p50 / p99 | subscription processes CPU | deliveries per CPU-second | errors |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of splitRows)
    console.log(
      `| ${r.point} | ${fmt(r.achievedRate)} | ${fmt(r.delivered)} / ${fmt(r.expected)} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms | ${fmt(r.cpuMs)} ms in ${fmt(r.wallMs)} ms | ${fmt(r.delivered / (r.cpuMs / 1000))} | ${r.errors} |`,
    );
}
process.exit(0);
