// Where a WooCommerce connection may send its keys. The store URL is chosen by the tenant, so it is
// checked twice: the scheme (Basic credentials only over HTTPS; plain HTTP only to a loopback
// store, as tests and the demo run one) on every call, and at connect time (the contract's
// auth.connectionTarget) the SSRF rule: no private, link-local or otherwise internal address, as
// written and, in production, as DNS resolves it; loopback only outside production. In production
// every call checks the addresses its socket connects to again (DNS rebinding after connect).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConnectorError } from '../sdk/errors.ts';
import type { AddressCheck, ConnectionParamsInput, Result } from '../sdk/types.ts';

export interface StoreUrlPolicy {
  /** Production: false. Tests and the demo run the emulator on 127.0.0.1 over plain HTTP. */
  allowLoopback: boolean;
  /** Refuse private, reserved and internal hosts (the SSRF rule). */
  blockInternal: boolean;
}

/** What every call checks today: HTTPS, or plain HTTP to a loopback store. */
export const CALL_POLICY: StoreUrlPolicy = { allowLoopback: true, blockInternal: false };
/** What connecting a store in production checks. */
export const PRODUCTION_POLICY: StoreUrlPolicy = { allowLoopback: false, blockInternal: true };
/** What connecting a store in tests and the demo checks: the same, but a loopback store (the emulator) is allowed. */
export const LOCAL_POLICY: StoreUrlPolicy = { allowLoopback: true, blockInternal: true };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function ipv4Parts(ip: string): number[] | null {
  const parts = ip.split('.').map(Number);
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 255) ? parts : null;
}

/** RFC 1918, loopback, link-local (cloud metadata 169.254.169.254), CGNAT, "this network", multicast and reserved. */
function isInternalIPv4(ip: string): boolean {
  const p = ipv4Parts(ip);
  if (!p) return true;
  const [a = 0, b = 0] = p;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && p[2] === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/** Whether an address (as DNS returned it, or written in the URL) is one a tenant must not reach. */
export function isInternalAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(ip);
  if (family === 4) return isInternalIPv4(ip);
  if (family !== 6) return true;
  if (ip === '::' || ip === '::1') return true;
  // IPv4-mapped (::ffff:10.0.0.1) and the hex form URL parsers produce (::ffff:a00:1).
  const mapped = /^::ffff:(.+)$/.exec(ip)?.[1];
  if (mapped !== undefined) {
    if (isIP(mapped) === 4) return isInternalIPv4(mapped);
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(mapped);
    if (!hex) return true;
    const n = (parseInt(hex[1] as string, 16) << 16) | parseInt(hex[2] as string, 16);
    return isInternalIPv4([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  const first = parseInt(ip.split(':')[0] || '0', 16);
  // fc00::/7 unique-local, fe80::/10 link-local, ff00::/8 multicast.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

/**
 * The problem with a store URL, or null when the connector may send credentials to it. Checks the
 * written URL only; with a host name, the caller must also check every address it resolves to
 * (isInternalAddress) and connect to that address, or DNS rebinding gets around the rule.
 */
export function storeUrlProblem(input: string, policy: StoreUrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return `the store URL is not an absolute URL: ${JSON.stringify(input.slice(0, 100))}`;
  }
  if (url.username || url.password) return 'the store URL must not carry a user name or password (the REST keys are sent as HTTP Basic)';
  if (url.search || url.hash) return 'the store URL must not carry a query or fragment: give the site address, e.g. https://shop.example.com';
  const host = url.hostname.toLowerCase();
  const loopback = LOOPBACK_HOSTS.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
  if (url.protocol === 'http:') {
    if (loopback && policy.allowLoopback) return null;
    return `refusing to send WooCommerce REST keys over plain http:// to ${host}: WooCommerce accepts HTTP Basic keys only over HTTPS; use https:// (plain http is allowed only for a loopback store in tests and the demo)`;
  }
  if (url.protocol !== 'https:') return `the store URL must be https://, got ${url.protocol}`;
  if (!policy.blockInternal) return null;
  if (loopback) return policy.allowLoopback ? null : `the store URL points at this machine (${host})`;
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local') || !host.includes('.')) {
    if (isIP(host.replace(/^\[|\]$/g, '')) === 0) return `the store URL's host ${host} is not a public DNS name`;
  }
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0 && isInternalAddress(host)) return `the store URL's address ${host} is in a private or reserved range`;
  return null;
}

/** The connection setting holding the store URL (the site address, without /wp-json). */
export const STORE_URL_SETTING = 'storeUrl';

type Resolve = (host: string) => Promise<string[]>;
const resolveAll: Resolve = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The request-time half of the SSRF rule, in production, for a store host written as an address:
 * it cannot change, but it is checked again on every call all the same. A host name is checked by
 * the upstream layer on the addresses its socket connects to (storeAddressCheck). Outside
 * production nothing is refused here (the emulator answers on loopback).
 */
export function storeLiteralProblem(baseUrl: string, production: boolean): string | null {
  if (!production) return null;
  let host: string;
  try {
    host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return 'the store URL is not an absolute URL';
  }
  return isIP(host) !== 0 && isInternalAddress(host) ? `the store's address ${host} is in a private or reserved range` : null;
}

/**
 * The request-time half of the SSRF rule for a store host name, in production: handed to the
 * upstream layer as the request's addressCheck, it sees every address the name resolves to when
 * the socket is opened. The name was checked at connect time, but DNS can answer differently later
 * (rebinding to 10.x, 169.254.169.254 or loopback); checking the address actually connected to
 * leaves no window between a check and the connection.
 */
export const storeAddressCheck: AddressCheck = (address) =>
  isInternalAddress(address) ? `the store's host now resolves to ${address}, a private or reserved address; refusing to send the keys there` : null;

/**
 * The contract's connect-time check: `settings.storeUrl` must be a URL the tenant may use; it
 * becomes the connection's base URL. In production a host name must resolve, and only to public
 * addresses. A name that resolves differently later (DNS rebinding) is caught on every call by
 * storeAddressCheck, on the addresses the socket connects to.
 */
export async function checkStoreTarget(input: ConnectionParamsInput, resolve: Resolve = resolveAll): Promise<Result<{ baseUrl: string | null }>> {
  const refuse = (message: string): Result<{ baseUrl: string | null }> => ({
    ok: false,
    error: new ConnectorError('UPSTREAM_FORBIDDEN', message, { retryable: false }),
  });
  const raw = input.settings[STORE_URL_SETTING];
  if (typeof raw !== 'string' || raw.trim() === '')
    return refuse(`settings.${STORE_URL_SETTING} is required: the store's site address, e.g. https://shop.example.com`);
  const problem = storeUrlProblem(raw.trim(), input.production ? PRODUCTION_POLICY : LOCAL_POLICY);
  if (problem) return refuse(problem);
  const url = new URL(raw.trim());
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (input.production && isIP(host) === 0) {
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch {
      return refuse(`the store URL's host ${host} does not resolve`);
    }
    const internal = addresses.find(isInternalAddress);
    if (addresses.length === 0 || internal) return refuse(`the store URL's host ${host} resolves to ${internal ?? 'nothing'}, a private or reserved address`);
  }
  return { ok: true, value: { baseUrl: url.href.replace(/\/+$/, '') } };
}
