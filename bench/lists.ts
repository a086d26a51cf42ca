// `npx tsx bench/lists.ts`: upstream calls per page for a walk of 500 contacts across 2 connections
// (HubSpot and Stripe emulators, 250 each, interleaved creation times), newest created first,
// `first: 20`, through the gateway (in-process, memory cache):
// - merged: the gateway's k-way merge (src/loaders/lists.ts) with the list-page cache (default);
// - merged, no page cache: the same with cacheTtlSeconds.listPage = 0 (what the cache saves);
// - naive: the client-side "fetch `first` from every connection per page, merge, keep the rest
//   nowhere" walk, one single-connection query per connection per page, page cache off.
// Every walk must return the same 500 ids in the same order. Prints a markdown table for docs/benchmarks.md.
import { randomUUID } from 'node:crypto';
import { CONNECTORS } from '../connectors/registry.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { DEFAULT_CACHE_TTL_SECONDS, defaultGatewayConfig, type TenantConfig } from '../src/config.ts';
import { createGateway, type Gateway } from '../src/server.ts';

const PER_CONNECTION = 250;
const FIRST = 20;
const CONNECTIONS = ['hubspot', 'stripe'];

interface Edge {
  cursor: string;
  node: { id: string; source: { connectionId: string; remoteCreatedAt: string | null } };
}
interface Page {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
const LIST = `query ($first: Int, $after: String, $filter: ContactFilter) {
  contacts(first: $first, after: $after, filter: $filter) { edges { cursor node { id source { connectionId remoteCreatedAt } } } pageInfo { hasNextPage endCursor } } }`;

async function list(gateway: Gateway, key: string, variables: Record<string, unknown>): Promise<Page> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: LIST, variables }),
  });
  const body = (await res.json()) as { errors?: unknown[]; data?: { contacts: Page } };
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.contacts;
}

const newestFirst = (a: Edge, b: Edge) =>
  Date.parse(b.node.source.remoteCreatedAt ?? '') - Date.parse(a.node.source.remoteCreatedAt ?? '') ||
  (a.node.source.connectionId < b.node.source.connectionId ? -1 : a.node.source.connectionId > b.node.source.connectionId ? 1 : 0);

interface Walk {
  ids: string[];
  callsPerPage: number[];
}

async function mergedWalk(gateway: Gateway, key: string, emulators: EmulatorHandle[]): Promise<Walk> {
  const ids: string[] = [];
  const callsPerPage: number[] = [];
  let after: string | null = null;
  for (;;) {
    emulators.forEach((e) => e.resetRequests());
    const page = await list(gateway, key, { first: FIRST, after });
    callsPerPage.push(emulators.reduce((n, e) => n + e.count(), 0));
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) return { ids, callsPerPage };
    after = page.pageInfo.endCursor;
  }
}

/** Per page: `first` from every connection still holding records, merged here; the rest is dropped and asked for again next page. */
async function naiveWalk(gateway: Gateway, key: string, emulators: EmulatorHandle[], connectionIds: string[]): Promise<Walk> {
  const ids: string[] = [];
  const callsPerPage: number[] = [];
  const position = new Map<string, string | null>(connectionIds.map((id) => [id, null]));
  const done = new Set<string>();
  for (;;) {
    emulators.forEach((e) => e.resetRequests());
    const open = connectionIds.filter((id) => !done.has(id));
    const pages = await Promise.all(open.map((id) => list(gateway, key, { first: FIRST, after: position.get(id), filter: { connectionId: id } })));
    callsPerPage.push(emulators.reduce((n, e) => n + e.count(), 0));
    const taken = pages
      .flatMap((p) => p.edges)
      .sort(newestFirst)
      .slice(0, FIRST);
    ids.push(...taken.map((e) => e.node.id));
    open.forEach((id, i) => {
      const mine = taken.filter((e) => e.node.source.connectionId === id);
      const page = pages[i] as Page;
      if (mine.length) position.set(id, (mine.at(-1) as Edge).cursor);
      if (mine.length === page.edges.length && !page.pageInfo.hasNextPage) done.add(id);
    });
    if (done.size === connectionIds.length) return { ids, callsPerPage };
  }
}

async function main(): Promise<void> {
  const emulators: EmulatorHandle[] = [];
  const gateways: Gateway[] = [];
  try {
    const connections: TenantConfig['connections'] = [];
    for (const id of CONNECTIONS) {
      const entry = CONNECTORS.find((c) => c.connector.manifest.id === id)!;
      const emulator = await entry.startEmulator({
        credentials: [entry.demo.testToken],
        seed: 11,
        latencyMs: 0,
        scale: { contacts: PER_CONNECTION, invoices: 1, orders: 1 },
        ...entry.demo.test?.emulatorOptions,
      });
      emulators.push(emulator);
      connections.push({
        id: `bench-${id}`,
        provider: id,
        baseUrl: emulator.url,
        credentials: { type: 'static', token: entry.demo.testToken },
        settings: { ...entry.demo.settings },
      });
    }
    const key = `sb_bench_${randomUUID()}`;
    const tenants: TenantConfig[] = [
      {
        id: 'bench',
        apiKeys: [{ id: 'b', sha256: hashApiKey(key) }],
        connections,
        limits: { tenantRequestsPerSecond: 10_000, tenantRequestBurst: 10_000, tenantConcurrency: 1_000 },
      },
    ];
    const start = (listPage: number) =>
      createGateway(defaultGatewayConfig(tenants, { mode: 'test', cacheTtlSeconds: { ...DEFAULT_CACHE_TTL_SECONDS, listPage } })).then((g) => {
        gateways.push(g);
        return g;
      });
    const merged = await mergedWalk(await start(DEFAULT_CACHE_TTL_SECONDS.listPage), key, emulators);
    const uncached = await mergedWalk(await start(0), key, emulators);
    const naive = await naiveWalk(
      await start(0),
      key,
      emulators,
      connections.map((c) => c.id),
    );

    const total = 2 * PER_CONNECTION;
    for (const [name, walk] of [
      ['merged, page cache off', uncached],
      ['naive', naive],
    ] as const) {
      if (walk.ids.length !== merged.ids.length || walk.ids.some((id, i) => id !== merged.ids[i])) throw new Error(`${name} walk differs from the merged walk`);
    }
    if (merged.ids.length < total - 10) throw new Error(`walked ${merged.ids.length} of ~${total} contacts`);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const row = (name: string, walk: Walk) =>
      `| ${name} | ${walk.callsPerPage.length} | ${sum(walk.callsPerPage)} | ${(sum(walk.callsPerPage) / walk.callsPerPage.length).toFixed(2)} | ${Math.max(...walk.callsPerPage)} | ${(sum(walk.callsPerPage) / sum(naive.callsPerPage)).toFixed(2)}× |`;
    console.log(
      `\nUnified list walk: ${merged.ids.length} contacts across ${CONNECTIONS.join(' + ')} (${PER_CONNECTION} each), first: ${FIRST}, newest created first`,
    );
    console.log('| strategy | pages | upstream calls | per page (mean) | per page (max) | vs naive |');
    console.log('|---|---|---|---|---|---|');
    console.log(row('merged (k-way, page cache on: default)', merged));
    console.log(row('merged, page cache off', uncached));
    console.log(row('naive: `first` from every connection per page', naive));
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(emulators.map((e) => e.stop()));
  }
}

await main();
