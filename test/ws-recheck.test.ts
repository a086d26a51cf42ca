// Open subscription sockets do not outlive their credential: a runtime API key revoked elsewhere
// (the CLI, another replica: a direct store write, nothing announced) closes its sockets with 4403
// at the next periodic check, while sockets of valid keys stay open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGatewayConfig } from '../src/config.ts';
import { TOKENS, startStack, subscribe, type Stack } from './helpers.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ config: { limits: { ...defaultGatewayConfig([]).limits, credentialRecheckMs: 100 } } });
  // Runtime Stripe connections of this gateway go to the emulator.
  stack.gateway.services.config.providers.stripe = { baseUrl: stack.stripe.url };
});

afterAll(async () => {
  await stack?.stop();
});

describe('subscription sockets and revoked credentials', () => {
  it('a revoked runtime API key closes its sockets with 4403; other sockets stay open', async () => {
    const issued = await stack.gateway.services.apiKeys.create('acme', { scopes: ['subscribe'] });
    const query = `subscription { connectionStatusChanged { connectionId status } }`;
    const revoked = await subscribe<unknown>(stack.gateway.url, issued.key, query);
    const kept = await subscribe<unknown>(stack.gateway.url, stack.apiKey, query);
    const statusEvent = async () => {
      const made = await stack.query<{ connectWithApiKey: { id: string } }>(
        `mutation($k: String!) { connectWithApiKey(connector: "stripe", apiKey: $k) { id } }`,
        { k: TOKENS.stripe },
      );
      expect(made.errors).toBeUndefined();
    };
    try {
      // Both sockets are open and subscribed (they outlive several periodic checks meanwhile).
      await statusEvent();
      await Promise.all([revoked.waitFor(1), kept.waitFor(1)]);
      expect(await stack.gateway.services.apiKeys.revoke('acme', issued.info.id)).toBe(true);
      await expect.poll(() => revoked.errors.length, { timeout: 5_000, interval: 20 }).toBeGreaterThan(0);
      expect(revoked.errors[0]).toMatchObject({ code: 4403 });
      // The other socket is still open and delivering.
      await statusEvent();
      await kept.waitFor(2);
      expect(kept.errors).toEqual([]);
    } finally {
      await Promise.all([revoked.close(), kept.close()]);
    }
  });
});
