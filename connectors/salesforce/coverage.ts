// Which normalized fields the Salesforce connector fills, and from which sObject field
// (mappers.ts: Contact → Contact, Order → Order). Checked against the mapper's output on the
// emulator's data by the conformance suite.
import { always, NEVER, whenPresent as present, type CoverageDeclaration } from '../sdk/coverage.ts';

export const coverage = {
  Contact: {
    firstName: present('FirstName'),
    lastName: always('LastName'),
    name: always('Name'),
    jobTitle: present('Title'),
    // The account is a separate object (AccountId is in customFields).
    companyName: NEVER,
    emails: present('Email'),
    phones: present('Phone, MobilePhone'),
    addresses: present('MailingStreet, MailingCity, …'),
    tags: NEVER,
    customFields: present('AccountId, Salutation'),
    createdAt: always('CreatedDate'),
    updatedAt: always('LastModifiedDate'),
  },
  Order: {
    number: always('OrderNumber'),
    status: always('Status, StatusCode'),
    statusRaw: always('Status'),
    paymentStatus: NEVER,
    paymentStatusRaw: NEVER,
    fulfillmentStatus: NEVER,
    fulfillmentStatusRaw: NEVER,
    customer: present('BillToContactId'),
    customerEmail: NEVER,
    customerName: NEVER,
    currency: present('CurrencyIsoCode (else the org currency)'),
    lineItems: present('OrderItems'),
    subtotal: NEVER,
    shipping: NEVER,
    tax: NEVER,
    discount: NEVER,
    total: present('TotalAmount'),
    refunded: NEVER,
    billingAddress: present('BillingStreet, BillingCity, …'),
    shippingAddress: present('ShippingStreet, ShippingCity, …'),
    placedAt: always('ActivatedDate, EffectiveDate'),
    createdAt: always('CreatedDate'),
    updatedAt: always('LastModifiedDate'),
  },
} satisfies CoverageDeclaration;
