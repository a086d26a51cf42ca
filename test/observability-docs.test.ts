// The operator-facing artefacts name only metrics that exist: every switchboard_* name in the
// Grafana dashboard, the alert rules and docs/operations.md is in the registry, and every metric
// of ours is documented in docs/operations.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/observability/metrics.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const namesIn = (text: string) => new Set([...text.matchAll(/\bswitchboard_[a-z0-9_]+/g)].map((m) => m[0]));

describe('metric names in the dashboard, the alerts and the docs', () => {
  const metrics = new Metrics({ defaultMetrics: true });
  const registered = metrics.registry.getMetricsAsArray().map((m) => ({ name: m.name, type: String(m.type) }));
  const known = new Set<string>();
  for (const { name, type } of registered) {
    known.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) known.add(name + s);
  }
  const ours = registered.filter((m) => !/^switchboard_(process_|nodejs_)/.test(m.name)).map((m) => m.name);

  it.each(['deploy/grafana-dashboard.json', 'deploy/alerts.yaml', 'docs/operations.md'])('%s uses only registered metrics', (path) => {
    const text = read(path);
    const used = [...namesIn(text)];
    expect(used.length).toBeGreaterThan(path.endsWith('.md') ? 20 : 5);
    expect(used.filter((n) => !known.has(n))).toEqual([]);
  });

  it('docs/operations.md documents every metric of ours, and the dashboard shows each', () => {
    const doc = namesIn(read('docs/operations.md'));
    expect(ours.filter((n) => !doc.has(n))).toEqual([]);
    const dashboard = [...namesIn(read('deploy/grafana-dashboard.json'))].map((n) => n.replace(/_(bucket|count|sum)$/, ''));
    expect(ours.filter((n) => !dashboard.includes(n) && !dashboard.some((d) => d === n))).toEqual([]);
  });
});
