// Rate windows for provider emulators: several windows per key (HubSpot's 10-second burst plus a
// daily cap, Stripe's one-second window), taken together so that a request one window refuses is
// counted by none. Rolling windows remember each hit; fixed windows (a UTC day) only count and
// start afresh at their boundary. The provider's adapter chooses the key (a token, an installing
// account), the windows, and turns the outcome into its own headers and 429 body.

export interface RateWindow {
  /** The provider's name for it (HubSpot's policyName, e.g. 'TEN_SECONDLY_ROLLING'). */
  name: string;
  max: number;
  intervalMs: number;
  /** rolling (default): the last intervalMs; fixed: epoch-aligned periods of intervalMs (UTC days). */
  kind?: 'rolling' | 'fixed';
}

export type RateDecision = { allowed: true } | { allowed: false; window: RateWindow; retryAfterMs: number };

/** Hits of one rolling window, oldest first, with a moving head instead of re-slicing per hit. */
class RollingCounter {
  private hits: number[] = [];
  private head = 0;

  constructor(private readonly window: RateWindow) {}

  used(now: number): number {
    const from = now - this.window.intervalMs;
    while (this.head < this.hits.length && (this.hits[this.head] ?? 0) <= from) this.head++;
    if (this.head > 1024 && this.head * 2 > this.hits.length) {
      this.hits = this.hits.slice(this.head);
      this.head = 0;
    }
    return this.hits.length - this.head;
  }

  add(now: number): void {
    this.hits.push(now);
  }

  retryAfterMs(now: number): number {
    const oldest = this.hits[this.head] ?? now;
    return Math.max(0, oldest + this.window.intervalMs - now);
  }
}

class FixedCounter {
  private period = -1;
  private count = 0;

  constructor(private readonly window: RateWindow) {}

  used(now: number): number {
    const period = Math.floor(now / this.window.intervalMs);
    if (period !== this.period) {
      this.period = period;
      this.count = 0;
    }
    return this.count;
  }

  add(): void {
    this.count += 1;
  }

  retryAfterMs(now: number): number {
    return (this.period + 1) * this.window.intervalMs - now;
  }
}

type Counter = RollingCounter | FixedCounter;

export class RateWindows {
  private counters = new Map<string, Counter>();

  /** Counts one request against every window of `key` if all have room; else names the one that refused. */
  take(key: string, windows: readonly RateWindow[], now = Date.now()): RateDecision {
    const counters = windows.map((w) => this.counter(key, w));
    for (let i = 0; i < windows.length; i++) {
      const window = windows[i] as RateWindow;
      const counter = counters[i] as Counter;
      if (counter.used(now) >= window.max) return { allowed: false, window, retryAfterMs: counter.retryAfterMs(now) };
    }
    for (const c of counters) c.add(now);
    return { allowed: true };
  }

  /** Requests `key` may still make in `window` now. */
  remaining(key: string, window: RateWindow, now = Date.now()): number {
    return Math.max(0, window.max - this.counter(key, window).used(now));
  }

  /** Forgets every hit (POST /__emulator/reset). */
  reset(): void {
    this.counters = new Map();
  }

  private counter(key: string, window: RateWindow): Counter {
    const id = `${window.name}\u0000${window.max}/${window.intervalMs}\u0000${key}`;
    let counter = this.counters.get(id);
    if (!counter) {
      counter = window.kind === 'fixed' ? new FixedCounter(window) : new RollingCounter(window);
      this.counters.set(id, counter);
    }
    return counter;
  }
}

/** One UTC day, for daily windows. */
export const DAY_MS = 86_400_000;
