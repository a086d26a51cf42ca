// The shared connector conformance suite, run against the Salesforce emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { createSeededStore, startEmulator } from './emulator/index.ts';
import { salesforce } from './index.ts';
import { FIXTURES, SESSION_TOKEN } from './test-support.ts';

const seed = 7;
const scale = { contacts: 30, orders: 25 };
const store = createSeededStore({ seed, scale });

runConformanceSuite({
  connector: salesforce,
  startEmulator,
  token: SESSION_TOKEN,
  emulatorOptions: { seed, scale },
  knownIds: { Contact: [...store.records.Contact.keys()].slice(0, 4), Order: [...store.records.Order.keys()].slice(0, 4) },
  missingId: { Contact: '0035g00000ZZZZZAAA', Order: '8015g00000ZZZZZAAA' },
  fixtures: FIXTURES,
  groups: { webhooks: { off: 'Salesforce has no signed webhooks; its changes come from the poller (manifest.events.source "polling")' } },
});
