// The embedded default: with no tenants file, `npm start` boots every connector's emulator on a
// loopback port, seeded with deterministic demo data, and one demo tenant connected to all of them.
import { randomBytes } from 'node:crypto';
import { CONNECTORS } from '../connectors/registry.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from './auth/tenants.ts';
import type { TenantConfig } from './config.ts';

export interface Demo {
  apiKey: string;
  tenants: TenantConfig[];
  emulators: EmulatorHandle[];
  stop(): Promise<void>;
}

/** Demo credentials the emulators accept; they are not secrets of any real account. */
const DEMO_TOKENS: Record<string, string> = {
  hubspot: 'pat-na1-demo0000-0000-4000-8000-000000000000',
  stripe: 'sk_test_switchboard_demo_key_0000000000',
};

export async function startDemo(options: { apiKey?: string | undefined; latencyMs?: number; seed?: number } = {}): Promise<Demo> {
  const apiKey = options.apiKey ?? `sb_demo_${randomBytes(18).toString('base64url')}`;
  const emulators: EmulatorHandle[] = [];
  const connections: TenantConfig['connections'] = [];
  try {
    for (const { connector, startEmulator } of CONNECTORS) {
      const id = connector.manifest.id;
      const token = DEMO_TOKENS[id] ?? `demo-token-${id}`;
      const emulator = await startEmulator({ credentials: [token], latencyMs: options.latencyMs ?? 0, seed: options.seed ?? 42 });
      emulators.push(emulator);
      connections.push({
        id: `demo-${id}`,
        provider: id,
        baseUrl: emulator.url,
        credentials: { type: 'static', token },
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
    emulators,
    async stop() {
      await Promise.all(emulators.map((e) => e.stop()));
    },
  };
}
