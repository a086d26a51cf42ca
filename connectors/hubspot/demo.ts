// HubSpot in the zero-config demo and the test stack: the credentials its emulator accepts, the
// portal its seed data lives in, and the change `npm run demo:change` makes (a contact renamed).
import { emulatorCall, type ConnectorDemo } from '../sdk/registration.ts';

export const hubspotDemo: ConnectorDemo = {
  token: 'pat-na1-demo0000-0000-4000-8000-000000000000',
  testToken: 'pat-na1-test0000-0000-4000-8000-000000000000',
  webhookSecret: 'demo-hubspot-client-secret-00000000',
  oauthClient: { clientId: 'switchboard-demo-app' },
  settings: { portalId: '62515' },
  async change({ url, token }) {
    const list = await emulatorCall(`${url}/crm/v3/objects/contacts?limit=1&properties=firstname,lastname`, { headers: { authorization: `Bearer ${token}` } });
    const contact = (list.results as Array<{ id: string; properties: { lastname: string | null } }>)[0];
    if (!contact) return ['HubSpot: no contact to change'];
    const stamp = new Date().toISOString().slice(11, 19);
    await emulatorCall(`${url}/__emulator/records/contacts/${contact.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ properties: { firstname: `Demo ${stamp}` } }),
    });
    return [`HubSpot: contact ${contact.id} renamed to "Demo ${stamp} ${contact.properties.lastname ?? ''}" → contactChanged`];
  },
};
