// What connectors/registry.ts lists for Shopify: the connector and its emulator, in one import.
import { startEmulator } from './emulator/index.ts';
import { shopify } from './index.ts';

export const shopifyRegistration = { connector: shopify, startEmulator };
