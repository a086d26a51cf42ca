// The operations the example client sends. graphql-codegen reads these `graphql(...)` calls and
// generates their result and variable types into ./gql/, so every call site below is typed.
import { graphql } from './gql/index.js';

export const ContactsPage = graphql(`
  query ContactsPage($first: Int!, $after: String, $filter: ContactFilter) {
    contacts(first: $first, after: $after, filter: $filter) {
      nodes {
        id
        name
        emails {
          address
          primary
        }
        source {
          provider
          remoteId
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const InvoicesPage = graphql(`
  query InvoicesPage($first: Int!, $after: String, $filter: InvoiceFilter) {
    invoices(first: $first, after: $after, filter: $filter) {
      nodes {
        id
        number
        status
        total {
          amount
          currency
        }
        dueDate
        contact {
          name
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const ChangeCursor = graphql(`
  query ChangeCursor {
    changeCursor
  }
`);

export const ContactChanges = graphql(`
  subscription ContactChanges($after: String, $filter: ChangeFilter) {
    contactChanged(after: $after, filter: $filter) {
      eventId
      cursor
      type
      id
      occurredAt
      source {
        provider
        connectionId
      }
      contact {
        name
      }
    }
  }
`);
