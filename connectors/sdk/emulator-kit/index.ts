// The emulator kit: what every provider emulator shares, so that an emulator is only its routes
// and data. The server base (../emulator.ts: routing, counting, faults, latency), rate windows,
// signed webhook delivery with retries, OAuth grant bookkeeping (../oauth-emulator.ts) and the
// admin API below.
//
// Admin API — the wire contract, the same for every emulator. Paths under /__emulator; JSON
// bodies; no credentials; admin calls are never counted, faulted or rate limited.
//
//   GET    /requests                       200 {total, byOperation}   provider requests since the last reset
//   DELETE /requests                       204                        forget them
//   POST   /faults       FaultSpec         201 the spec               inject a fault (status|timeout|malformed|reset|latency)
//   DELETE /faults                         204                        clear every fault
//   PUT    /latency      {ms}              200 {ms}                   latency added to every provider request
//   POST   /reset                          204                        clear transient state: request log, faults, latency
//                                                                    (back to its start value), rate windows, webhook
//                                                                    delivery log, OAuth grant log (records, tokens and the
//                                                                    webhook target stay)
//   POST   /records/:type  {fields}        201 record                 create, in the provider's shape (webhooks follow)
//   PATCH  /records/:type/:id {fields}     200 record                 update
//   DELETE /records/:type/:id              200 record as deleted      delete (Stripe's deleted stub) or archive (HubSpot)
//   GET    /webhook                        200 {target, state, deliveries}
//   PUT    /webhook      {url, secret, retryDelaysMs?, maxConcurrentRequests?}
//                                          200 {target, state}        set the target (the secret is never echoed)
//   DELETE /webhook                        204                        remove it; undelivered work is cancelled
//   GET    /oauth                          200 {...state, grants}     token-endpoint log and counts
//   PUT    /oauth        switches          200 state                  rotateRefreshTokens, expireAllAccessTokens, …
//
// Errors: 400 bad body or refused change, 404 unknown route, record type or id, 405 known path with
// another method; body {"error": "bad_request" | "not_found" | "method_not_allowed", "message": "…"}.
// `{fields}` is the provider's: HubSpot {properties, associations?}, Stripe the object's fields.
export { ADMIN_PREFIX, EmulatorAdminError, adminBody, type AdminOAuth, type AdminRecords, type AdminWebhooks, type ProviderAdmin } from './admin.ts';
export { DAY_MS, RateWindows, type RateDecision, type RateWindow } from './rate-windows.ts';
export {
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  DEFAULT_RETRY_DELAYS_MS,
  WebhookSender,
  webhookHandle,
  type EmulatorWebhookHandle,
  type WebhookAttempt,
  type WebhookScheme,
  type WebhookSenderState,
  type WebhookTarget,
  type WebhookTargetView,
} from './webhook-sender.ts';
