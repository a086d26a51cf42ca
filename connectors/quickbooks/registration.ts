// What connectors/registry.ts lists for QuickBooks Online: the connector, its emulator and its
// demo declaration. The demo connection uses a static access token the emulator accepts for its
// one company (a real connection gets its token, and realmId, through the OAuth connect flow);
// `npm run demo:change` receives a payment on an open invoice, which QuickBooks announces as a
// Payment create and an Invoice update.
import { emulatorCall, type ConnectorDemo, type RegisteredConnector } from '../sdk/registration.ts';
import { MINOR_VERSION } from './client.ts';
import { EMULATOR_REALM_ID, HOME_CURRENCY, startEmulator } from './emulator/index.ts';
import { HOME_CURRENCY_SETTING, quickbooks } from './index.ts';
import type { QboInvoice } from './qbo-types.ts';
import { REALM_SETTING } from './webhooks.ts';

export const quickbooksDemo: ConnectorDemo = {
  token: 'qbo_demo_access_token_switchboard_0000000000',
  testToken: 'qbo_test_access_token_switchboard_0000000000',
  // The app's verifier token (Intuit Developer portal › Webhooks).
  webhookSecret: 'qbo-demo-verifier-token-switchboard-0000',
  oauthClient: { clientId: 'ABswitchboardDemoQuickBooksClientId000000000', clientSecret: 'switchboard-demo-quickbooks-secret-000000' },
  settings: { [REALM_SETTING]: EMULATOR_REALM_ID, [HOME_CURRENCY_SETTING]: HOME_CURRENCY },
  test: { emulatorOptions: { rateLimitPerSecond: 1000 }, rateLimit: { requests: 60_000, windowMs: 60_000 } },
  async change({ url, token }) {
    const query = 'SELECT * FROM Invoice WHERE Balance > 0 ORDERBY Id STARTPOSITION 1 MAXRESULTS 1';
    const found = await emulatorCall(`${url}/v3/company/${EMULATOR_REALM_ID}/query?minorversion=${MINOR_VERSION}&query=${encodeURIComponent(query)}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const invoice = ((found['QueryResponse'] as { Invoice?: QboInvoice[] } | undefined)?.Invoice ?? [])[0];
    if (!invoice) return ['QuickBooks: no open invoice left to pay'];
    const balanceCents = Math.round((invoice.Balance ?? 0) * 100);
    // Half the balance (whole cents), or all of it when that is a cent.
    const cents = balanceCents > 1 ? Math.floor(balanceCents / 2) : balanceCents;
    await emulatorCall(`${url}/__emulator/records/payments`, {
      method: 'POST',
      body: JSON.stringify({ invoiceId: invoice.Id, amount: cents / 100, method: 'Credit Card' }),
    });
    const left = (balanceCents - cents) / 100;
    return [
      `QuickBooks: invoice ${invoice.DocNumber ?? invoice.Id} received ${(cents / 100).toFixed(2)} ${invoice.CurrencyRef?.value ?? ''} (${left > 0 ? `${left.toFixed(2)} still due → PARTIALLY_PAID` : 'paid in full → PAID'}) → invoiceChanged`,
    ];
  },
};

export const quickbooksRegistration: RegisteredConnector = { connector: quickbooks, startEmulator, demo: quickbooksDemo };
