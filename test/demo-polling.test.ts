// The zero-config demo with Salesforce: its registration puts it in the demo (no webhooks, a short
// poll interval), and `npm run demo:change`'s Salesforce step reaches a subscriber after the next
// poll — the embedded default, without Redis (in-process lease and cursor).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { salesforceDemo } from '../connectors/salesforce/registration.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { startDemo, type Demo } from '../src/demo.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { subscribe } from './helpers.ts';

let demo: Demo;
let gateway: Gateway;
beforeAll(async () => {
  demo = await startDemo({ apiKey: 'sb_demo_polling_test_key_0000000000' });
  gateway = await createGateway(defaultGatewayConfig(demo.tenants, { mode: 'test', providers: demo.providers, allowInsecureOAuth: true }));
});
afterAll(async () => {
  await gateway?.stop();
  await demo?.stop();
});

it('demo:change renames a Salesforce contact and the subscription shows it after the next poll', async () => {
  const connection = demo.tenants[0]!.connections.find((c) => c.provider === 'salesforce')!;
  expect(connection.polling).toEqual({ intervalMs: salesforceDemo.pollIntervalMs });
  const emulator = demo.emulators.find((e) => e.name === 'salesforce')!;
  // The first poll sets the cursor at the present; changes after it are delivered.
  await expect
    .poll(async () => (await gateway.services.poller.status(gateway.services.connectors.get('salesforce')!, connection)).lastPolledAt, { timeout: 15_000 })
    .not.toBeNull();
  const sub = await subscribe<{ contactChanged: { type: string; contact: { name: string } } }>(
    gateway.url,
    demo.apiKey,
    'subscription { contactChanged { type contact { name } } }',
  );
  try {
    const lines = await salesforceDemo.change({ url: emulator.url, token: salesforceDemo.token });
    expect(lines[0]).toMatch(/^Salesforce: contact \w+ renamed to "Demo /);
    const [event] = await sub.waitFor(1, 20_000);
    expect(event!.contactChanged).toMatchObject({ type: 'UPDATED', contact: { name: expect.stringMatching(/^Demo \d\d:\d\d:\d\d /) } });
  } finally {
    await sub.close();
  }
});
