// Fairness benchmark (issue 13): tenant B's latency for a trivial query, alone, then while tenant A
// floods the same gateway — with per-tenant limits on (A: BENCH_A_RPS per second, 4 in progress,
// as a tenants-file override; refusals held for refusalHoldMs as by default, and answered at once)
// and with them off. Two floods: 30 aliased `__typename` (no upstream
// work: about as cheap to answer as to refuse) and an uncached list of 20 contacts read from a
// Stripe emulator (each admitted request does upstream work). The gateway runs in a child process
// (this file with FAIRNESS_CHILD=1), the emulator in this one, so neither shares the load
// generator's event loop with the gateway. `npx tsx bench/fairness.ts`; REDIS_URL to share the
// limits through Redis as in production. Durations: BENCH_SECONDS (default 5).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { hashApiKey } from '../src/callers/tenants.ts';
import { DEFAULT_LIMITS, defaultGatewayConfig } from '../src/config.ts';
import { createGateway } from '../src/server.ts';
import { generateMasterKeyEntry, parseMasterKeys } from '../src/accounts/vault.ts';
import { startEmulator as startStripe } from '../connectors/stripe/emulator/index.ts';
import { stripeDemo } from '../connectors/stripe/demo.ts';

const KEY_A = `sb_bench_a_${randomUUID()}`;
const KEY_B = `sb_bench_b_${randomUUID()}`;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
/** Tenant A's request rate with limits on (BENCH_A_RPS, default 10 per second). */
const A_RPS = Number(process.env.BENCH_A_RPS ?? 10);
// A's flood: 30 aliased fields per request (within the document limits), B's query: one field.
const FLOOD = JSON.stringify({ query: `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __typename`).join(' ')} }` });
const TRIVIAL = JSON.stringify({ query: '{ __typename }' });
// A's other flood: a list read from the provider on every request (caches off in the child).
const UPSTREAM = JSON.stringify({ query: '{ contacts(first: 20) { nodes { name emails { address } } } }' });

async function child(): Promise<void> {
  const mode = process.env.FAIRNESS_LIMITS as LimitsMode;
  const limited = mode !== 'off';
  const tenants = [
    {
      id: 'a',
      apiKeys: [{ id: 'a', sha256: hashApiKey(process.env.KEY_A!) }],
      connections: [
        {
          id: 'a-stripe',
          provider: 'stripe',
          baseUrl: process.env.STRIPE_URL!,
          credentials: { type: 'static' as const, token: stripeDemo.testToken },
          settings: {},
        },
      ],
      // Tenant A's own allowance (a tenants-file override), small enough to bite on a loaded box.
      ...(limited ? { limits: { tenantRequestsPerSecond: A_RPS, tenantRequestBurst: A_RPS, tenantConcurrency: 4 } } : {}),
    },
    { id: 'b', apiKeys: [{ id: 'b', sha256: hashApiKey(process.env.KEY_B!) }], connections: [] },
  ];
  const limits = limited
    ? { ...DEFAULT_LIMITS, refusalHoldMs: mode === 'on, refusals at once' ? 0 : DEFAULT_LIMITS.refusalHoldMs }
    : { ...DEFAULT_LIMITS, tenantRequestsPerSecond: 1e9, tenantRequestBurst: 1e9, tenantConcurrency: 1e9 };
  const keyring = parseMasterKeys(generateMasterKeyEntry('bench'), undefined);
  const gateway = await createGateway(
    defaultGatewayConfig(tenants, {
      mode: 'production',
      redisUrl: process.env.REDIS_URL ?? null,
      keyPrefix: `sbbench:fair:${process.pid}`,
      limits,
      // Every A request of the upstream flood reads the provider (no record, page or response cache).
      cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 },
    }),
    { keyring },
  );
  process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
  process.on('SIGTERM', () => void gateway.stop().then(() => process.exit(0)));
}

/** Limits off; on with every refusal answered at once (refusalHoldMs 0); on as configured by default (refusals held). */
type LimitsMode = 'off' | 'on, refusals at once' | 'on';

function startChild(limits: LimitsMode, stripeUrl: string): Promise<{ url: string; stop(): void }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, FAIRNESS_CHILD: '1', FAIRNESS_LIMITS: limits, KEY_A, KEY_B, STRIPE_URL: stripeUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line) resolve({ url: (JSON.parse(line) as { url: string }).url, stop: () => proc.kill('SIGTERM') });
    });
    proc.once('exit', (code) => reject(new Error(`gateway process exited (${code})`)));
  });
}

/**
 * Tenant B's pace: a steady 40 requests a second, within its own default limit (50/s), so B is never
 * refused itself and its latency is the gateway's, not its own queue's (as fast as it can, B would
 * exceed its limit and measure its own refusals).
 */
const B_RPS = 40;

function load(url: string, key: string, body: string, connections: number, overallRate?: number, duration = seconds) {
  return autocannon({
    url,
    method: 'POST',
    connections,
    duration,
    ...(overallRate ? { overallRate } : {}),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
}

async function main(): Promise<void> {
  const rows: string[] = [];
  let alone: autocannon.Result | null = null;
  // B's p99 against B alone, in the same run (the factor the issue asks to state); +1 ms keeps a 0 ms p99 from dividing by zero.
  const factor = (r: autocannon.Result) => (alone ? `${((r.latency.p99 + 1) / (alone.latency.p99 + 1)).toFixed(1)}×` : '—');
  const row = (name: string, r: autocannon.Result, a?: autocannon.Result) =>
    rows.push(
      `| ${name} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} | ${Math.round(r.requests.average)}${r['non2xx'] ? ` (${r['non2xx']} refused)` : ''} | ${factor(r)} | ${a ? `${Math.round(a.requests.average)} req/s, ${a['non2xx']} of ${a.requests.total} refused (429)` : '—'} |`,
    );
  // 5 ms per provider call, like a nearby API; Stripe's emulator has no per-second search window.
  const stripe = await startStripe({ credentials: [stripeDemo.testToken], seed: 7, latencyMs: 5, scale: { contacts: 200, invoices: 0, orders: 0 } });
  try {
    for (const limits of ['off', 'on, refusals at once', 'on'] as const) {
      const gw = await startChild(limits, stripe.url);
      try {
        // Warm-up, not counted: a fresh process's first answers (JIT, pools) would be B's p99.
        await Promise.all([load(gw.url, KEY_B, TRIVIAL, 1, B_RPS, 2), load(gw.url, KEY_A, UPSTREAM, 4, 20, 2)]);
        if (limits === 'off') {
          alone = await load(gw.url, KEY_B, TRIVIAL, 1, B_RPS);
          row('B alone', alone);
        }
        for (const [flood, body] of [
          ['__typename × 30', FLOOD],
          ['uncached contacts(first: 20)', UPSTREAM],
        ] as const) {
          const [b, a] = await Promise.all([load(gw.url, KEY_B, TRIVIAL, 1, B_RPS), load(gw.url, KEY_A, body, 64)]);
          row(`B while A floods ${flood} (64 connections), limits ${limits}`, b, a);
        }
      } finally {
        gw.stop();
      }
    }
  } finally {
    await stripe.stop();
  }
  process.stdout.write(
    [
      `Fairness: tenant B's latency (ms) for { __typename } while tenant A floods, ${seconds} s per row, A limited to ${A_RPS}/s, ${process.env.REDIS_URL ? 'limits in Redis' : 'limits in memory'}`,
      '| scenario | B p50 | B p99 | B max | B req/s | B p99 vs alone | A |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

if (process.env.FAIRNESS_CHILD) await child();
else await main();
