// The shared conformance suite against the QuickBooks emulator: every group runs, the webhook
// group with Intuit's signer (base64 HMAC-SHA256 of the raw body with the verifier token).
import { runConformanceSuite } from '../sdk/testing.ts';
import { EMULATOR_REALM_ID, startEmulator } from './emulator/index.ts';
import { HOME_CURRENCY_SETTING, quickbooks } from './index.ts';
import { mapCustomer, mapInvoice, mapSalesReceipt } from './mappers.ts';
import type { QboCustomer, QboInvoice, QboPayment, QboSalesReceipt } from './qbo-types.ts';
import { TOKEN, VERIFIER_TOKEN, fixture } from './test-support.ts';
import { REALM_SETTING, SIGNATURE_HEADER, signIntuitPayload } from './webhooks.ts';

const options = { homeCurrency: 'USD' };
const payments = [fixture<{ Payment: QboPayment }>('payment').Payment, fixture<{ Payment: QboPayment }>('payment-foreign').Payment];

// Ids in the seeded company (seed 7, the suite's): customers from 1, invoices from 1001, receipts from 5001.
runConformanceSuite({
  connector: quickbooks,
  startEmulator,
  token: TOKEN,
  settings: { [REALM_SETTING]: EMULATOR_REALM_ID, [HOME_CURRENCY_SETTING]: 'USD' },
  emulatorOptions: { scale: { contacts: 25, invoices: 40, orders: 20 } },
  knownIds: { Contact: ['1', '2', '3', '4'], Invoice: ['1001', '1002', '1003', '1004'], Order: ['5001', '5002', '5003'] },
  missingId: { Contact: '99999', Invoice: '99999', Order: '99999' },
  // Invoices: the invoice query plus one query of the payments they link.
  callsPerBatch: { Invoice: 2 },
  fixtures: [
    { name: 'customer', entity: 'Contact', raw: fixture<{ Customer: QboCustomer }>('customer').Customer, map: (raw) => mapCustomer(raw as QboCustomer) },
    ...['invoice-partially-paid', 'invoice-foreign-paid', 'invoice-voided'].map((name) => ({
      name,
      entity: 'Invoice' as const,
      raw: fixture<{ Invoice: QboInvoice }>(name).Invoice,
      map: (raw: unknown) => mapInvoice(raw as QboInvoice, options, payments),
    })),
    {
      name: 'salesreceipt',
      entity: 'Order',
      raw: fixture<{ SalesReceipt: QboSalesReceipt }>('salesreceipt').SalesReceipt,
      map: (raw) => mapSalesReceipt(raw as QboSalesReceipt, options),
    },
  ],
  groups: {
    webhooks: {
      secret: VERIFIER_TOKEN,
      delivery: {
        body: JSON.stringify({
          eventNotifications: [
            {
              realmId: EMULATOR_REALM_ID,
              dataChangeEvent: { entities: [{ name: 'Invoice', id: '1001', operation: 'Update', lastUpdated: '2026-03-01T10:00:00.000Z' }] },
            },
          ],
        }),
      },
      sign: ({ body, secret }) => ({ [SIGNATURE_HEADER]: signIntuitPayload(body, secret) }),
    },
  },
});
