// The Redis the suite's tests write to: the throwaway server test/global-setup.ts started for this
// run, or the one TEST_REDIS_URL names. Never a default address: a test must not touch a Redis that
// someone runs for other work.
const url = process.env.TEST_REDIS_URL;
if (!url) throw new Error('TEST_REDIS_URL is not set: run the tests through vitest (npm test), whose global setup starts a throwaway Redis');

export const REDIS_URL: string = url;
