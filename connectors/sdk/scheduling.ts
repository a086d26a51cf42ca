/**
 * Resolves after one macrotask turn. Upstream calls started just before have by then run their
 * promise chains (rate budget, breaker, credentials) down to the socket, unless one waits on I/O on
 * the way (a Redis lookup). CPU work awaited after it (mapping a page, graphql-js completing one)
 * then runs while those calls are out, instead of holding them back: promise jobs queued behind a
 * long synchronous step wait for all of it.
 */
export function afterCallsLeave(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
