// POST /webhooks/:connector/:connectionId — the URL a tenant registers at the provider for one
// connection — and POST /webhooks/:connector — one URL for the operator's whole app (HubSpot public
// apps, Stripe Connect platforms), whose events are routed by the account they name to every
// runtime connection of that account (connector.webhooks.accountSetting). The raw bytes are
// verified before anything parses them; the 2xx is sent only after the changes are durably queued.
// Status codes: 404 unknown connector (or, for the app URL, none configured), 413 body over 1 MiB,
// 401 bad or missing signature — and for a connection id that does not exist here (or belongs to
// another connector, or has no webhook secret): the body is verified against a random secret, so
// the answer is exactly the one a wrong signature on an existing connection gets and the URL tells
// nobody which connection ids exist —, 400 a malformed path, a timestamp outside the tolerance or
// a body that is not the provider's event shape, 503 + Retry-After when the queue cannot confirm
// the write. Nothing is queued on any rejection.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { publicBaseOf, readBody, sendJson } from '../inbound/respond.ts';
import type { GatewayServices } from '../context.ts';
import type { EventPipeline } from './pipeline.ts';
import type { QueuedChange } from './model.ts';
import type { ManagedConnection } from '../accounts/connections.ts';
import type { ChangeEvent, ComplianceEvent, WebhookVerifyInput } from '../../connectors/sdk/types.ts';
import { actOnDelivery, type ComplianceScope } from './compliance.ts';

const RETRY_AFTER_SECONDS = 5;

/**
 * A secret nobody holds, shaped like the ones configured for this connector (same `<letters>_`
 * prefix and length, random characters): verifiers that comment on a secret's shape (a missing
 * `whsec_` prefix, say) then say the same thing for an unknown connection as for a real one.
 */
async function decoySecret(services: GatewayServices, connectorId: string): Promise<string> {
  let sample = await services.credentials.appWebhookSecret(connectorId).catch(() => null);
  for (const t of services.config.tenants) {
    if (sample) break;
    const c = t.connections.find((conn) => conn.provider === connectorId && conn.webhookSecret);
    if (c) sample = await services.credentials.webhookSecret(c).catch(() => null);
  }
  const shape = sample?.trim() ?? '';
  const prefix = /^[A-Za-z]+_/.exec(shape)?.[0] ?? '';
  const length = Math.max(32, shape.length - prefix.length);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * What a verifier is given. `url`, the URL as the provider called it, is built only when read: only
 * HubSpot v3 signs it. A class with the getter on its prototype, not an object literal with a
 * getter: building the literal per request cost the intake process 15–23 µs of CPU per webhook and
 * doubled the length of its young-generation collections (docs/benchmarks.md, "Intake, session 6").
 */
class VerifyInput implements WebhookVerifyInput {
  readonly method = 'POST';
  readonly now = Date.now();

  readonly #req: IncomingMessage;
  readonly #publicUrl: string | undefined;

  constructor(
    readonly rawBody: Buffer,
    readonly headers: Record<string, string | undefined>,
    readonly secret: string,
    req: IncomingMessage,
    publicUrl: string | undefined,
  ) {
    this.#req = req;
    this.#publicUrl = publicUrl;
  }

  get url(): string {
    return new URL(this.#req.url ?? '/', publicBaseOf(this.#req, this.#publicUrl)).toString();
  }
}

export async function handleWebhook(req: IncomingMessage, res: ServerResponse, url: URL, services: GatewayServices, pipeline: EventPipeline): Promise<void> {
  const m = /^\/webhooks\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  let named: string;
  let connectionId: string | null;
  try {
    named = m ? decodeURIComponent(m[1] as string) : '';
    connectionId = m?.[2] === undefined ? null : decodeURIComponent(m[2]);
  } catch {
    services.metrics.webhooksReceived.inc({ connector: 'unknown' });
    services.metrics.webhooksRejected.inc({ connector: 'unknown', reason: 'bad_path' });
    return sendJson(res, 400, { error: 'the webhook path is not validly percent-encoded', code: 'BAD_REQUEST' });
  }
  // Metrics label: a registered connector's id, never a path segment an outsider chose.
  const label = services.connectors.has(named) ? named : 'unknown';
  services.metrics.webhooksReceived.inc({ connector: label });
  const rejected = (reason: string) => services.metrics.webhooksRejected.inc({ connector: label, reason });
  if (!m) {
    rejected('no_endpoint');
    return sendJson(res, 404, { error: 'expected /webhooks/<connector>[/<connection id>]' });
  }
  if (req.method !== 'POST') {
    rejected('method');
    return sendJson(res, 405, { error: 'webhooks are delivered with POST' }, { allow: 'POST' });
  }
  const connectorId = named;
  const connector = services.connectors.get(connectorId);
  // A connector whose changes come only from polling serves no webhook URL.
  const webhooks = connector?.manifest.events?.source === 'polling' ? undefined : connector?.webhooks;

  // Who the body is for, and the secret it must be signed with.
  let target: { kind: 'connection'; tenantId: string; connectionId: string; account: string | null } | { kind: 'app'; accountSetting: string } | null = null;
  let secret: string | null = null;
  if (webhooks && connectionId !== null) {
    const owner = await services.directory.ownerOf(connectionId);
    if (owner && owner.connection.provider === connectorId) {
      secret = await services.credentials.webhookSecret(owner.connection);
      // A runtime connection's URL is verified with the app-wide secret, so the events must also
      // name this connection's own account (learnt from the provider when it connected).
      const own = webhooks.accountSetting && owner.connection.credentials.type === 'vault' ? owner.connection.settings[webhooks.accountSetting] : undefined;
      target = { kind: 'connection', tenantId: owner.tenant.id, connectionId, account: typeof own === 'string' ? own : null };
    }
  } else if (webhooks?.accountSetting) {
    secret = await services.credentials.appWebhookSecret(connectorId);
    if (secret) target = { kind: 'app', accountSetting: webhooks.accountSetting };
  }
  // A connection URL that leads nowhere is verified against a secret nobody has: it fails exactly
  // like a wrong signature, and nothing past verification is reached (no target).
  const unknownConnection = Boolean(webhooks && connectionId !== null && (!target || !secret));
  if (unknownConnection) {
    secret = await decoySecret(services, connectorId);
    target = null;
  }
  const maxBytes = services.config.limits.webhookMaxBodyBytes;
  const rawBody = await readBody(req, maxBytes);
  if (!webhooks || !secret || (!target && !unknownConnection)) {
    rejected('no_endpoint');
    return sendJson(res, 404, { error: 'no webhook endpoint for this connector' });
  }
  if (rawBody === null) {
    rejected('too_large');
    return sendJson(res, 413, { error: `body exceeds ${maxBytes} bytes` });
  }

  // Node gives header names lowercased, and a string per header except set-cookie (always an
  // array; other repeated headers are joined or dropped): the object is used as it is unless that
  // array must be joined.
  let headers = req.headers as Record<string, string | undefined>;
  if (req.headers['set-cookie'] !== undefined) {
    headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  // A handshake carries no change: answered before verification, nothing is queued.
  if (webhooks.isHandshake?.(rawBody, headers)) return sendJson(res, 200, { received: 0 });
  const { signatureHeader } = connector!.manifest.webhooks;
  if (signatureHeader && !headers[signatureHeader]) {
    services.log.warn({ connector: connectorId, connectionId, code: 'WEBHOOK_SIGNATURE_INVALID' }, 'webhook rejected: no signature header');
    rejected('no_signature');
    return sendJson(res, 401, {
      error: `the request carries no ${signatureHeader} header: is a proxy stripping it, or is this URL registered for another provider?`,
      code: 'WEBHOOK_SIGNATURE_INVALID',
    });
  }
  const verified = webhooks.verify(new VerifyInput(rawBody, headers, secret, req, services.config.publicUrl));
  if (!verified.ok) {
    const stale = verified.error.code === 'WEBHOOK_TIMESTAMP_OUT_OF_RANGE';
    services.log.warn({ connector: connectorId, connectionId, code: verified.error.code }, 'webhook rejected');
    rejected(stale ? 'timestamp_out_of_range' : 'signature_invalid');
    // A stale or future timestamp says which header and tolerance it was checked against (a clock to fix, or a replay).
    const { timestampHeader, toleranceSeconds } = connector!.manifest.webhooks;
    const clock = stale ? { timestampHeader: timestampHeader ?? signatureHeader, toleranceSeconds } : {};
    return sendJson(res, stale ? 400 : 401, { error: verified.error.message, code: verified.error.code, ...clock });
  }
  // Unreachable short of guessing a random 256-bit secret; answered like any other bad signature.
  if (!target) return sendJson(res, 401, { error: 'the signature does not match', code: 'WEBHOOK_SIGNATURE_INVALID' });
  // Privacy requests (redact, data request) are acted on before the answer: a failure is a 503 the provider retries.
  const privacy = webhooks.compliance?.(rawBody, headers);
  if (privacy && !privacy.ok) return sendJson(res, 400, { error: privacy.error.message, code: privacy.error.code });
  if (privacy?.value.length) {
    const scopesOf = async (e: ComplianceEvent): Promise<ComplianceScope[]> => {
      if (target.kind === 'connection')
        return target.account === null || !e.account || e.account === target.account
          ? [{ tenantId: target.tenantId, connectionId: target.connectionId, provider: connectorId }]
          : [];
      const connections = e.account ? await services.connections.bySetting(connectorId, target.accountSetting, e.account) : [];
      return connections.map((c) => ({ tenantId: c.tenantId, connectionId: c.id, provider: connectorId }));
    };
    try {
      const acted = await actOnDelivery(pipeline.compliance, privacy.value, scopesOf);
      services.log.info({ connector: connectorId, connectionId, requests: privacy.value.map((e) => e.kind), acted }, 'privacy request acted on');
      return sendJson(res, 200, { received: privacy.value.length, acted });
    } catch (err) {
      services.log.error({ connector: connectorId, connectionId, err: String(err) }, 'privacy request not acknowledged: a store failed');
      return sendJson(res, 503, { error: 'the privacy request could not be completed; retry later' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
    }
  }
  // Single-event deliveries of providers that send the whole record are stored as received and
  // mapped by a worker: the answer needs only ids, accounts and the count.
  // (Several changes in one body would each carry it: those are mapped here.)
  let events = webhooks.toEventsWithoutModels?.(rawBody) ?? null;
  let body: Buffer | undefined;
  if (!events || (events.ok && events.value.length > 1)) events = webhooks.toEvents(rawBody, headers);
  else if (events.ok && events.value.length === 1) body = rawBody;
  if (!events.ok) {
    rejected('bad_payload');
    return sendJson(res, 400, { error: events.error.message, code: events.error.code });
  }
  // Verified: the connection's webhooks arrive (health), whatever the body holds.
  if (target.kind === 'connection') services.health.recordWebhook(target.tenantId, target.connectionId);
  // The worker's span continues this request's trace (undefined when tracing is off).
  const trace = services.tracing.inject();

  const receivedAt = new Date().toISOString();
  /** One change as queued for one connection (the app URL may queue the same change for several). */
  const queued = (tenantId: string, connectionId: string, change: ChangeEvent): QueuedChange => {
    const item: QueuedChange = { tenantId, connectionId, provider: connectorId, change, receivedAt };
    if (body !== undefined) item.body = body;
    if (trace) item.trace = trace;
    return item;
  };
  let items: QueuedChange[];
  let unrouted = 0;
  try {
    if (target.kind === 'connection') {
      const { tenantId, connectionId: id, account } = target;
      const mine = account === null ? events.value : events.value.filter((change) => !change.account || change.account === account);
      unrouted = events.value.length - mine.length;
      items = mine.map((change) => queued(tenantId, id, change));
    } else {
      // Every runtime connection of the named account gets the event (two tenants may have
      // connected the same account); events naming no known account are acknowledged and dropped.
      items = [];
      const byAccount = new Map<string, Promise<ManagedConnection[]>>();
      for (const change of events.value) {
        const account = change.account;
        if (!account) {
          unrouted += 1;
          continue;
        }
        let found = byAccount.get(account);
        if (!found) byAccount.set(account, (found = services.connections.bySetting(connectorId, target.accountSetting, account)));
        // Only connections whose account the provider named after its owner consented (OAuth
        // authorization code). A client-credentials token names the operator app's own account,
        // which any allowed tenant can obtain: routing by it would hand one tenant another's events.
        const connections = (await found).filter((c) => c.status !== 'DISABLED' && c.auth === 'OAUTH2');
        if (connections.length === 0) unrouted += 1;
        for (const c of connections) {
          items.push(queued(c.tenantId, c.id, change));
          services.health.recordWebhook(c.tenantId, c.id);
        }
      }
    }
    if (items.length) await pipeline.queue.enqueue(items);
  } catch (err) {
    services.log.error({ connector: connectorId, connectionId, err: String(err) }, 'webhook not acknowledged: the queue could not confirm the write');
    rejected('queue_unavailable');
    return sendJson(res, 503, { error: 'the event store is unavailable; retry later' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
  }
  services.metrics.webhookEventsQueued.inc({ connector: connectorId }, items.length);
  if (unrouted) services.log.info({ connector: connectorId, unrouted }, 'webhook events for accounts without a connection here were dropped');
  if (connector!.manifest.webhooks.acknowledge === 'empty') {
    res.writeHead(200, { 'content-length': '0' });
    res.end();
    return;
  }
  return sendJson(res, 200, { received: events.value.length, ...(target.kind === 'app' || unrouted ? { routed: items.length, unrouted } : {}) });
}
