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
  await checkRunning(state);
  for (const { connector, demo } of CONNECTORS) {
    const emulator = state.emulators[connector.manifest.id];
    if (emulator) for (const line of await demo.change(emulator)) console.log(line);
  }
  console.log(
    `\nWatch them with, in Sandbox or GraphiQL (${state.gateway}):\n  subscription { contactChanged { type contact { name } } }\n  subscription { invoiceChanged { type invoice { number status } } }`,
  );
}

/**
 * The file outlives the demo that wrote it (stopped, crashed, or restarted elsewhere): the process
 * must still run and its gateway and emulators answer, else changes would go nowhere.
 */
async function checkRunning(state: DemoState): Promise<void> {
  const restart = 'restart the demo with `npm start` (in another terminal), then run `npm run demo:change` again';
  const who = `the demo recorded in ${DEMO_STATE_FILE} (pid ${state.pid ?? '?'}, started ${state.startedAt ?? '?'})`;
  if (state.pid !== undefined && !processRuns(state.pid)) throw new Error(`${who} is not running any more: ${restart}`);
  const answers = async (url: string) => {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return true;
    } catch {
      return false;
    }
  };
  const healthz = state.gateway.replace(/\/graphql$/, '/healthz');
  const down = [
    ...((await answers(healthz)) ? [] : [`gateway ${state.gateway}`]),
    ...(await Promise.all(Object.entries(state.emulators).map(async ([id, e]) => ((await answers(e.url)) ? null : `${id} emulator ${e.url}`)))).filter(
      (x): x is string => x !== null,
    ),
  ];
  if (down.length) throw new Error(`${who} does not answer (${down.join(', ')}): the file is stale; ${restart}`);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

main().catch((err: unknown) => {
  console.error(`demo:change: ${(err as Error).message}`);
  process.exit(1);
});
