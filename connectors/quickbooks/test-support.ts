// Shared by this connector's tests: the recorded fixtures, a context factory bound to the
// emulator's company, and the test credentials.
import { readFileSync } from 'node:fs';
import { createTestContext, type TestContextOptions } from '../sdk/testing.ts';
import { EMULATOR_REALM_ID } from './emulator/index.ts';
import { quickbooks, HOME_CURRENCY_SETTING } from './index.ts';
import { REALM_SETTING } from './webhooks.ts';

export const TOKEN = 'qbo-test-token-0000000000000000';
export const VERIFIER_TOKEN = 'qbo-verifier-token';

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as T;
}

export function qboContext(baseUrl: string, extra: Partial<TestContextOptions> = {}) {
  return createTestContext({
    connector: quickbooks,
    baseUrl,
    token: TOKEN,
    settings: { [REALM_SETTING]: EMULATOR_REALM_ID, [HOME_CURRENCY_SETTING]: 'USD' },
    ...extra,
  });
}
