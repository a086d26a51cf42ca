// The explicit list of connectors. Adding a provider: one folder under connectors/, one line here.
import { hubspot } from './hubspot/index.ts';
import { startEmulator as startHubspotEmulator } from './hubspot/emulator/index.ts';
import type { StartProviderEmulator } from './sdk/emulator.ts';
import type { Connector } from './sdk/types.ts';
import { shopifyRegistration } from './shopify/registration.ts';
import { stripe } from './stripe/index.ts';
import { startEmulator as startStripeEmulator } from './stripe/emulator/index.ts';

export interface RegisteredConnector {
  connector: Connector;
  startEmulator: StartProviderEmulator;
}

export const CONNECTORS: readonly RegisteredConnector[] = [
  { connector: hubspot, startEmulator: startHubspotEmulator },
  { connector: stripe, startEmulator: startStripeEmulator },
  shopifyRegistration,
];

export function connectorMap(): Map<string, Connector> {
  return new Map(CONNECTORS.map((c) => [c.connector.manifest.id, c.connector]));
}
