/**
 * Resolves after one macrotask turn. Upstream calls started just before have by then run their
 * promise chains (rate budget, breaker, credentials) down to the socket, unless one waits on I/O on
 * the way (a Redis lookup). CPU work awaited after it (mapping a page, graphql-js completing one)
 * then runs while those calls are out, instead of holding them back: promise jobs queued behind a
 * long synchronous step wait for all of it.
 *
 * `calls`, the promises of those calls that the caller awaits later, are marked handled first: one
 * refused at once (an open breaker refuses within the turn) would otherwise reject while nothing
 * observes it, an unhandled rejection that ends the process. Awaiting one later still throws.
 */
export function afterCallsLeave(...calls: Array<Promise<unknown>>): Promise<void> {
  for (const call of calls) call.catch(() => undefined);
  return new Promise((resolve) => setImmediate(resolve));
}
