// What connectors/registry.ts lists for Shopify: the connector, its emulator and its demo
// declaration, in one import. The registered emulator (the zero-config demo's) is a Shopify Plus
// shop, restoring 1000 points a second: on a Standard shop (100/s, the emulator's own default) a page
// of 100 orders with line items and customers (~2,500 actual points) takes about 15 s, longer than a
// request's deadline.
import type { StartProviderEmulator } from '../sdk/emulator.ts';
import { emulatorCall, type ConnectorDemo, type RegisteredConnector } from '../sdk/registration.ts';
import { startEmulator } from './emulator/index.ts';
import { EMULATOR_SHOP } from './emulator/store.ts';
import { shopify } from './index.ts';
import { SHOPIFY_API_VERSION } from './queries.ts';

export const PLUS_RESTORE_RATE = 1000;

const startPlusShop: StartProviderEmulator = (options) => startEmulator({ rateLimitPerSecond: PLUS_RESTORE_RATE, ...options });

export const shopifyDemo: ConnectorDemo = {
  // A custom app's Admin API access token (static), as a shop admin would paste it.
  token: 'shpat_switchboarddemo00000000000000',
  testToken: 'shpat_switchboardtest00000000000000',
  // Shopify signs webhooks with the app's client secret.
  webhookSecret: 'shpss_switchboard_demo_app_secret_0000',
  oauthClient: { clientId: 'switchboard-demo-shopify' },
  settings: { shop: EMULATOR_SHOP },
  async change({ url, token }) {
    const found = await emulatorCall(`${url}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`, {
      method: 'POST',
      headers: { 'x-shopify-access-token': token },
      body: JSON.stringify({ query: '{ orders(first: 20) { nodes { id name displayFinancialStatus } } }' }),
    });
    const orders =
      (found['data'] as { orders?: { nodes?: Array<{ id: string; name: string; displayFinancialStatus: string }> } } | undefined)?.orders?.nodes ?? [];
    const order = orders.find((o) => o.displayFinancialStatus !== 'PAID');
    if (!order) return ['Shopify: no unpaid order left to pay'];
    const id = order.id.slice(order.id.lastIndexOf('/') + 1);
    await emulatorCall(`${url}/__emulator/records/orders/${id}`, { method: 'PATCH', body: JSON.stringify({ financial_status: 'paid' }) });
    return [`Shopify: order ${order.name} paid → orderChanged`];
  },
};

export const shopifyRegistration: RegisteredConnector = { connector: shopify, startEmulator: startPlusShop, demo: shopifyDemo };
