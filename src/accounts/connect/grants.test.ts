// What a token response may name as a connection's API base URL: https on the connector's host
// pattern always; a loopback URL (the emulators, over http) only outside production.
import { describe, expect, it } from 'vitest';
import type * as client from 'openid-client';
import { salesforce } from '../../../connectors/salesforce/index.ts';
import type { ResolvedOAuthApp } from '../provider-apps.ts';
import { baseUrlFromGrant, isLoopbackHost } from './grants.ts';

const app = { mode: salesforce.manifest.auth.oauth2! } as unknown as ResolvedOAuthApp;
const grant = (instance: unknown) => ({ access_token: 'a', token_type: 'bearer', instance_url: instance }) as unknown as client.TokenEndpointResponse;

describe('baseUrlFromGrant (Salesforce instance_url)', () => {
  it('takes an https instance on a Salesforce host, in production and outside it', () => {
    for (const loopbackAllowed of [false, true]) {
      expect(baseUrlFromGrant(app, grant('https://acme.my.salesforce.com/'), loopbackAllowed)).toBe('https://acme.my.salesforce.com');
    }
  });

  it('refuses http to a Salesforce host, and any host not Salesforce', () => {
    for (const loopbackAllowed of [false, true]) {
      expect(() => baseUrlFromGrant(app, grant('http://acme.my.salesforce.com'), loopbackAllowed)).toThrow(/not one of the provider's/);
      expect(() => baseUrlFromGrant(app, grant('https://evil.example.com'), loopbackAllowed)).toThrow(/not one of the provider's/);
      expect(() => baseUrlFromGrant(app, grant('https://user:pw@acme.my.salesforce.com'), loopbackAllowed)).toThrow(/not one of the provider's/);
    }
  });

  it('production refuses a loopback instance URL; outside production it is accepted over http (the emulator)', () => {
    for (const url of ['http://127.0.0.1:4100', 'http://localhost:4100', 'http://[::1]:4100']) {
      expect(() => baseUrlFromGrant(app, grant(url), false)).toThrow(/not one of the provider's/);
      expect(baseUrlFromGrant(app, grant(url), true)).toBe(new URL(url).origin);
    }
    // Not loopback, whatever it looks like.
    for (const url of ['http://10.0.0.5', 'http://127.0.0.1.nip.io', 'http://localhost.example.com', 'file:///etc/passwd']) {
      expect(() => baseUrlFromGrant(app, grant(url), true)).toThrow(/not one of the provider's/);
    }
  });

  it('answers null when the token response names no instance', () => {
    expect(baseUrlFromGrant(app, grant(undefined), false)).toBeNull();
  });

  it('isLoopbackHost', () => {
    expect(['127.0.0.1', '127.9.8.7', 'localhost', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['128.0.0.1', '0.0.0.0', '::1', 'localhost.', '10.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});
