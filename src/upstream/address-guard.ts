// The address check of a request (UpstreamRequest.addressCheck) applied where it counts: on the
// addresses the socket connects to. Each check gets its own connection pool (an undici Agent)
// whose DNS lookup resolves the host, hands every address to the check and fails the connection
// when one is refused, so the request never leaves. A check before the call would leave a window:
// the HTTP client resolves the name again, and a name can answer differently the second time
// (DNS rebinding). Sockets in the pool were opened to checked addresses, so reusing them is safe.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent, type Dispatcher } from 'undici';
import type { AddressCheck } from '../../connectors/sdk/types.ts';
import { redirectingPool } from './transport.ts';

/** Resolves a host name to every address it has (tests answer for names of their own). */
export type ResolveHost = (host: string, options: LookupOptions) => Promise<LookupAddress[]>;

export const resolveWithSystem: ResolveHost = (host, options) =>
  new Promise((resolve, reject) => dnsLookup(host, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** A connection refused by a request's address check; the upstream layer answers UPSTREAM_FORBIDDEN with its reason. */
export class AddressRefused extends Error {
  override readonly name = 'AddressRefused';
}

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/** The lookup a socket uses: resolve, check every address, then connect only to checked ones. */
export function checkedLookup(check: AddressCheck, resolve: ResolveHost) {
  return (host: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(host, options).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`${host} did not resolve`), { code: 'ENOTFOUND' }), []);
        for (const { address } of addresses) {
          const problem = check(address);
          if (problem) return callback(new AddressRefused(problem), []);
        }
        if (options.all) return callback(null, addresses);
        const [first] = addresses as [LookupAddress];
        return callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, []),
    );
  };
}

/** One pool per address check, for the life of the upstream client. */
export class CheckedDispatchers {
  private readonly agents = new Map<AddressCheck, { agent: Agent; pool: Dispatcher }>();

  constructor(private readonly resolve: ResolveHost = resolveWithSystem) {}

  for(check: AddressCheck): Dispatcher {
    let entry = this.agents.get(check);
    if (!entry) {
      const agent = new Agent({ connect: { lookup: checkedLookup(check, this.resolve) } });
      // A redirect's target is looked up through the same check.
      entry = { agent, pool: redirectingPool(agent) };
      this.agents.set(check, entry);
    }
    return entry.pool;
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.agent.close()));
  }
}

/** The AddressRefused behind a failed request (fetch wraps connection errors in `cause`), if that is why it failed. */
export function refusedAddress(err: unknown): AddressRefused | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof AddressRefused) return e;
  }
  return null;
}
