// HubSpot's rate limits on the kit's rate windows (REFERENCE.md §1 Rate limits):
// - private-app tokens: a 10-second burst per app (190 on Professional) plus a daily cap, with
//   X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds and -Daily/-Daily-Remaining headers;
// - tokens of OAuth-installed apps: 110 per 10 s per installing account, no daily limit and no
//   daily headers; the window belongs to the account, so a refreshed token does not reset it;
// - CRM search: its own 5 per second, exempt from the burst window, answers without headers.
import type { EmulatorReply, EmulatorRequest } from '../../sdk/emulator.ts';
import { DAY_MS, RateWindows, type RateWindow } from '../../sdk/emulator-kit/index.ts';
import { correlationId, rateLimitBody, type RatePolicy } from './errors.ts';

export interface RateWindowOption {
  max: number;
  intervalMs: number;
}

export interface HubSpotRateOptions {
  privateApp: RateWindowOption;
  oauthApp: RateWindowOption;
  search: RateWindowOption | null;
  dailyLimit: number;
}

/** Who a request counts against: a private app's token, or the account an OAuth app is installed in. */
export type RateCaller = { kind: 'private-app'; token: string } | { kind: 'oauth-app'; clientId: string; portalId: number };

export const DEFAULT_PRIVATE_APP_RATE_LIMIT: RateWindowOption = { max: 190, intervalMs: 10_000 };
export const DEFAULT_OAUTH_APP_RATE_LIMIT: RateWindowOption = { max: 110, intervalMs: 10_000 };
export const DEFAULT_SEARCH_RATE_LIMIT: RateWindowOption = { max: 5, intervalMs: 1000 };
export const DEFAULT_DAILY_LIMIT = 625_000;

const window = (name: RatePolicy, w: RateWindowOption): RateWindow => ({ name, max: w.max, intervalMs: w.intervalMs });

export class HubSpotRateLimits {
  private readonly windows = new RateWindows();
  private readonly privateBurst: RateWindow;
  private readonly oauthBurst: RateWindow;
  private readonly search: RateWindow | null;
  private readonly daily: RateWindow;

  constructor(options: HubSpotRateOptions) {
    this.privateBurst = window('TEN_SECONDLY_ROLLING', options.privateApp);
    this.oauthBurst = window('TEN_SECONDLY_ROLLING', options.oauthApp);
    this.search = options.search ? window('SECONDLY', options.search) : null;
    this.daily = { name: 'DAILY', max: options.dailyLimit, intervalMs: DAY_MS, kind: 'fixed' };
  }

  /** Counts the request; a 429 reply when a window is full, else null. */
  take(req: EmulatorRequest, caller: RateCaller, search: boolean): EmulatorReply | null {
    const decision = this.windows.take(keyOf(caller), this.windowsFor(caller, search));
    if (decision.allowed) return null;
    return {
      status: 429,
      headers: { 'x-hubspot-correlation-id': correlationId(req), ...(search ? {} : this.headers(caller)) },
      body: rateLimitBody(req, decision.window.name as RatePolicy),
    };
  }

  /** The rate-limit headers of a (non-search) answer to this caller. */
  headers(caller: RateCaller): Record<string, string> {
    const key = keyOf(caller);
    const burst = this.burstOf(caller);
    const out: Record<string, string> = {
      'x-hubspot-ratelimit-max': String(burst.max),
      'x-hubspot-ratelimit-remaining': String(this.windows.remaining(key, burst)),
      'x-hubspot-ratelimit-interval-milliseconds': String(burst.intervalMs),
    };
    if (caller.kind === 'private-app') {
      out['x-hubspot-ratelimit-daily'] = String(this.daily.max);
      out['x-hubspot-ratelimit-daily-remaining'] = String(this.windows.remaining(key, this.daily));
    }
    return out;
  }

  reset(): void {
    this.windows.reset();
  }

  private burstOf(caller: RateCaller): RateWindow {
    return caller.kind === 'oauth-app' ? this.oauthBurst : this.privateBurst;
  }

  /** Daily first, so an exhausted day is reported as DAILY; OAuth apps have no daily window. */
  private windowsFor(caller: RateCaller, search: boolean): RateWindow[] {
    const daily = caller.kind === 'private-app' ? [this.daily] : [];
    if (search) return [...daily, ...(this.search ? [this.search] : [])];
    return [...daily, this.burstOf(caller)];
  }
}

function keyOf(caller: RateCaller): string {
  return caller.kind === 'private-app' ? `token:${caller.token}` : `account:${caller.portalId}:app:${caller.clientId}`;
}
