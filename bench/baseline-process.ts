// Child process of the benchmark: a bare Apollo Server (standalone, no gateway logic) answering
// the same query shape from static in-memory data. The yardstick for the gateway's warm path.
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
const server = new ApolloServer({
  typeDefs,
  resolvers: { Query: { invoices: (_: unknown, { first }: { first?: number }) => ({ edges: invoices.slice(0, first ?? 100).map((node) => ({ node })) }) } },
});
const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
