// Stripe in the zero-config demo and the test stack: the test-mode key its emulator accepts (and
// its 25 req/s allowance), the Connect platform app, and the change `npm run demo:change` makes
// (an open invoice paid).
import { emulatorCall, type ConnectorDemo } from '../sdk/registration.ts';

const DEMO_KEY = 'sk_test_switchboard_demo_key_0000000000';

export const stripeDemo: ConnectorDemo = {
  token: DEMO_KEY,
  testToken: 'sk_test_switchboard_test_key_000000000000',
  webhookSecret: 'whsec_switchboard_demo_secret_0000000',
  // Stripe Connect: the platform's secret key is the client secret.
  oauthClient: { clientId: 'ca_SwitchboardDemo', clientSecret: DEMO_KEY },
  settings: {},
  // The demo key is a test-mode key, and Stripe allows test mode 25 req/s.
  rateLimit: { requests: 25, windowMs: 1_000 },
  test: { emulatorOptions: { rateLimitPerSecond: 1000 }, rateLimit: { requests: 1000, windowMs: 1000 } },
  async change({ url, token }) {
    const list = await emulatorCall(`${url}/v1/invoices?status=open&limit=1`, { headers: { authorization: `Bearer ${token}` } });
    const invoice = (list.data as Array<{ id: string; number: string | null }>)[0];
    if (!invoice) return ['Stripe: no open invoice left to pay'];
    await emulatorCall(`${url}/__emulator/records/invoices/${invoice.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'paid' }) });
    return [`Stripe: invoice ${invoice.number ?? invoice.id} paid → invoiceChanged`];
  },
};
