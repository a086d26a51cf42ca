// `npm run bench:connections`: what runtime connections and runtime API keys cost, measured
// against a running gateway (child process, real Redis, HubSpot emulator without added latency so
// the gateway's own work shows), each next to its baseline in the same run:
//   1. authentication: a trivial query with a tenants-file key vs a runtime key (Redis lookup);
//   2. cold reads (cache off): a contact by id through a tenants-file connection (static token)
//      vs a runtime OAuth connection (vault decrypt + token check per upstream call);
//   3. a refresh stampede: 50 concurrent reads right after the provider expired the token — every
//      one gets a 401, they share one refresh, and all succeed; latency vs 50 ordinary reads.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { freePort, startRedisServer, type RedisServer } from '../test/redis-server.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const AUTH_QUERY = `{ connectors { id } }`;
/** A contact read by id (one HubSpot batch read per request with the cache off). */
const readQuery = (id: string) => `{ contact(id: ${JSON.stringify(id)}) { id name emails { address } } }`;

// Without REDIS_URL the gateway runs on a throwaway redis-server of the benchmark's own.
const ownRedis = process.env.REDIS_URL ? null : await startRedisServer();
const redisUrl = process.env.REDIS_URL ?? (ownRedis as RedisServer).url;
const port = await freePort();
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/connections-process.ts'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  // TEST_REDIS_URL too: the child drives the connect flow with the test helpers, which refuse to
  // load without knowing their Redis.
  env: { ...process.env, REDIS_URL: redisUrl, TEST_REDIS_URL: redisUrl, LOG_LEVEL: 'silent', BENCH_GATEWAY_PORT: String(port) },
});
const info = await new Promise<{
  url: string;
  hubspot: string;
  keys: { configured: string; oauth: string; runtime: string };
  contactIds: { configured: string; oauth: string };
}>((resolve, reject) => {
  createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
  child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
});

async function load(query: string, key: string, duration = DURATION_S) {
  const r = await autocannon({
    url: info.url,
    method: 'POST',
    connections: 10,
    duration,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

async function timed(key: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(info.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: readQuery(key === info.keys.oauth ? info.contactIds.oauth : info.contactIds.configured) }),
  });
  const body = (await res.json()) as { errors?: unknown[] };
  if (res.status !== 200 || body.errors) throw new Error(`read failed: ${res.status} ${JSON.stringify(body.errors)}`);
  return performance.now() - started;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number;
const refreshes = async () =>
  ((await (await fetch(`${info.hubspot}/__emulator/oauth`)).json()) as { byGrantType: Record<string, { ok: number }> }).byGrantType.refresh_token?.ok ?? 0;

try {
  // Warm-up both paths (JIT, connections, first vault read).
  for (let i = 0; i < 50; i++) await Promise.all([timed(info.keys.configured), timed(info.keys.oauth)]);
  for (const key of [info.keys.configured, info.keys.runtime]) await load(AUTH_QUERY, key, 2);

  // A, B, A: the baseline is measured on both sides of the runtime-key run (order effects show).
  const authFile = await load(AUTH_QUERY, info.keys.configured);
  const authRuntime = await load(AUTH_QUERY, info.keys.runtime);
  const authFileAgain = await load(AUTH_QUERY, info.keys.configured);
  const readFile = await load(readQuery(info.contactIds.configured), info.keys.configured);
  const readOAuth = await load(readQuery(info.contactIds.oauth), info.keys.oauth);

  const ordinary = await Promise.all(Array.from({ length: 50 }, () => timed(info.keys.oauth)));
  const before = await refreshes();
  await fetch(`${info.hubspot}/__emulator/oauth`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ expireAllAccessTokens: true }),
  });
  const stampede = await Promise.all(Array.from({ length: 50 }, () => timed(info.keys.oauth)));
  const refreshCount = (await refreshes()) - before;

  const row = (name: string, r: { rps: number; p50: number; p99: number; errors: number }, base?: { rps: number }) =>
    `| ${name} | ${r.rps.toFixed(0)} | ${r.p50} ms | ${r.p99} ms | ${r.errors} | ${base ? (r.rps / base.rps).toFixed(2) : '1.00 (baseline)'} |`;
  const lines = [
    `Connections benchmark (${DURATION_S} s per row, 10 connections, HubSpot emulator without added latency, cache off, Redis)`,
    '',
    '| scenario | req/s | p50 | p99 | errors | ratio |',
    '|---|---|---|---|---|---|',
    row('auth: tenants-file API key, { connectors }', authFile),
    row('auth: runtime API key (Redis lookup)', authRuntime, authFile),
    row('auth: tenants-file API key again', authFileAgain, authFile),
    row('cold read: tenants-file connection (static token)', readFile),
    row('cold read: runtime OAuth connection (vault)', readOAuth, readFile),
    '',
    `Refresh stampede: 50 concurrent reads after the provider expired the token → ${refreshCount} refresh(es); p50 ${pct(stampede, 50).toFixed(1)} ms, p99 ${pct(stampede, 99).toFixed(1)} ms (50 ordinary concurrent reads: p50 ${pct(ordinary, 50).toFixed(1)} ms, p99 ${pct(ordinary, 99).toFixed(1)} ms)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await ownRedis?.stop();
}
