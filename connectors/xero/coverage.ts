// Which normalized fields the Xero connector fills, and from which Accounting API field
// (mappers.ts). Checked against the mapper's output on the emulator's data by the conformance suite.
import { always, NEVER, whenPresent as present, type CoverageDeclaration } from '../sdk/coverage.ts';

export const coverage = {
  Contact: {
    firstName: present('FirstName'),
    lastName: present('LastName'),
    name: always('Name'),
    jobTitle: NEVER,
    companyName: present('Name (when not the person)'),
    emails: present('EmailAddress, ContactPersons[].EmailAddress'),
    phones: present('Phones'),
    addresses: present('Addresses'),
    tags: present('IsCustomer, IsSupplier, ContactGroups'),
    customFields: present('ContactNumber, DefaultCurrency, …'),
    // Xero's contacts carry no creation time.
    createdAt: NEVER,
    updatedAt: always('UpdatedDateUTC'),
  },
  Invoice: {
    number: present('InvoiceNumber'),
    kind: always('Type (ACCREC, ACCPAY)'),
    status: always('Status'),
    statusRaw: always('Status'),
    contact: always('Contact.ContactID'),
    order: NEVER,
    issueDate: present('Date'),
    dueDate: present('DueDate'),
    paidAt: present('FullyPaidOnDate'),
    currency: always('CurrencyCode'),
    subtotal: always('SubTotal'),
    tax: always('TotalTax'),
    discount: present('TotalDiscount'),
    total: always('Total'),
    amountPaid: always('AmountPaid'),
    balance: always('AmountDue'),
    memo: present('Reference'),
    paymentTerms: NEVER,
    exchangeRate: present('CurrencyRate'),
    baseCurrency: present('Organisation.BaseCurrency'),
    payments: present('Payments'),
    lineItems: present('LineItems'),
    // Xero's invoices carry no creation time.
    createdAt: NEVER,
    updatedAt: always('UpdatedDateUTC'),
  },
} satisfies CoverageDeclaration;
