// Shared by the Shopify tests: tokens and the app secret the tests hand the emulator (never real ones).
export const TEST_TOKEN = 'shpat_switchboardtest0000000000000000';
export const APP_CLIENT_ID = 'switchboard-test-app';
export const APP_SECRET = 'shpss_switchboard_test_client_secret_0000';

/** One tenant with one Shopify connection to an emulated shop (static token; webhooks signed with APP_SECRET). */
export function shopTenant(tenantId: string, apiKeySha256: string, connectionId: string, shop: { url: string; shop: string }) {
  return {
    id: tenantId,
    apiKeys: [{ id: 'k1', sha256: apiKeySha256 }],
    connections: [
      {
        id: connectionId,
        provider: 'shopify',
        baseUrl: shop.url,
        credentials: { type: 'static' as const, token: TEST_TOKEN },
        webhookSecret: { type: 'static' as const, token: APP_SECRET },
        settings: { shop: shop.shop },
      },
    ],
  };
}
