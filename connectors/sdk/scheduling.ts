/**
 * Resolves once upstream calls started just before have left: with `ctx.callsLeft`, when every
 * call of the request is past its rate budget, breaker and credential (with Redis, a round trip
 * or two), at most a few milliseconds; without it, after one macrotask turn (promise chains have
 * run down to the socket unless one waits on I/O on the way). CPU work awaited after it (mapping
 * a page, graphql-js completing one) then runs while those calls are out, instead of holding them
 * back: a round trip's answer is read only once the synchronous work ahead of it is done.
 *
 * `calls`, the promises of those calls that the caller awaits later, are marked handled first: one
 * refused at once (an open breaker refuses within the turn) would otherwise reject while nothing
 * observes it, an unhandled rejection that ends the process. Awaiting one later still throws.
 */
export function afterCallsLeave(ctx: { callsLeft?(): Promise<void> } | null, ...calls: Array<Promise<unknown>>): Promise<void> {
  for (const call of calls) call.catch(() => undefined);
  if (ctx?.callsLeft) return ctx.callsLeft();
  return new Promise((resolve) => setImmediate(resolve));
}
