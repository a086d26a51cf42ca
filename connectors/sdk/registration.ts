// What a connector's registry entry declares besides the connector itself: how its emulator starts,
// how the zero-config demo and the test stack connect to it, and what `npm run demo:change` does
// there. The gateway's demo, demo:change and test harness loop over the registry and never name a
// provider, so adding one is its folder plus one registry line.
import type { ProviderEmulatorOptions, StartProviderEmulator } from './emulator.ts';
import type { Connector } from './types.ts';

export interface ConnectorDemo {
  /** A credential the emulator accepts in the demo (not a secret of any real account). */
  token: string;
  /** The credential the test stack uses (a different value, so a test cannot pass on the demo's). */
  testToken: string;
  /** What the emulator signs webhooks with in the demo (HubSpot: the app's client secret; Stripe: the endpoint secret). */
  webhookSecret: string;
  /** The demo's OAuth app at the emulated provider; clientSecret defaults to webhookSecret. */
  oauthClient: { clientId: string; clientSecret?: string };
  /** Settings of the demo and test connections (HubSpot: the portal id the emulator seeds). */
  settings: Record<string, unknown>;
  /** Poll interval of the demo connection when the provider's changes are polled (a short one, so demo:change shows soon). */
  pollIntervalMs?: number;
  /** The demo connection's own allowance, when the demo credential has a smaller one (Stripe test-mode keys: 25/s). */
  rateLimit?: { requests: number; windowMs: number };
  /** Emulator options and connection allowance for the test stack (tests must not wait on the provider's real limits). */
  test?: { emulatorOptions?: Partial<ProviderEmulatorOptions>; rateLimit?: { requests: number; windowMs: number } };
  /**
   * `npm run demo:change`: changes a record in the running demo's emulator (which then sends its
   * real, signed webhook to the gateway, or is seen by the next poll). Answers the lines to print.
   */
  change(emulator: { url: string; token: string }): Promise<string[]>;
}

export interface RegisteredConnector {
  connector: Connector;
  startEmulator: StartProviderEmulator;
  demo: ConnectorDemo;
}

/** A JSON call to an emulator (demo:change), failing with the status and the start of the body. */
export async function emulatorCall(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
