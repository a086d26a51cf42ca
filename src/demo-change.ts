// `npm run demo:change`: asks every connector's demo declaration to change a record in the running
// demo's emulator (HubSpot: a contact renamed; Stripe: an invoice paid), which then sends its real,
// signed webhook to the gateway — or, for providers without webhooks (Salesforce), is seen by the
// next poll — so a subscription open in Apollo Sandbox or GraphiQL shows the changes arrive.
import { readFileSync } from 'node:fs';
import { CONNECTORS } from '../connectors/registry.ts';
import { DEMO_STATE_FILE, type DemoState } from './demo.ts';

async function main(): Promise<void> {
  let state: DemoState;
  try {
    state = JSON.parse(readFileSync(DEMO_STATE_FILE, 'utf8')) as DemoState;
  } catch {
    throw new Error(`no running demo found (${DEMO_STATE_FILE} is missing): start it with \`npm start\` first`);
  }
  for (const { connector, demo } of CONNECTORS) {
    const emulator = state.emulators[connector.manifest.id];
    if (emulator) for (const line of await demo.change(emulator)) console.log(line);
  }
  console.log(
    `\nWatch them with, in Sandbox or GraphiQL (${state.gateway}):\n  subscription { contactChanged { type contact { name } } }\n  subscription { invoiceChanged { type invoice { number status } } }`,
  );
}

main().catch((err: unknown) => {
  console.error(`demo:change: ${(err as Error).message}`);
  process.exit(1);
});
