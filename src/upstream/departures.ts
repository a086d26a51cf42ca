// The upstream calls of one request that are on their way out: started, and not yet handed to the
// network, because they wait for a cache read, their rate budget or their credential (with Redis,
// a round trip each). CPU work that can run while calls are out (mapping a page, graphql-js
// completing its fields) waits for them to leave first: run before, it holds them back, since a
// round trip's answer is read only once the synchronous work ahead of it is done. Measured on a
// cold HubSpot list with Redis: the association call left ~1 ms late behind the page's mapping,
// and the contacts' call ~1 ms late behind the completion of 100 invoices (docs/benchmarks.md).

/** Longest a caller waits for calls to leave: a call held back by its rate budget is not waited for. */
export const LEFT_CAP_MS = 5;

export class Departures {
  private pending = 0;
  private readonly idle: Array<() => void> = [];

  /** One call (or a batch read that may lead to one) starts its way out; the function says it left (or failed). Extra calls do nothing. */
  begin(): () => void {
    this.pending++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pending--;
      if (this.pending === 0) for (const wake of this.idle.splice(0)) wake();
    };
  }

  /**
   * Resolves once no call of this request is on its way out, at most LEFT_CAP_MS from now. It
   * first lets one macrotask turn pass, so that calls started just before (down promise chains)
   * have begun; a call that leaves may start another (a batch read's connector call): checked again.
   */
  async left(capMs = LEFT_CAP_MS): Promise<void> {
    const until = performance.now() + capMs;
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const wait = until - performance.now();
      if (this.pending === 0 || wait <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const at = this.idle.indexOf(wake);
          if (at >= 0) this.idle.splice(at, 1);
          resolve();
        }, wait);
        this.idle.push(wake);
      });
    }
  }
}
