// QuickBooks Online's JSON shapes as the v3 Accounting API returns them (minor version 75), only
// the fields this connector and its emulator use. Amounts are JSON numbers in major units, dates
// `YYYY-MM-DD`, instants ISO-8601 with the company's offset (`2026-01-05T09:30:00-08:00`).
// Reference: ../../shared/providers/REFERENCE.md §5 and the README's "Facts" table.

export interface QboRef {
  value: string;
  name?: string;
}
export interface QboMetaData {
  CreateTime?: string;
  LastUpdatedTime?: string;
}
export interface QboAddress {
  Id?: string;
  Line1?: string;
  Line2?: string;
  Line3?: string;
  City?: string;
  CountrySubDivisionCode?: string;
  PostalCode?: string;
  Country?: string;
}

export interface QboCustomer {
  Id: string;
  SyncToken: string;
  DisplayName: string;
  Title?: string;
  GivenName?: string;
  MiddleName?: string;
  FamilyName?: string;
  Suffix?: string;
  CompanyName?: string;
  FullyQualifiedName?: string;
  PrimaryEmailAddr?: { Address?: string };
  PrimaryPhone?: { FreeFormNumber?: string };
  Mobile?: { FreeFormNumber?: string };
  Fax?: { FreeFormNumber?: string };
  AlternatePhone?: { FreeFormNumber?: string };
  WebAddr?: { URI?: string };
  BillAddr?: QboAddress;
  ShipAddr?: QboAddress;
  Notes?: string;
  Active?: boolean;
  Balance?: number;
  CurrencyRef?: QboRef;
  MetaData?: QboMetaData;
}

export interface QboLinkedTxn {
  TxnId: string;
  TxnType: string;
  TxnLineId?: string;
}

export interface QboLine {
  Id?: string;
  LineNum?: number;
  Description?: string;
  Amount?: number;
  DetailType: string;
  SalesItemLineDetail?: { ItemRef?: QboRef; Qty?: number; UnitPrice?: number; TaxCodeRef?: QboRef };
  DiscountLineDetail?: { PercentBased?: boolean; DiscountPercent?: number; DiscountAccountRef?: QboRef };
  GroupLineDetail?: { GroupItemRef?: QboRef; Quantity?: number; Line?: QboLine[] };
  SubTotalLineDetail?: Record<string, unknown>;
  LinkedTxn?: QboLinkedTxn[];
}

/** Invoice and SalesReceipt share these sales-transaction fields. */
export interface QboSalesTxn {
  Id: string;
  SyncToken: string;
  DocNumber?: string;
  TxnDate?: string;
  CustomerRef?: QboRef;
  CurrencyRef?: QboRef;
  ExchangeRate?: number;
  Line?: QboLine[];
  TxnTaxDetail?: { TotalTax?: number; TxnTaxCodeRef?: QboRef };
  TotalAmt?: number;
  HomeTotalAmt?: number;
  Balance?: number;
  BillAddr?: QboAddress;
  ShipAddr?: QboAddress;
  BillEmail?: { Address?: string };
  CustomerMemo?: { value?: string };
  PrivateNote?: string;
  LinkedTxn?: QboLinkedTxn[];
  MetaData?: QboMetaData;
}

export interface QboInvoice extends QboSalesTxn {
  DueDate?: string;
  SalesTermRef?: QboRef;
  EmailStatus?: string;
  PrintStatus?: string;
}

export interface QboSalesReceipt extends QboSalesTxn {
  PaymentMethodRef?: QboRef;
  DepositToAccountRef?: QboRef;
  PaymentRefNum?: string;
}

export interface QboPayment {
  Id: string;
  SyncToken: string;
  TxnDate?: string;
  CustomerRef?: QboRef;
  CurrencyRef?: QboRef;
  ExchangeRate?: number;
  TotalAmt?: number;
  UnappliedAmt?: number;
  PaymentMethodRef?: QboRef;
  PaymentRefNum?: string;
  /** Each line applies part of the payment to the transactions it links (invoices). */
  Line?: Array<{ Amount?: number; LinkedTxn?: QboLinkedTxn[] }>;
  MetaData?: QboMetaData;
}

/** One Error of a Fault; the API gateway's 401 uses lower-case keys (`fault.error[].message`). */
export interface QboFaultError {
  Message?: string;
  Detail?: string;
  code?: string;
  element?: string;
}
export interface QboFault {
  Error?: QboFaultError[];
  type?: string;
}

/** The entities the connector reads, by QuickBooks name. */
export type QboEntityName = 'Customer' | 'Invoice' | 'SalesReceipt' | 'Payment';
