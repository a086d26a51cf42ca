/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null | undefined;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  Currency: { input: string; output: string; }
  Date: { input: string; output: string; }
  /**
   * Switchboard's unified schema: one shape for contacts, invoices and orders, whatever provider holds them.
   * Scalars come from graphql-scalars.
   */
  DateTime: { input: string; output: string; }
  EmailAddress: { input: string; output: string; }
  JSON: { input: unknown; output: unknown; }
};

export type AddressType =
  | 'BILLING'
  | 'MAILING'
  | 'OTHER'
  | 'SHIPPING';

export type ApiKeyScope =
  | 'admin'
  | 'read'
  /** Introspection and field suggestions (admin includes it). */
  | 'schema'
  | 'subscribe';

export type AuditLogFilter = {
  /** Only these actions (e.g. connection.disconnected, apiKey.created). */
  actions?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Only entries by this actor (key:<key id>, jwt:<subject>, system). */
  actor?: InputMaybe<Scalars['String']['input']>;
  /** Only entries at or after this time. */
  since?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only entries about this connection, key or dead letter. */
  target?: InputMaybe<Scalars['String']['input']>;
};

/** Whether a record came from the cache or straight from the provider in this request. */
export type CacheStatus =
  | 'HIT'
  | 'MISS';

export type ChangeFilter = {
  connectionId?: InputMaybe<Scalars['ID']['input']>;
  /** Only changes from this connector (e.g. "hubspot"). */
  provider?: InputMaybe<Scalars['String']['input']>;
  /** Only these kinds of change. */
  types?: InputMaybe<Array<ChangeType>>;
};

export type ChangeType =
  | 'CREATED'
  | 'DELETED'
  | 'UPDATED';

export type ConnectionAuthType =
  | 'API_KEY'
  | 'BASIC'
  | 'CLIENT_CREDENTIALS'
  /** Defined by the operator in the tenants file. */
  | 'CONFIGURED'
  | 'OAUTH2';

/** How a connection is doing, from what every replica saw (docs/operations.md, "Connection health"). */
export type ConnectionHealthStatus =
  /** Some calls fail (error rate of 10 % or more), or the last call failed while most succeed. */
  | 'DEGRADED'
  /** The last call failed and half or more failed over 5 minutes, or the provider refused the credentials (401/403). */
  | 'FAILING'
  /** Calls succeed (error rate under 10 % over 5 minutes) and the last outcome was a success. */
  | 'HEALTHY'
  /** Nothing seen yet: no call and no webhook since the record expired (30 days). */
  | 'UNKNOWN';

export type ConnectionStatus =
  /** Queries reach the provider. */
  | 'ACTIVE'
  /** Turned off by the tenant; not queried. */
  | 'DISABLED'
  /** The provider refused the stored credentials (refresh token revoked, expired, or undecryptable): reconnect it. */
  | 'NEEDS_REAUTH';

export type ContactFilter = {
  /** Only contacts from this connection. */
  connectionId?: InputMaybe<Scalars['ID']['input']>;
  /** Exact e-mail match (case-insensitive). */
  email?: InputMaybe<Scalars['EmailAddress']['input']>;
  /** Only records from this connector (e.g. "hubspot"). */
  provider?: InputMaybe<Scalars['String']['input']>;
  /** Only contacts changed at or after this instant. */
  updatedSince?: InputMaybe<Scalars['DateTime']['input']>;
};

/** Whether a connector fills a field. */
export type CoverageFill =
  /** On every record. */
  | 'ALWAYS'
  /** Never: the provider has no such field (the value is null or empty). */
  | 'NEVER'
  /** When the provider's record has a value. */
  | 'WHEN_PRESENT';

export type EmailType =
  | 'OTHER'
  | 'PERSONAL'
  | 'WORK';

/** Where a connection's changes come from. */
export type EventMode =
  /** The connector reports no changes. */
  | 'NONE'
  /** The gateway polls the provider (providers without signed webhooks, or a connection switched to polling). */
  | 'POLLING'
  /** The provider signs and sends webhooks to the gateway. */
  | 'WEBHOOKS';

export type FulfillmentStatus =
  | 'FULFILLED'
  | 'NOT_REQUIRED'
  | 'PARTIALLY_FULFILLED'
  | 'UNFULFILLED'
  | 'UNKNOWN';

export type IdentityFlag =
  /** Two contacts both have E.164 phones and share none (reported; does not hold contacts back). */
  | 'PHONE_CONFLICT'
  /** The address names a role (billing@, info@, …), typically shared. */
  | 'ROLE_ADDRESS'
  /** Contacts with the address carry different names. */
  | 'SEVERAL_NAMES';

export type InvoiceFilter = {
  connectionId?: InputMaybe<Scalars['ID']['input']>;
  /** Only records from this connector (e.g. "stripe"). */
  provider?: InputMaybe<Scalars['String']['input']>;
  /** Only invoices changed at or after this instant. */
  updatedSince?: InputMaybe<Scalars['DateTime']['input']>;
};

export type InvoiceKind =
  /** A supplier bills us (a bill). */
  | 'PAYABLE'
  /** We bill a customer (a sales invoice). */
  | 'RECEIVABLE';

export type InvoiceStatus =
  | 'DRAFT'
  | 'OPEN'
  | 'PAID'
  /** Open, with something paid and something still due (0 < balance < total). */
  | 'PARTIALLY_PAID'
  | 'UNCOLLECTIBLE'
  /** The provider's status has no unified equivalent; see statusRaw. */
  | 'UNKNOWN'
  | 'VOID';

/**
 * The order a unified list (`contacts`, `invoices`, `orders`) is merged in across every connection.
 * Connections that serve it natively are read in it page by page; a connection that cannot is read
 * whole and sorted by the gateway up to `listSortFallbackMax` records, and above that the list fails
 * with `ORDER_NOT_SUPPORTED` naming the connection and the orders it serves (docs/lists.md).
 * Records with equal sort keys come in connection-id order, then in their provider's own order;
 * records without the timestamp come last, either direction.
 */
export type ListOrder = {
  direction?: SortDirection;
  field: ListOrderField;
};

export type ListOrderField =
  /** `source.remoteCreatedAt`: when the provider created the record. */
  | 'CREATED_AT'
  /** `source.remoteUpdatedAt`: when the provider last changed the record. */
  | 'UPDATED_AT';

export type MatchKind =
  | 'EMAIL'
  | 'MANUAL'
  | 'PHONE';

export type OrderFilter = {
  connectionId?: InputMaybe<Scalars['ID']['input']>;
  /** Only records from this connector (e.g. "stripe"). */
  provider?: InputMaybe<Scalars['String']['input']>;
  /** Only orders changed at or after this instant. */
  updatedSince?: InputMaybe<Scalars['DateTime']['input']>;
};

export type OrderStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'EXPIRED'
  | 'OPEN'
  | 'UNKNOWN';

export type PaymentStatus =
  | 'NOT_REQUIRED'
  | 'PAID'
  | 'PARTIALLY_PAID'
  | 'PARTIALLY_REFUNDED'
  | 'REFUNDED'
  | 'UNKNOWN'
  | 'UNPAID';

export type PeopleFilter = {
  /** These addresses. */
  emails?: InputMaybe<Array<Scalars['EmailAddress']['input']>>;
  /** Also every person an operator linked or unlinked contacts of. */
  manuallyLinked?: InputMaybe<Scalars['Boolean']['input']>;
};

export type PersonRemoteId = {
  connectionId: Scalars['ID']['input'];
  remoteId: Scalars['String']['input'];
};

export type PhoneType =
  | 'FAX'
  | 'HOME'
  | 'MOBILE'
  | 'OTHER'
  | 'WORK';

export type SortDirection =
  | 'ASC'
  | 'DESC';

export type UnmergedReason =
  /** An operator linked it to another person. */
  | 'LINKED_ELSEWHERE'
  | 'ROLE_ADDRESS'
  | 'SEVERAL_NAMES'
  /** An operator unlinked it from this person. */
  | 'UNLINKED';

export type ContactsPageQueryVariables = Exact<{
  first: Scalars['Int']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ContactFilter>;
}>;


export type ContactsPageQuery = { __typename?: 'Query', contacts: { __typename?: 'ContactConnection', nodes: Array<{ __typename?: 'Contact', id: string, name?: string | null, emails: Array<{ __typename?: 'Email', address: string, primary: boolean }>, source: { __typename?: 'ProviderRef', provider: string, remoteId: string } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type InvoicesPageQueryVariables = Exact<{
  first: Scalars['Int']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<InvoiceFilter>;
}>;


export type InvoicesPageQuery = { __typename?: 'Query', invoices: { __typename?: 'InvoiceConnection', nodes: Array<{ __typename?: 'Invoice', id: string, number?: string | null, status: InvoiceStatus, dueDate?: string | null, total?: { __typename?: 'Money', amount: string, currency: string } | null, contact?: { __typename?: 'Contact', name?: string | null } | null }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null } } };

export type ChangeCursorQueryVariables = Exact<{ [key: string]: never; }>;


export type ChangeCursorQuery = { __typename?: 'Query', changeCursor: string };

export type ContactChangesSubscriptionVariables = Exact<{
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ChangeFilter>;
}>;


export type ContactChangesSubscription = { __typename?: 'Subscription', contactChanged: { __typename?: 'ContactChange', eventId: string, cursor: string, type: ChangeType, id: string, occurredAt: string, source: { __typename?: 'ProviderRef', provider: string, connectionId: string }, contact?: { __typename?: 'Contact', name?: string | null } | null } };


export const ContactsPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ContactsPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ContactFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"contacts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"emails"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"primary"}}]}},{"kind":"Field","name":{"kind":"Name","value":"source"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"provider"}},{"kind":"Field","name":{"kind":"Name","value":"remoteId"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<ContactsPageQuery, ContactsPageQueryVariables>;
export const InvoicesPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"InvoicesPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"InvoiceFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"invoices"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"total"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"amount"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}}]}},{"kind":"Field","name":{"kind":"Name","value":"dueDate"}},{"kind":"Field","name":{"kind":"Name","value":"contact"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<InvoicesPageQuery, InvoicesPageQueryVariables>;
export const ChangeCursorDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ChangeCursor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"changeCursor"}}]}}]} as unknown as DocumentNode<ChangeCursorQuery, ChangeCursorQueryVariables>;
export const ContactChangesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ContactChanges"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ChangeFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"contactChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"source"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"provider"}},{"kind":"Field","name":{"kind":"Name","value":"connectionId"}}]}},{"kind":"Field","name":{"kind":"Name","value":"contact"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]} as unknown as DocumentNode<ContactChangesSubscription, ContactChangesSubscriptionVariables>;