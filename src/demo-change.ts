// `npm run demo:change`: changes a HubSpot contact and a Stripe invoice in the running demo's
// emulators, which then send their real, signed webhooks to the gateway — so a subscription open
// in Apollo Sandbox or GraphiQL shows the changes arrive.
import { readFileSync } from 'node:fs';
import { DEMO_STATE_FILE, type DemoState } from './demo.ts';

async function call(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function main(): Promise<void> {
  let state: DemoState;
  try {
    state = JSON.parse(readFileSync(DEMO_STATE_FILE, 'utf8')) as DemoState;
  } catch {
    throw new Error(`no running demo found (${DEMO_STATE_FILE} is missing): start it with \`npm start\` first`);
  }
  const stamp = new Date().toISOString().slice(11, 19);
  const { hubspot, stripe } = state.emulators;
  if (hubspot) {
    const list = await call(`${hubspot.url}/crm/v3/objects/contacts?limit=1&properties=firstname,lastname`, { headers: { authorization: `Bearer ${hubspot.token}` } });
    const contact = (list.results as Array<{ id: string; properties: { lastname: string | null } }>)[0];
    if (contact) {
      await call(`${hubspot.url}/__emulator/records/contacts/${contact.id}`, { method: 'PATCH', body: JSON.stringify({ properties: { firstname: `Demo ${stamp}` } }) });
      console.log(`HubSpot: contact ${contact.id} renamed to "Demo ${stamp} ${contact.properties.lastname ?? ''}" → contactChanged`);
    }
  }
  if (stripe) {
    const list = await call(`${stripe.url}/v1/invoices?status=open&limit=1`, { headers: { authorization: `Bearer ${stripe.token}` } });
    const invoice = (list.data as Array<{ id: string; number: string | null }>)[0];
    if (invoice) {
      await call(`${stripe.url}/__emulator/records/invoices/${invoice.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'paid' }) });
      console.log(`Stripe: invoice ${invoice.number ?? invoice.id} paid → invoiceChanged`);
    } else console.log('Stripe: no open invoice left to pay');
  }
  console.log(`\nWatch them with, in Sandbox or GraphiQL (${state.gateway}):\n  subscription { contactChanged { type contact { name } } }\n  subscription { invoiceChanged { type invoice { number status } } }`);
}

main().catch((err: unknown) => {
  console.error(`demo:change: ${(err as Error).message}`);
  process.exit(1);
});
