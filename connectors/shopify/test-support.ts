// Shared by the Shopify tests: tokens and the app secret the tests hand the emulator (never real ones).
export const TEST_TOKEN = 'shpat_switchboardtest0000000000000000';
export const APP_CLIENT_ID = 'switchboard-test-app';
export const APP_SECRET = 'shpss_switchboard_test_client_secret_0000';
