// The shared connector conformance suite, run against the HubSpot connector and its emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { startEmulator } from './emulator/index.ts';
import { seedStore } from './emulator/seed.ts';
import { hubspot } from './index.ts';
import { recordedFixtures } from './test-support.ts';
import { SIGNATURE_HEADER, signedUri, signV3, TIMESTAMP_HEADER } from './webhooks.ts';

// The suite starts the emulator with seed 7; the same seed and scale give the same ids here.
const SEED = 7;
const scale = { contacts: 30, invoices: 25, orders: 15 };
const store = seedStore({ seed: SEED, scale });
const firstIds = (type: 'contacts' | 'invoices' | 'orders') =>
  store
    .all(type)
    .slice(0, 3)
    .map((o) => o.id);

runConformanceSuite({
  connector: hubspot,
  startEmulator,
  token: 'pat-na1-conformance',
  // A generous burst limit: the suite pages every entity to the end several times in a few seconds.
  emulatorOptions: { seed: SEED, scale, rateLimitPerSecond: 1000 },
  knownIds: { Contact: firstIds('contacts'), Invoice: firstIds('invoices'), Order: firstIds('orders') },
  missingId: { Contact: '999999999', Invoice: '999999999', Order: '999999999' },
  // Invoices/orders: the records + their contact association read (line items are deferred).
  callsPerBatch: { Contact: 1, Invoice: 2, Order: 2 },
  fixtures: recordedFixtures(),
  groups: {
    webhooks: {
      secret: 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy',
      // The documented contact.creation example (providers/REFERENCE.md §8).
      delivery: {
        body: '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]',
      },
      // Signature v3: the timestamp is signed with the method, the decoded URI and the body.
      sign: ({ body, secret, url, method, now }) => ({
        [SIGNATURE_HEADER]: signV3(secret, method, signedUri(url), body, now),
        [TIMESTAMP_HEADER]: String(now),
      }),
    },
  },
});
