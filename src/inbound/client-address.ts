// The real client address behind a reverse proxy (deploy/nginx.conf appends the peer it saw to
// X-Forwarded-For). The failed-authentication limiter and the request log key on it, so the header
// is believed only as far as the operator says (TRUSTED_PROXIES):
//   - unset (default): the TCP peer, X-Forwarded-For ignored — a client cannot choose its address;
//   - a list of addresses/CIDRs ("10.0.0.0/8, 127.0.0.1, fd00::/8"): when the peer is one of them, the
//     header is read from the right, skipping trusted hops; the first untrusted one is the client;
//   - a hop count ("1"): that many proxies in front, trusted whatever their address; the client is
//     the address that many hops before the peer (the leftmost when the header is shorter).
// An entry that is not an IP address ends the walk at the hop that sent it.
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export type TrustedProxies = { kind: 'none' } | { kind: 'list'; list: BlockList; text: string } | { kind: 'hops'; hops: number };

export const TRUST_NO_PROXY: TrustedProxies = { kind: 'none' };

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`, how a dual-stack socket reports IPv4 peers) as plain IPv4. */
function normalize(address: string): string {
  const a = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1]! : a;
}

/** Parses TRUSTED_PROXIES; throws a message naming the entry that is wrong. */
export function parseTrustedProxies(value: string | undefined): TrustedProxies {
  const text = value?.trim() ?? '';
  if (text === '') return TRUST_NO_PROXY;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > 10) throw new Error('TRUSTED_PROXIES: a hop count must be 1-10');
    return { kind: 'hops', hops };
  }
  const list = new BlockList();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    if (!family || extra !== undefined) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
    if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`TRUSTED_PROXIES: "${entry}" has an invalid prefix length`);
    list.addSubnet(address, prefix, type);
  }
  return { kind: 'list', list, text };
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The client's address for limits and logs (undefined only when the socket has none, i.e. it is closed). */
export function clientAddress(req: Pick<IncomingMessage, 'headers' | 'socket'>, proxies: TrustedProxies): string | undefined {
  const peer = req.socket.remoteAddress === undefined ? undefined : normalize(req.socket.remoteAddress);
  if (proxies.kind === 'none' || peer === undefined) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => normalize(h))
    .filter((h) => h !== '');
  if (proxies.kind === 'hops') {
    const chain = [...forwarded, peer];
    let i = chain.length - 1;
    for (let hop = 0; hop < proxies.hops && i > 0; hop++) {
      if (!isIP(chain[i - 1]!)) break;
      i--;
    }
    return chain[i];
  }
  let client = peer;
  for (let i = forwarded.length - 1; i >= 0 && trusted(proxies.list, client); i--) {
    const hop = forwarded[i]!;
    if (!isIP(hop)) break;
    client = hop;
  }
  return client;
}
