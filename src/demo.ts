// The embedded default: with no tenants file, `npm start` boots every connector's emulator on a
// loopback port, seeded with deterministic demo data, and one demo tenant connected to all of them.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONNECTORS, type RegisteredConnector } from '../connectors/registry.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from './callers/tenants.ts';
import type { GatewayConfig, TenantConfig } from './config.ts';

export interface Demo {
  apiKey: string;
  tenants: TenantConfig[];
  /** OAuth apps registered at the emulators, so createConnectSession works in the demo. */
  providers: GatewayConfig['providers'];
  emulators: EmulatorHandle[];
  /**
   * Points every emulator's webhooks at the running gateway and records the demo's addresses for
   * `npm run demo:change`; a record that cannot be written (a read-only directory, as in the image)
   * is reported to `unrecorded` and the demo runs on.
   */
  connectWebhooks(gatewayBase: string, unrecorded?: (err: Error) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Where `npm run demo:change` finds the running demo's emulators. */
export const DEMO_STATE_FILE = join(process.cwd(), '.tmp', 'demo.json');

export interface DemoState {
  /** The process that runs the demo, and when it started: `npm run demo:change` checks it still runs. */
  pid?: number;
  startedAt?: string;
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
    for (const { connector, startEmulator, demo } of CONNECTORS) {
      const id = connector.manifest.id;
      const { token, webhookSecret } = demo;
      const clientId = demo.oauthClient.clientId;
      const clientSecret = demo.oauthClient.clientSecret ?? webhookSecret;
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
          webhookSecret: { type: 'static', token: webhookSecret },
        };
      }
      connections.push({
        id: `demo-${id}`,
        provider: id,
        baseUrl: emulator.url,
        credentials: { type: 'static', token },
        webhookSecret: { type: 'static', token: webhookSecret },
        settings: { ...demo.settings },
        ...(demo.rateLimit ? { rateLimit: demo.rateLimit } : {}),
        ...(demo.pollIntervalMs ? { polling: { intervalMs: demo.pollIntervalMs } } : {}),
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
    async connectWebhooks(gatewayBase: string, unrecorded?: (err: Error) => void) {
      // Register the gateway's webhook URL at each emulator, as a tenant would at the provider.
      for (const [i, emulator] of emulators.entries()) {
        const { connector, demo } = CONNECTORS[i] as RegisteredConnector;
        const id = connector.manifest.id;
        // A provider without webhooks (changes come from the poller) has no target to register.
        if (connector.manifest.events?.source === 'polling') continue;
        const res = await fetch(`${emulator.url}/__emulator/webhook`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: `${gatewayBase}/webhooks/${id}/demo-${id}`, secret: demo.webhookSecret }),
        });
        if (!res.ok) throw new Error(`could not register the demo webhook at the ${id} emulator: ${res.status}`);
      }
      const state: DemoState = {
        pid: process.pid,
        startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
        gateway: `${gatewayBase}/graphql`,
        emulators: Object.fromEntries(emulators.map((e, i) => [connections[i]?.provider as string, { url: e.url, token: CONNECTORS[i]?.demo.token ?? '' }])),
      };
      try {
        mkdirSync(dirname(DEMO_STATE_FILE), { recursive: true });
        writeFileSync(DEMO_STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
      } catch (err) {
        unrecorded?.(err as Error);
      }
    },
    async stop() {
      await Promise.all(emulators.map((e) => e.stop()));
    },
  };
}
