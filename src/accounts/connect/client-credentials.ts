// Connecting with the client-credentials grant: the operator's own app, with no account owner
// consenting, so only for tenants the operator allows and only with the scopes it allows them.
import * as client from 'openid-client';
import { ConnectorError } from '../../../connectors/sdk/errors.ts';
import { forbidden } from '../../callers/scopes.ts';
import type { Tenant } from '../../callers/tenants.ts';
import { badUserInput } from '../../errors.ts';
import type { ManagedConnection } from '../connections.ts';
import { storeGrant } from './grant-store.ts';
import { oauthErrorCode, type ConnectShared } from './shared.ts';

export async function connectClientCredentials(
  shared: ConnectShared,
  tenant: Tenant,
  connectorId: string,
  scopes: string[] | null,
): Promise<ManagedConnection> {
  const connector = shared.connector(connectorId);
  const mode = connector.manifest.auth.oauth2;
  if (!mode?.grants.includes('client_credentials')) throw badUserInput(`${connector.manifest.displayName} offers no client-credentials grant`, 'connector');
  const app = shared.deps.apps.oauthApp(connectorId);
  if (!app) throw badUserInput(`no OAuth app is registered for ${connector.manifest.displayName} on this gateway`, 'connector');
  // The tenants file says which tenants may, with which scopes (clientCredentials).
  const allowed = tenant.clientCredentials?.[connectorId];
  if (!allowed)
    throw forbidden(
      `this tenant may not connect ${connector.manifest.displayName} with the gateway's client-credentials app (the operator allows it per tenant: clientCredentials.${connectorId} in the tenants file)`,
    );
  const requested = scopes ?? allowed.scopes;
  const extra = requested.filter((s) => !allowed.scopes.includes(s));
  if (extra.length)
    throw forbidden(`scopes not allowed for this tenant's client-credentials connections: ${extra.join(', ')} (allowed: ${allowed.scopes.join(', ')})`);
  let tokens: client.TokenEndpointResponse;
  try {
    tokens = await client.clientCredentialsGrant(shared.oauthConfig(app), requested.length ? { scope: requested.join(app.mode.scopeSeparator) } : {});
  } catch (err) {
    const code = err instanceof client.ResponseBodyError ? oauthErrorCode(err.error, 'invalid_response') : null;
    if (code) throw badUserInput(`the provider refused the client-credentials grant (${code})`, 'scopes');
    throw new ConnectorError('UPSTREAM_UNAVAILABLE', `${connector.manifest.displayName}'s token endpoint could not be reached`);
  }
  const [first] = await storeGrant(shared, {
    tenantId: tenant.id,
    connectorId,
    app,
    tokens,
    params: {},
    callbackParams: {},
    reconnect: null,
    auth: 'CLIENT_CREDENTIALS',
    requestedScopes: requested,
  });
  return first as ManagedConnection;
}
