// Test helpers for the token-manager tests: drive the HubSpot emulator's OAuth endpoints directly,
// as a browser and an app registration would (no gateway in between).
import { createHash, randomBytes } from 'node:crypto';

export interface EmulatorApp {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

/** PUT /__emulator/oauth (expire tokens, switch rotation, revoke a refresh token). */
export async function emulatorOAuthAdmin(emulatorUrl: string, body: unknown): Promise<void> {
  const res = await fetch(`${emulatorUrl}/__emulator/oauth`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`PUT /__emulator/oauth answered ${res.status}`);
}

/** Authorization code + PKCE against the emulator: a real access/refresh token pair. */
export async function emulatorTokens(emulatorUrl: string, app: EmulatorApp): Promise<{ access_token: string; refresh_token: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({
    client_id: app.clientId,
    redirect_uri: app.redirectUris[0]!,
    scope: 'crm.objects.contacts.read',
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const auth = await fetch(`${emulatorUrl}/oauth/authorize?${q}`, { redirect: 'manual' });
  const code = new URL(auth.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const res = await fetch(`${emulatorUrl}/oauth/2026-03/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      redirect_uri: app.redirectUris[0]!,
      code,
      code_verifier: verifier,
    }),
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
  return (await res.json()) as { access_token: string; refresh_token: string };
}
