// The example client against a running gateway (start the demo with `npm start`, copy the key it
// prints): SWITCHBOARD_API_KEY=… npm run example:client. It prints a page of contacts, walks every
// invoice to total the open amounts per currency, then follows contact changes (run
// `npm run demo:change` in another shell) until Ctrl-C, resuming after any reconnect.
import WebSocket from 'ws';
import { followChanges, httpClient, query, walk } from './client.ts';
import { ChangeCursor, ContactChanges, ContactsPage, InvoicesPage } from './operations.ts';
import { addDecimal } from './money.ts';

const url = process.env.SWITCHBOARD_URL ?? 'http://localhost:4000/graphql';
const apiKey = process.env.SWITCHBOARD_API_KEY;
if (!apiKey) {
  console.error('Set SWITCHBOARD_API_KEY to a tenant key (`npm start` prints the demo tenant key).');
  process.exit(2);
}

const client = httpClient({ url, apiKey });

const { data } = await query(client, ContactsPage, { first: 5 });
for (const c of data.contacts.nodes) console.log(`${c.source.provider.padEnd(12)} ${c.name ?? '(no name)'} <${c.emails[0]?.address ?? '-'}>`);

const open = new Map<string, string>();
let count = 0;
for await (const invoice of walk(client, InvoicesPage, { first: 100 }, (d) => d.invoices)) {
  count++;
  if (invoice.status === 'OPEN' && invoice.total) open.set(invoice.total.currency, addDecimal(open.get(invoice.total.currency) ?? '0', invoice.total.amount));
}
console.log(`\n${count} invoices; open totals: ${[...open].map(([currency, amount]) => `${amount} ${currency}`).join(', ') || 'none'}`);

const { data: cursor } = await query(client, ChangeCursor, {});
console.log('\nFollowing contact changes (Ctrl-C to stop)…');
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
for await (const change of followChanges({
  url,
  apiKey,
  document: ContactChanges,
  variables: { after: cursor.changeCursor },
  cursorOf: (d) => d.contactChanged.cursor,
  webSocketImpl: WebSocket,
  signal: stop.signal,
})) {
  const c = change.contactChanged;
  console.log(`${c.type.padEnd(8)} ${c.source.provider.padEnd(12)} ${c.contact?.name ?? c.id}`);
}
