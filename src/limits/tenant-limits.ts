// A tenant's effective limits: the gateway's (config.limits, DEFAULT_LIMITS) with the tenant's own
// overrides from the tenants file (`limits`) on top. Read per request, so limits changed on a
// running gateway apply to the next request.
import type { GatewayConfig, GatewayLimits, TenantLimitKey } from '../config.ts';

type Overrides = Partial<Record<TenantLimitKey, number>>;
const byConfig = new WeakMap<GatewayConfig, Map<string, Overrides>>();

export function limitsFor(config: GatewayConfig, tenantId: string): GatewayLimits {
  let overrides = byConfig.get(config);
  if (!overrides) {
    overrides = new Map(config.tenants.filter((t) => t.limits).map((t) => [t.id, t.limits as Overrides]));
    byConfig.set(config, overrides);
  }
  const own = overrides.get(tenantId);
  if (!own) return config.limits;
  const merged = { ...config.limits };
  for (const [k, v] of Object.entries(own)) if (typeof v === 'number') merged[k as TenantLimitKey] = v;
  return merged;
}
