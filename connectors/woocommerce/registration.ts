// What connectors/registry.ts lists for WooCommerce: the connector, its emulator and its demo
// declaration. The credential is the REST key pair as HTTP Basic sends it (base64 of "ck_…:cs_…");
// WooCommerce has no OAuth app, so the demo registers none.
import { emulatorCall, type ConnectorDemo, type RegisteredConnector } from '../sdk/registration.ts';
import { startEmulator } from './emulator/index.ts';
import { woocommerce } from './index.ts';

const basic = (key: string, secret: string) => Buffer.from(`${key}:${secret}`).toString('base64');

export const woocommerceDemo: ConnectorDemo = {
  token: basic('ck_switchboarddemo000000000000000000000000', 'cs_switchboarddemo000000000000000000000000'),
  testToken: basic('ck_switchboardtest000000000000000000000000', 'cs_switchboardtest000000000000000000000000'),
  // The secret set on the store's webhook (WooCommerce › Settings › Advanced › Webhooks).
  webhookSecret: 'woo_switchboard_demo_webhook_secret_00',
  oauthClient: { clientId: 'unused-woocommerce-has-no-oauth' },
  settings: {},
  async change({ url, token }) {
    const listed = await fetch(`${url}/wp-json/wc/v3/customers?per_page=1&role=all`, { headers: { authorization: `Basic ${token}` } });
    if (!listed.ok) throw new Error(`GET customers: ${listed.status}`);
    const customer = ((await listed.json()) as Array<{ id: number; last_name: string }>)[0];
    if (!customer) return ['WooCommerce: no customer to change'];
    const stamp = new Date().toISOString().slice(11, 19);
    await emulatorCall(`${url}/__emulator/records/customers/${customer.id}`, { method: 'PATCH', body: JSON.stringify({ first_name: `Demo ${stamp}` }) });
    return [`WooCommerce: customer ${customer.id} renamed to "Demo ${stamp} ${customer.last_name}" → contactChanged`];
  },
};

export const woocommerceRegistration: RegisteredConnector = { connector: woocommerce, startEmulator, demo: woocommerceDemo };
