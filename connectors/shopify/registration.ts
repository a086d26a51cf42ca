// What connectors/registry.ts lists for Shopify: the connector and its emulator, in one import.
// The registered emulator (the zero-config demo's) is a Shopify Plus shop, restoring 1000 points a
// second: on a Standard shop (100/s, the emulator's own default) a page of 100 orders with line
// items and customers (~2,500 actual points) takes about 15 s, longer than a request's deadline.
import type { StartProviderEmulator } from '../sdk/emulator.ts';
import { startEmulator } from './emulator/index.ts';
import { shopify } from './index.ts';

export const PLUS_RESTORE_RATE = 1000;

const startPlusShop: StartProviderEmulator = (options) => startEmulator({ rateLimitPerSecond: PLUS_RESTORE_RATE, ...options });

export const shopifyRegistration = { connector: shopify, startEmulator: startPlusShop };
