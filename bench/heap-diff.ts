// Compares two V8 heap snapshots (node:v8 writeHeapSnapshot) by what the objects are: the growth
// of count and self size per (node type, constructor or name), divided by `per` (e.g. the number of
// subscriptions opened between the two), largest first. For finding what an idle subscription
// retains: `BENCH_SNAPSHOT_DIR=/tmp/snap npm run bench:fanout`, then
// `npx tsx bench/heap-diff.ts /tmp/snap/after-0.heapsnapshot /tmp/snap/after-10000.heapsnapshot 10000`.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function summarize(path: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] as string;
    let name = snap.strings[snap.nodes[i + nameAt] as number] ?? '';
    // Strings and code are grouped by type only (their "names" are their contents).
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'code' || type === 'number') name = '';
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type} ${name}`;
    const entry = out.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += snap.nodes[i + sizeAt] as number;
    out.set(key, entry);
  }
  return out;
}

const [beforePath, afterPath, perArg, topArg] = process.argv.slice(2);
if (!beforePath || !afterPath) {
  console.error('usage: tsx bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [per=1] [top=40]');
  process.exit(2);
}
const per = Number(perArg ?? 1);
const before = summarize(beforePath);
const after = summarize(afterPath);
const rows = [...after].map(([key, a]) => {
  const b = before.get(key) ?? { count: 0, size: 0 };
  return { key, count: (a.count - b.count) / per, bytes: (a.size - b.size) / per };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((n, r) => n + r.bytes, 0);
console.log(`self size growth per unit: ${total.toFixed(0)} bytes (per = ${per})`);
console.log('| object | count per unit | bytes per unit |');
console.log('|---|---|---|');
for (const r of rows.slice(0, Number(topArg ?? 40))) console.log(`| ${r.key} | ${r.count.toFixed(2)} | ${r.bytes.toFixed(0)} |`);
