import { CONNECTORS } from '../connectors/registry.ts';
import { COVERED_FIELDS, isFilled, coveredValue } from '../connectors/sdk/coverage.ts';
import { createTestContext } from '../connectors/sdk/testing.ts';
import type { EntityType } from '../connectors/sdk/models.ts';
const only = process.argv[2];
for (const reg of CONNECTORS) {
  const { connector, demo } = reg;
  if (only && connector.manifest.id !== only) continue;
  const em = await reg.startEmulator({ credentials: [demo.testToken], seed: 7, ...demo.test?.emulatorOptions, ...(demo.test?.emulatorOptions ? {} : {}), rateLimitPerSecond: 10000 } as never);
  const ctx = () => createTestContext({ connector, baseUrl: em.url, token: demo.testToken, settings: demo.settings });
  console.log(`== ${connector.manifest.id}`);
  for (const entity of connector.manifest.entities) {
    const loader = connector.loaders[entity]!;
    const models: any[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const page: any = await loader.list({ first: 50, after, filter: {} }, ctx());
      models.push(...page.nodes);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    const deferred = models.filter((m) => m.entity !== 'Contact' && m.lineItems === null);
    if (deferred.length && (loader as any).lineItems) {
      const slots = await (loader as any).lineItems(deferred, ctx());
      deferred.forEach((m, i) => (m.lineItems = slots[i]));
    }
    const out: string[] = [];
    for (const field of Object.keys(COVERED_FIELDS[entity])) {
      const n = models.filter((m) => isFilled(coveredValue(entity as EntityType, field, m))).length;
      const kind = n === models.length ? 'ALWAYS' : n === 0 ? 'NEVER' : 'WHEN';
      const sample = models.map((m) => coveredValue(entity as EntityType, field, m)).find(isFilled);
      out.push(`  ${entity}.${field}: ${kind} ${n}/${models.length} e.g. ${JSON.stringify(sample)?.slice(0, 60)}`);
    }
    console.log(out.join('\n'));
  }
  await em.stop();
}
process.exit(0);
