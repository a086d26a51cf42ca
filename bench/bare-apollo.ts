// The benchmarks' yardstick for GraphQL work: a bare Apollo Server (standalone, no gateway logic)
// answering the benchmark's query shape (100 invoices, each with its total and its contact's name
// and emails) from constants. It costs what Apollo Server and graphql-js cost for that answer and
// nothing else: the floor of this stack for the query (bench/run.ts runs it in a child process
// for the warm rows, bench/cold.ts beside the gateway in its own process for the cold rows).
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const typeDefs = /* GraphQL */ `
  type Money {
    amount: String!
    currency: String!
  }
  type Email {
    address: String!
  }
  type Contact {
    name: String
    emails: [Email!]!
  }
  type Invoice {
    number: String
    total: Money
    contact: Contact
  }
  type InvoiceEdge {
    node: Invoice!
  }
  type InvoiceConnection {
    edges: [InvoiceEdge!]!
  }
  type Query {
    invoices(first: Int, filter: InvoiceFilter): InvoiceConnection!
  }
  input InvoiceFilter {
    provider: String
  }
`;
const invoices = Array.from({ length: 100 }, (_, i) => ({
  number: `INV-${1000 + i}`,
  total: { amount: `${100 + i}.00`, currency: 'USD' },
  contact: { name: `Person ${i % 37}`, emails: [{ address: `person${i % 37}@example.com` }] },
}));

/** Starts the bare server on a loopback port; resolves with its URL and a stop. */
export async function startBareApollo(): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = new ApolloServer({
    typeDefs,
    resolvers: { Query: { invoices: (_: unknown, { first }: { first?: number }) => ({ edges: invoices.slice(0, first ?? 100).map((node) => ({ node })) }) } },
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}
