// The registry entry's demo change (`npm run demo:change`): it renames a contact of the demo
// organisation in the running emulator, which then sends Xero's signed CONTACT UPDATE webhook.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TENANT_SETTING } from './client.ts';
import { startEmulator, type XeroEmulatorHandle } from './emulator/index.ts';
import { xeroDemo } from './registration.ts';
import { signXeroPayload } from './webhooks.ts';

let emu: XeroEmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({ credentials: [xeroDemo.token], seed: 42, scale: { contacts: 5, invoices: 5 } });
});
afterAll(() => emu?.stop());

it('demo:change renames a contact of the demo organisation and Xero signs the webhook that follows', async () => {
  const received: Array<{ body: string; signature: string | undefined }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-xero-signature'] as string | undefined });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    emu.setWebhook({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, secret: xeroDemo.webhookSecret });
    const lines = await xeroDemo.change({ url: emu.url, token: xeroDemo.token });
    expect(lines[0]).toMatch(/^Xero: contact [0-9a-f-]{36} renamed to "Demo \d{2}:\d{2}:\d{2} .+" → contactChanged$/);
    await emu.waitForIdle();
    expect(received).toHaveLength(1);
    const { body, signature } = received[0]!;
    expect(signature).toBe(signXeroPayload(body, xeroDemo.webhookSecret));
    const event = (JSON.parse(body) as { events: Array<{ eventCategory: string; eventType: string; tenantId: string }> }).events[0];
    expect(event).toMatchObject({ eventCategory: 'CONTACT', eventType: 'UPDATE', tenantId: xeroDemo.settings[TENANT_SETTING] });
  } finally {
    emu.setWebhook(null);
    await new Promise<void>((r) => server.close(() => r()));
  }
});
