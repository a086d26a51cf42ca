/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query ContactsPage($first: Int!, $after: String, $filter: ContactFilter) {\n    contacts(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        name\n        emails {\n          address\n          primary\n        }\n        source {\n          provider\n          remoteId\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ContactsPageDocument,
    "\n  query InvoicesPage($first: Int!, $after: String, $filter: InvoiceFilter) {\n    invoices(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        number\n        status\n        total {\n          amount\n          currency\n        }\n        dueDate\n        contact {\n          name\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.InvoicesPageDocument,
    "\n  query ChangeCursor {\n    changeCursor\n  }\n": typeof types.ChangeCursorDocument,
    "\n  subscription ContactChanges($after: String, $filter: ChangeFilter) {\n    contactChanged(after: $after, filter: $filter) {\n      eventId\n      cursor\n      type\n      id\n      occurredAt\n      source {\n        provider\n        connectionId\n      }\n      contact {\n        name\n      }\n    }\n  }\n": typeof types.ContactChangesDocument,
};
const documents: Documents = {
    "\n  query ContactsPage($first: Int!, $after: String, $filter: ContactFilter) {\n    contacts(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        name\n        emails {\n          address\n          primary\n        }\n        source {\n          provider\n          remoteId\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ContactsPageDocument,
    "\n  query InvoicesPage($first: Int!, $after: String, $filter: InvoiceFilter) {\n    invoices(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        number\n        status\n        total {\n          amount\n          currency\n        }\n        dueDate\n        contact {\n          name\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.InvoicesPageDocument,
    "\n  query ChangeCursor {\n    changeCursor\n  }\n": types.ChangeCursorDocument,
    "\n  subscription ContactChanges($after: String, $filter: ChangeFilter) {\n    contactChanged(after: $after, filter: $filter) {\n      eventId\n      cursor\n      type\n      id\n      occurredAt\n      source {\n        provider\n        connectionId\n      }\n      contact {\n        name\n      }\n    }\n  }\n": types.ContactChangesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ContactsPage($first: Int!, $after: String, $filter: ContactFilter) {\n    contacts(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        name\n        emails {\n          address\n          primary\n        }\n        source {\n          provider\n          remoteId\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ContactsPage($first: Int!, $after: String, $filter: ContactFilter) {\n    contacts(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        name\n        emails {\n          address\n          primary\n        }\n        source {\n          provider\n          remoteId\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InvoicesPage($first: Int!, $after: String, $filter: InvoiceFilter) {\n    invoices(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        number\n        status\n        total {\n          amount\n          currency\n        }\n        dueDate\n        contact {\n          name\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query InvoicesPage($first: Int!, $after: String, $filter: InvoiceFilter) {\n    invoices(first: $first, after: $after, filter: $filter) {\n      nodes {\n        id\n        number\n        status\n        total {\n          amount\n          currency\n        }\n        dueDate\n        contact {\n          name\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChangeCursor {\n    changeCursor\n  }\n"): (typeof documents)["\n  query ChangeCursor {\n    changeCursor\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ContactChanges($after: String, $filter: ChangeFilter) {\n    contactChanged(after: $after, filter: $filter) {\n      eventId\n      cursor\n      type\n      id\n      occurredAt\n      source {\n        provider\n        connectionId\n      }\n      contact {\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ContactChanges($after: String, $filter: ChangeFilter) {\n    contactChanged(after: $after, filter: $filter) {\n      eventId\n      cursor\n      type\n      id\n      occurredAt\n      source {\n        provider\n        connectionId\n      }\n      contact {\n        name\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;