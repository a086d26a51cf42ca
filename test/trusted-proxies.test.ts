// TRUSTED_PROXIES (issue 13): behind the deploy/ proxy, the failed-authentication limiter and the
// request log use the client address the proxy forwarded, and never believe X-Forwarded-For from a
// peer that is not a trusted proxy (a client could otherwise pick a fresh address per guess).
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../src/config.ts';
import { clientAddress, parseTrustedProxies } from '../src/inbound/client-address.ts';
import { startStack, type Stack } from './helpers.ts';

const PROXY = '127.0.0.10';
const logLines: string[] = [];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    scale: { contacts: 2, invoices: 1, orders: 1 },
    config: { trustedProxies: parseTrustedProxies(`${PROXY}, 10.0.0.0/8`) },
    gatewayOptions: { logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }) },
  });
  stack.gateway.services.config.limits.authFailureLimit = 3;
});
afterAll(() => stack?.stop());

/** POST /graphql from a chosen loopback source address, with an optional X-Forwarded-For. */
function graphqlFrom(address: string, key: string, forwardedFor?: string): Promise<number> {
  const url = new URL(stack.gateway.url);
  const payload = JSON.stringify({ query: '{ __typename }' });
  const requestId = `trusted-${randomUUID()}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: address,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${key}`,
          'content-length': Buffer.byteLength(payload),
          'x-request-id': requestId,
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const fakeReq = (peer: string, xff?: string) => ({ socket: { remoteAddress: peer }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as never;

describe('client address', () => {
  it('without TRUSTED_PROXIES the TCP peer is the client, whatever X-Forwarded-For says', () => {
    expect(clientAddress(fakeReq('203.0.113.5', '1.2.3.4'), parseTrustedProxies(undefined))).toBe('203.0.113.5');
    expect(clientAddress(fakeReq('::ffff:203.0.113.5'), parseTrustedProxies(''))).toBe('203.0.113.5');
  });

  it('a CIDR list: read from the right while the hop is trusted; an untrusted peer is the client', () => {
    const trust = parseTrustedProxies('10.0.0.0/8, 192.0.2.1, fd00::/8');
    expect(clientAddress(fakeReq('10.1.2.3', '198.51.100.7'), trust)).toBe('198.51.100.7');
    // The client prepends a forged address; the proxy appended the real one.
    expect(clientAddress(fakeReq('10.1.2.3', '6.6.6.6, 198.51.100.7'), trust)).toBe('198.51.100.7');
    // Two trusted proxies in a row.
    expect(clientAddress(fakeReq('::ffff:10.1.2.3', '198.51.100.7, 192.0.2.1'), trust)).toBe('198.51.100.7');
    expect(clientAddress(fakeReq('fd00::1', '2001:db8::9'), trust)).toBe('2001:db8::9');
    // An untrusted peer's header is ignored.
    expect(clientAddress(fakeReq('203.0.113.5', '198.51.100.7'), trust)).toBe('203.0.113.5');
    // A garbage entry ends the walk at the hop that sent it.
    expect(clientAddress(fakeReq('10.1.2.3', 'not-an-ip'), trust)).toBe('10.1.2.3');
  });

  it('a hop count trusts that many proxies in front, whatever their address', () => {
    const one = parseTrustedProxies('1');
    expect(clientAddress(fakeReq('203.0.113.5', '6.6.6.6, 198.51.100.7'), one)).toBe('198.51.100.7');
    expect(clientAddress(fakeReq('203.0.113.5'), one)).toBe('203.0.113.5');
    expect(clientAddress(fakeReq('203.0.113.5', '6.6.6.6, 198.51.100.7'), parseTrustedProxies('2'))).toBe('6.6.6.6');
  });

  it('TRUSTED_PROXIES is checked at startup: a wrong entry is named', () => {
    expect(() => parseEnv({ TRUSTED_PROXIES: '10.0.0.0/8, nonsense' })).toThrow(/TRUSTED_PROXIES: "nonsense" is not an IP address/);
    expect(() => parseEnv({ TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/invalid prefix length/);
    expect(parseEnv({ TRUSTED_PROXIES: '127.0.0.1' }).TRUSTED_PROXIES.kind).toBe('list');
  });
});

describe('behind a trusted proxy', () => {
  it('limits failed authentications per forwarded client: one client locked, another behind the same proxy not', async () => {
    for (let i = 0; i < 3; i++) expect(await graphqlFrom(PROXY, `wrong-${randomUUID()}`, '198.51.100.7')).toBe(401);
    expect(await graphqlFrom(PROXY, stack.apiKey, '198.51.100.7')).toBe(429);
    expect(await graphqlFrom(PROXY, stack.apiKey, '198.51.100.8')).toBe(200);
    // The request log names the forwarded client, not the proxy.
    const lines = logLines.map((l) => JSON.parse(l) as { msg: string; clientAddress?: string; status?: number });
    const logged = lines.filter((l) => l.msg === 'request' || l.msg === 'request refused').map((l) => l.clientAddress);
    expect(logged).toContain('198.51.100.7');
    expect(logged).toContain('198.51.100.8');
    expect(logged).not.toContain(PROXY);
  });

  it('an untrusted peer cannot escape the limit by sending a fresh X-Forwarded-For each time', async () => {
    for (let i = 0; i < 3; i++) expect(await graphqlFrom('127.0.0.11', `wrong-${randomUUID()}`, `198.51.100.${100 + i}`)).toBe(401);
    expect(await graphqlFrom('127.0.0.11', stack.apiKey, '198.51.100.200')).toBe(429);
    const lines = logLines.map((l) => JSON.parse(l) as { clientAddress?: string });
    expect(lines.some((l) => l.clientAddress === '127.0.0.11')).toBe(true);
    expect(lines.some((l) => l.clientAddress === '198.51.100.200')).toBe(false);
  });
});
