// What connectors/registry.ts lists for Salesforce: the connector, its emulator and its demo
// declaration. The demo credential is a session token the emulator accepts (as an org admin would
// get from `sf org display`); Salesforce sends no webhooks, so the demo's changes reach
// subscriptions through the poller, within one (short, in the demo) poll interval.
import { emulatorCall, type ConnectorDemo, type RegisteredConnector } from '../sdk/registration.ts';
import { API_PREFIX } from './client.ts';
import { startEmulator } from './emulator/index.ts';
import { salesforce } from './index.ts';

export const salesforceDemo: ConnectorDemo = {
  token: '00D5g000004DEMO!AQ.switchboard.demo.session',
  testToken: '00D5g000004TEST!AQ.switchboard.test.session',
  // Unused for webhooks (there are none); the demo's External Client App secret.
  webhookSecret: 'salesforce-demo-consumer-secret-000000',
  oauthClient: { clientId: '3MVG9switchboard.demo.consumer.key' },
  settings: { currency: 'USD' },
  // The demo polls every 2 s (real connections: 60 s), so demo:change shows within seconds.
  pollIntervalMs: 2_000,
  async change({ url, token }) {
    const q = encodeURIComponent('SELECT Id, FirstName, LastName FROM Contact ORDER BY Id ASC LIMIT 1');
    const found = await emulatorCall(`${url}${API_PREFIX}/query?q=${q}`, { headers: { authorization: `Bearer ${token}` } });
    const contact = (found['records'] as Array<{ Id: string; LastName: string }>)[0];
    if (!contact) return ['Salesforce: no contact to change'];
    const stamp = new Date().toISOString().slice(11, 19);
    await emulatorCall(`${url}/__emulator/records/Contact/${contact.Id}`, { method: 'PATCH', body: JSON.stringify({ FirstName: `Demo ${stamp}` }) });
    return [`Salesforce: contact ${contact.Id} renamed to "Demo ${stamp} ${contact.LastName}" → contactChanged after the next poll`];
  },
};

export const salesforceRegistration: RegisteredConnector = { connector: salesforce, startEmulator, demo: salesforceDemo };
