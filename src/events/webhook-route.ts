// POST /webhooks/:connector/:connectionId — the URL a tenant registers at the provider. The raw
// bytes are verified before anything parses them; the 2xx is sent only after the changes are
// durably queued. Status codes: 404 unknown connection (or no webhook secret configured), 413 body
// over 1 MiB, 401 bad or missing signature, 400 timestamp outside the tolerance or a body that is
// not the provider's event shape, 503 + Retry-After when the queue cannot confirm the write.
// Nothing is queued on any rejection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http/respond.ts';
import type { GatewayServices } from '../context.ts';
import type { EventPipeline } from './pipeline.ts';

export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
const RETRY_AFTER_SECONDS = 5;

export async function handleWebhook(req: IncomingMessage, res: ServerResponse, url: URL, services: GatewayServices, pipeline: EventPipeline): Promise<void> {
  const m = /^\/webhooks\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!m) return sendJson(res, 404, { error: 'expected /webhooks/<connector>/<connection id>' });
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'webhooks are delivered with POST' }, { allow: 'POST' });
  const [connectorId, connectionId] = [decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string)];

  const owner = await services.directory.ownerOf(connectionId);
  const connector = services.connectors.get(connectorId);
  const secret = owner && connector?.webhooks && owner.connection.provider === connectorId ? await services.credentials.webhookSecret(owner.connection) : null;
  const rawBody = await readBody(req, WEBHOOK_MAX_BODY_BYTES);
  // One answer for every kind of unknown: the URL reveals nothing about other tenants' setup.
  if (!owner || !connector?.webhooks || !secret) return sendJson(res, 404, { error: 'no webhook endpoint for this connector and connection' });
  if (rawBody === null) return sendJson(res, 413, { error: `body exceeds ${WEBHOOK_MAX_BODY_BYTES} bytes` });

  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const base = services.config.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`;
  const verified = connector.webhooks.verify({ rawBody, headers, url: new URL(req.url ?? '/', base).toString(), method: 'POST', secret, now: Date.now() });
  if (!verified.ok) {
    const status = verified.error.code === 'WEBHOOK_TIMESTAMP_OUT_OF_RANGE' ? 400 : 401;
    services.log.warn({ connector: connectorId, connectionId, code: verified.error.code }, 'webhook rejected');
    return sendJson(res, status, { error: verified.error.message, code: verified.error.code });
  }
  const events = connector.webhooks.toEvents(rawBody);
  if (!events.ok) return sendJson(res, 400, { error: events.error.message, code: events.error.code });

  const receivedAt = new Date().toISOString();
  try {
    await pipeline.queue.enqueue(events.value.map((change) => ({ tenantId: owner.tenant.id, connectionId, provider: connectorId, change, receivedAt })));
  } catch (err) {
    services.log.error({ connector: connectorId, connectionId, err: String(err) }, 'webhook not acknowledged: the queue could not confirm the write');
    return sendJson(res, 503, { error: 'the event store is unavailable; retry later' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
  }
  return sendJson(res, 200, { received: events.value.length });
}
