// Shared setup of the test/auth-*.test.ts files: a stack whose gateway listens on a known free port
// (the OAuth apps registered at the emulators name its callback), a second tenant "beta" with an
// admin and a read-only key, and the operator's HubSpot and Stripe apps pointing at the emulators.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { hashApiKey } from '../src/callers/tenants.ts';
import type { GatewayConfig, TenantConfig } from '../src/config.ts';
import { RUN_PREFIX, emulatorRegistrations, freePort, startStack, type GraphQLResult, type Stack } from './helpers.ts';

export const HUBSPOT_APP = { clientId: 'hs-auth-app', clientSecret: 'hs-auth-app-secret-00000000000' };
export const STRIPE_APP = { clientId: 'ca_SwitchboardAuthTest' };
export const HTTPS_BASE = 'https://switchboard.example.com';

export interface AuthStack {
  stack: Stack;
  port: number;
  /** Base URL of the gateway as this process reaches it (http://127.0.0.1:<port>). */
  base: string;
  betaKey: string;
  readOnlyKey: string;
  logLines: string[];
  beta<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
}

export async function startAuthStack(
  options: { config?: Partial<GatewayConfig>; betaExtra?: Partial<TenantConfig>; extraTenants?: TenantConfig[] } = {},
): Promise<AuthStack> {
  const port = await freePort();
  const betaKey = `sb_beta_${randomUUID()}`;
  const readOnlyKey = `sb_ro_${randomUUID()}`;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const callbacks = (id: string) => [`http://127.0.0.1:${port}/connect/${id}/callback`, `${HTTPS_BASE}/connect/${id}/callback`];
  const stack = await startStack({
    scale: { contacts: 6, invoices: 3, orders: 3 },
    oauthClients: {
      hubspot: [{ ...HUBSPOT_APP, redirectUris: callbacks('hubspot'), scopes: ['crm.objects.contacts.read', 'crm.objects.deals.read'] }],
      stripe: [{ clientId: STRIPE_APP.clientId, clientSecret: '', redirectUris: callbacks('stripe') }],
    },
    config: { port, keyPrefix: `${RUN_PREFIX}:auth:${randomUUID().slice(0, 6)}`, allowInsecureOAuth: true, ...options.config },
    gatewayOptions: { logger },
    extraTenants: () => [
      {
        id: 'beta',
        apiKeys: [
          { id: 'b1', sha256: hashApiKey(betaKey) },
          { id: 'ro', sha256: hashApiKey(readOnlyKey), scopes: ['read'] },
        ],
        connections: [],
        connectReturnUrls: ['https://app.example.com/integrations/'],
        ...options.betaExtra,
      },
      ...(options.extraTenants ?? []),
    ],
  });
  Object.assign(
    stack.gateway.services.config.providers,
    emulatorRegistrations(stack, {
      hubspot: { ...HUBSPOT_APP, scopes: ['crm.objects.contacts.read'], webhookSecret: HUBSPOT_APP.clientSecret },
      stripe: { clientId: STRIPE_APP.clientId },
    }),
  );
  return {
    stack,
    port,
    base: `http://127.0.0.1:${port}`,
    betaKey,
    readOnlyKey,
    logLines,
    beta: (query, variables) => stack.query(query, variables, betaKey),
  };
}

/** The first `name=value` pair of a Set-Cookie header. */
export function cookiePair(setCookie: string | null): { name: string; value: string } {
  const pair = (setCookie ?? '').split(';')[0] ?? '';
  const eq = pair.indexOf('=');
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
}
