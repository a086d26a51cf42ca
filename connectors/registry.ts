// The explicit list of connectors. Adding a provider: one folder under connectors/, one line here
// (its connector, its emulator, its demo declaration); nothing else in the gateway names it.
import { hubspotDemo } from './hubspot/demo.ts';
import { startEmulator as startHubspotEmulator } from './hubspot/emulator/index.ts';
import { hubspot } from './hubspot/index.ts';
import { quickbooksRegistration } from './quickbooks/registration.ts';
import type { RegisteredConnector } from './sdk/registration.ts';
import type { Connector } from './sdk/types.ts';
import { shopifyRegistration } from './shopify/registration.ts';
import { stripeDemo } from './stripe/demo.ts';
import { startEmulator as startStripeEmulator } from './stripe/emulator/index.ts';
import { stripe } from './stripe/index.ts';
import { woocommerceRegistration } from './woocommerce/registration.ts';
import { xeroRegistration } from './xero/registration.ts';
import { salesforceRegistration } from './salesforce/registration.ts';

export type { RegisteredConnector } from './sdk/registration.ts';

export const CONNECTORS: readonly RegisteredConnector[] = [
  { connector: hubspot, startEmulator: startHubspotEmulator, demo: hubspotDemo },
  { connector: stripe, startEmulator: startStripeEmulator, demo: stripeDemo },
  shopifyRegistration,
  woocommerceRegistration,
  xeroRegistration,
  quickbooksRegistration,
  salesforceRegistration,
];

export function connectorMap(): Map<string, Connector> {
  return new Map(CONNECTORS.map((c) => [c.connector.manifest.id, c.connector]));
}
