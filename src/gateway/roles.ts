// Which parts of the gateway one process runs (SWITCHBOARD_ROLES), so intake, processing and
// fan-out scale separately on machines sharing one Redis. Default: every role in one process.
//   api            POST/GET /graphql, /graphiql, /connect/*
//   webhooks       POST /webhooks/*: verify, then durably queue (nothing is processed here)
//   workers        the event queue's consumers: refetch, version check, cache refresh, change log
//   subscriptions  graphql-ws on /graphql: tails the change log and fans out to sockets
//   pollers        polled connections (one leader per connection across replicas)
// /healthz, /readyz and /metrics are served by every process whatever its roles.
export const ROLES = ['api', 'webhooks', 'workers', 'subscriptions', 'pollers'] as const;
export type Role = (typeof ROLES)[number];

export const ALL_ROLES: ReadonlySet<Role> = new Set(ROLES);

const namesIn = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

/** The names in a SWITCHBOARD_ROLES value that are not roles (parseEnv refuses them). */
export function unknownRoles(text: string | undefined): string[] {
  return namesIn(text).filter((n) => !(ROLES as readonly string[]).includes(n));
}

/** `api,webhooks` → the set; unset or empty → every role. Throws on an unknown name. */
export function parseRoles(text: string | undefined): ReadonlySet<Role> {
  const unknown = unknownRoles(text);
  if (unknown.length) throw new RangeError(`unknown role ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${ROLES.join(', ')})`);
  const names = namesIn(text) as Role[];
  return names.length ? new Set(names) : ALL_ROLES;
}

/** Whether this process runs `role` (a config without roles runs them all). */
export const runs = (roles: ReadonlySet<Role> | undefined, role: Role): boolean => !roles || roles.has(role);

/** What a split deployment needs that one process does not: a queue and log the processes share. */
export function roleProblems(roles: ReadonlySet<Role> | undefined, redisUrl: string | null): string[] {
  if (!roles || ROLES.every((r) => roles.has(r)) || redisUrl) return [];
  return [
    `SWITCHBOARD_ROLES=${[...roles].join(',')} needs REDIS_URL: without Redis the event queue and change log live in this process only, so the roles it does not run would never see its events`,
  ];
}
