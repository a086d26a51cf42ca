// The embedded default: with no tenants file, `npm start` boots every connector's emulator on a
// loopback port, seeded with deterministic demo data, and one demo tenant connected to all of them.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONNECTORS } from '../connectors/registry.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from './auth/tenants.ts';
import type { GatewayConfig, TenantConfig } from './config.ts';

export interface Demo {
  apiKey: string;
  tenants: TenantConfig[];
  /** OAuth apps registered at the emulators, so createConnectSession works in the demo. */
  providers: GatewayConfig['providers'];
  emulators: EmulatorHandle[];
  /** Points every emulator's webhooks at the running gateway and records the demo's addresses. */
  connectWebhooks(gatewayBase: string): Promise<void>;
  stop(): Promise<void>;
}

/** Demo credentials the emulators accept; they are not secrets of any real account. */
const DEMO_TOKENS: Record<string, string> = {
  hubspot: 'pat-na1-demo0000-0000-4000-8000-000000000000',
  stripe: 'sk_test_switchboard_demo_key_0000000000',
};
/** Demo webhook signing secrets (HubSpot: the app's client secret; Stripe: the endpoint secret). */
const DEMO_WEBHOOK_SECRETS: Record<string, string> = {
  hubspot: 'demo-hubspot-client-secret-00000000',
  stripe: 'whsec_switchboard_demo_secret_0000000',
};

/** The demo's OAuth apps at the emulated providers (Stripe's client authenticates with the platform key). */
const DEMO_OAUTH_CLIENT_IDS: Record<string, string> = { hubspot: 'switchboard-demo-app', stripe: 'ca_SwitchboardDemo' };

/** Where `npm run demo:change` finds the running demo's emulators. */
export const DEMO_STATE_FILE = join(process.cwd(), '.tmp', 'demo.json');

export interface DemoState {
  gateway: string;
  emulators: Record<string, { url: string; token: string }>;
}

export async function startDemo(options: { apiKey?: string | undefined; latencyMs?: number; seed?: number; gatewayPort?: number } = {}): Promise<Demo> {
  const apiKey = options.apiKey ?? `sb_demo_${randomBytes(18).toString('base64url')}`;
  const emulators: EmulatorHandle[] = [];
  const connections: TenantConfig['connections'] = [];
  const providers: GatewayConfig['providers'] = {};
  // The callback must be registered exactly; a browser may call the gateway by either name.
  const port = options.gatewayPort;
  const redirectUris = (id: string) => (port ? ['localhost', '127.0.0.1'].map((host) => `http://${host}:${port}/connect/${id}/callback`) : []);
  try {
    for (const { connector, startEmulator } of CONNECTORS) {
      const id = connector.manifest.id;
      const token = DEMO_TOKENS[id] ?? `demo-token-${id}`;
      const clientId = DEMO_OAUTH_CLIENT_IDS[id] ?? `demo-app-${id}`;
      const clientSecret = id === 'stripe' ? token : (DEMO_WEBHOOK_SECRETS[id] ?? `demo-client-secret-${id}`);
      const emulator = await startEmulator({
        credentials: [token],
        latencyMs: options.latencyMs ?? 0,
        seed: options.seed ?? 42,
        oauthClients: [{ clientId, clientSecret, redirectUris: redirectUris(id), scopes: connector.manifest.auth.oauth2?.scopes ?? [] }],
      });
      emulators.push(emulator);
      if (connector.manifest.auth.oauth2) {
        // The emulator serves the provider's OAuth endpoints on its own port.
        const oauth = connector.manifest.auth.oauth2;
        const local = (u: string) => `${emulator.url}${new URL(u).pathname}`;
        providers[id] = {
          baseUrl: emulator.url,
          oauth: {
            clientId,
            clientSecret: { type: 'static', token: clientSecret },
            authorizationUrl: local(oauth.authorizationUrl),
            tokenUrl: local(oauth.tokenUrl),
            ...(oauth.revocation.type !== 'none' ? { revocationUrl: local(oauth.revocation.url) } : {}),
          },
          webhookSecret: { type: 'static', token: DEMO_WEBHOOK_SECRETS[id] ?? `demo-webhook-secret-${id}` },
        };
      }
      connections.push({
        id: `demo-${id}`,
        provider: id,
        baseUrl: emulator.url,
        credentials: { type: 'static', token },
        webhookSecret: { type: 'static', token: DEMO_WEBHOOK_SECRETS[id] ?? `demo-webhook-secret-${id}` },
        settings: id === 'hubspot' ? { portalId: '62515' } : {},
        // The demo Stripe key is a test-mode key, and Stripe allows test mode 25 req/s.
        ...(id === 'stripe' ? { rateLimit: { requests: 25, windowMs: 1_000 } } : {}),
      });
    }
  } catch (err) {
    await Promise.all(emulators.map((e) => e.stop()));
    throw err;
  }
  return {
    apiKey,
    tenants: [{ id: 'demo', name: 'Demo tenant', apiKeys: [{ id: 'demo-key', sha256: hashApiKey(apiKey) }], connections }],
    providers,
    emulators,
    async connectWebhooks(gatewayBase: string) {
      // Register the gateway's webhook URL at each emulator, as a tenant would at the provider.
      for (const [i, emulator] of emulators.entries()) {
        const id = connections[i]?.provider as string;
        const res = await fetch(`${emulator.url}/__emulator/webhook`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: `${gatewayBase}/webhooks/${id}/demo-${id}`, secret: DEMO_WEBHOOK_SECRETS[id] }),
        });
        if (!res.ok) throw new Error(`could not register the demo webhook at the ${id} emulator: ${res.status}`);
      }
      const state: DemoState = {
        gateway: `${gatewayBase}/graphql`,
        emulators: Object.fromEntries(emulators.map((e, i) => [connections[i]?.provider as string, { url: e.url, token: DEMO_TOKENS[connections[i]?.provider as string] ?? '' }])),
      };
      mkdirSync(dirname(DEMO_STATE_FILE), { recursive: true });
      writeFileSync(DEMO_STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
    },
    async stop() {
      await Promise.all(emulators.map((e) => e.stop()));
    },
  };
}
