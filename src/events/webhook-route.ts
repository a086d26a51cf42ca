// POST /webhooks/:connector/:connectionId — the URL a tenant registers at the provider for one
// connection — and POST /webhooks/:connector — one URL for the operator's whole app (HubSpot public
// apps, Stripe Connect platforms), whose events are routed by the account they name to every
// runtime connection of that account (connector.webhooks.accountSetting). The raw bytes are
// verified before anything parses them; the 2xx is sent only after the changes are durably queued. Status codes: 404 unknown connection (or no webhook secret configured), 413 body
// over 1 MiB, 401 bad or missing signature, 400 timestamp outside the tolerance or a body that is
// not the provider's event shape, 503 + Retry-After when the queue cannot confirm the write.
// Nothing is queued on any rejection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { publicBaseOf, readBody, sendJson } from '../inbound/respond.ts';
import type { GatewayServices } from '../context.ts';
import type { EventPipeline } from './pipeline.ts';
import type { QueuedChange } from './model.ts';
import type { ManagedConnection } from '../accounts/connections.ts';
import type { ComplianceEvent } from '../../connectors/sdk/types.ts';
import { actOnDelivery, type ComplianceScope } from './compliance.ts';

const RETRY_AFTER_SECONDS = 5;

export async function handleWebhook(req: IncomingMessage, res: ServerResponse, url: URL, services: GatewayServices, pipeline: EventPipeline): Promise<void> {
  const m = /^\/webhooks\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
  if (!m) return sendJson(res, 404, { error: 'expected /webhooks/<connector>[/<connection id>]' });
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'webhooks are delivered with POST' }, { allow: 'POST' });
  const connectorId = decodeURIComponent(m[1] as string);
  const connectionId = m[2] === undefined ? null : decodeURIComponent(m[2]);
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
  const maxBytes = services.config.limits.webhookMaxBodyBytes;
  const rawBody = await readBody(req, maxBytes);
  // One answer for every kind of unknown: the URL reveals nothing about other tenants' setup.
  if (!webhooks || !target || !secret) return sendJson(res, 404, { error: 'no webhook endpoint for this connector and connection' });
  if (rawBody === null) return sendJson(res, 413, { error: `body exceeds ${maxBytes} bytes` });

  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  // A handshake carries no change: answered before verification, nothing is queued.
  if (webhooks.isHandshake?.(rawBody, headers)) return sendJson(res, 200, { received: 0 });
  const { signatureHeader } = connector!.manifest.webhooks;
  if (signatureHeader && !headers[signatureHeader]) {
    services.log.warn({ connector: connectorId, connectionId, code: 'WEBHOOK_SIGNATURE_INVALID' }, 'webhook rejected: no signature header');
    return sendJson(res, 401, {
      error: `the request carries no ${signatureHeader} header: is a proxy stripping it, or is this URL registered for another provider?`,
      code: 'WEBHOOK_SIGNATURE_INVALID',
    });
  }
  const base = publicBaseOf(req, services.config.publicUrl);
  const verified = webhooks.verify({ rawBody, headers, url: new URL(req.url ?? '/', base).toString(), method: 'POST', secret, now: Date.now() });
  if (!verified.ok) {
    const stale = verified.error.code === 'WEBHOOK_TIMESTAMP_OUT_OF_RANGE';
    services.log.warn({ connector: connectorId, connectionId, code: verified.error.code }, 'webhook rejected');
    // A stale or future timestamp says which header and tolerance it was checked against (a clock to fix, or a replay).
    const { timestampHeader, toleranceSeconds } = connector!.manifest.webhooks;
    const clock = stale ? { timestampHeader: timestampHeader ?? signatureHeader, toleranceSeconds } : {};
    return sendJson(res, stale ? 400 : 401, { error: verified.error.message, code: verified.error.code, ...clock });
  }
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
  const events = webhooks.toEvents(rawBody, headers);
  if (!events.ok) return sendJson(res, 400, { error: events.error.message, code: events.error.code });

  const receivedAt = new Date().toISOString();
  let items: QueuedChange[];
  let unrouted = 0;
  try {
    if (target.kind === 'connection') {
      const { tenantId, connectionId: id, account } = target;
      const mine = account === null ? events.value : events.value.filter((change) => !change.account || change.account === account);
      unrouted = events.value.length - mine.length;
      items = mine.map((change) => ({ tenantId, connectionId: id, provider: connectorId, change, receivedAt }));
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
        // Only connections whose account the provider itself named (OAuth token response).
        const connections = (await found).filter((c) => c.status !== 'DISABLED' && (c.auth === 'OAUTH2' || c.auth === 'CLIENT_CREDENTIALS'));
        if (connections.length === 0) unrouted += 1;
        for (const c of connections) items.push({ tenantId: c.tenantId, connectionId: c.id, provider: connectorId, change, receivedAt });
      }
    }
    if (items.length) await pipeline.queue.enqueue(items);
  } catch (err) {
    services.log.error({ connector: connectorId, connectionId, err: String(err) }, 'webhook not acknowledged: the queue could not confirm the write');
    return sendJson(res, 503, { error: 'the event store is unavailable; retry later' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
  }
  if (unrouted) services.log.info({ connector: connectorId, unrouted }, 'webhook events for accounts without a connection here were dropped');
  return sendJson(res, 200, { received: events.value.length, ...(target.kind === 'app' || unrouted ? { routed: items.length, unrouted } : {}) });
}
