// What connectors/registry.ts lists for Xero: the connector, its emulator and its demo declaration.
// The demo connection reads the first seeded organisation with a static token (as a Custom
// Connection would); `npm run demo:change` renames one of its contacts, which the emulator then
// announces with a signed CONTACT UPDATE webhook (the gateway refetches the contact by id).
import { emulatorCall, type ConnectorDemo, type RegisteredConnector } from '../sdk/registration.ts';
import { TENANT_SETTING } from './client.ts';
import { SEED_ORGS, startEmulator } from './emulator/index.ts';
import { SETTINGS, xero } from './index.ts';

const DEMO_ORG = SEED_ORGS[0]!;

export const xeroDemo: ConnectorDemo = {
  token: 'xero_switchboard_demo_token_000000000000',
  testToken: 'xero_switchboard_test_token_000000000000',
  // The app's webhook key (developer portal › Webhooks).
  webhookSecret: 'xero_switchboard_demo_webhook_key_00000',
  oauthClient: { clientId: 'SWITCHBOARDDEMOXEROCLIENT00000000', clientSecret: 'xero_switchboard_demo_client_secret_000000000' },
  settings: { [TENANT_SETTING]: DEMO_ORG.tenantId, [SETTINGS.baseCurrency]: DEMO_ORG.baseCurrency, [SETTINGS.shortCode]: DEMO_ORG.shortCode },
  // The stack's tests read more than 60 calls a minute from one organisation.
  test: { emulatorOptions: { rateLimitPerSecond: 1000 }, rateLimit: { requests: 1000, windowMs: 1000 } },
  async change({ url, token }) {
    const listed = await emulatorCall(`${url}/api.xro/2.0/Contacts?page=1&pageSize=1`, {
      headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': DEMO_ORG.tenantId, accept: 'application/json' },
    });
    const contact = (listed['Contacts'] as Array<{ ContactID: string; LastName?: string }> | undefined)?.[0];
    if (!contact) return ['Xero: no contact to change'];
    const stamp = new Date().toISOString().slice(11, 19);
    const name = `Demo ${stamp} ${contact.LastName ?? ''}`.trim();
    await emulatorCall(`${url}/__emulator/records/contacts/${contact.ContactID}`, {
      method: 'PATCH',
      body: JSON.stringify({ Name: name, FirstName: `Demo ${stamp}` }),
    });
    return [`Xero: contact ${contact.ContactID} renamed to "${name}" → contactChanged`];
  },
};

export const xeroRegistration: RegisteredConnector = { connector: xero, startEmulator, demo: xeroDemo };
