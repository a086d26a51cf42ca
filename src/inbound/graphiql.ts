// A self-contained GraphiQL page (scripts, styles and editor workers inlined by
// @graphql-yoga/render-graphiql), so schema exploration works with no network at all, unlike
// Apollo Sandbox which loads from a CDN. Rendered once, on first request: the page is ~9 MB.
// Subscriptions run over graphql-ws on the same path as queries (see WS_SETUP).
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

export const EXAMPLE_QUERY = `# Invoices from every connected provider, with their contact (batched upstream).
query Invoices {
  invoices(first: 10) {
    edges {
      node {
        number
        status
        total { amount currency }
        contact { name emails { address } }
        source { provider connectionId remoteId cacheStatus }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/**
 * Subscriptions go over graphql-ws to the same path as queries (the page's default, GraphQL over
 * SSE, is not served: Apollo refused it as a CSRF risk). The socket's credential is what GraphiQL
 * last sent over HTTP (its schema fetch, every query): the headers editor's Authorization, so a
 * key typed there works for subscriptions too. The socket is opened per subscription (closed when
 * none is running), so a changed key applies to the next one.
 */
const WS_SETUP = `
        function switchboardRenderGraphiQL(root, opts) {
          var credential = null;
          var plainFetch = window.fetch.bind(window);
          window.fetch = function (input, init) {
            var headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
            if (headers.has('authorization')) credential = headers.get('authorization');
            return plainFetch(input, init);
          };
          opts.subscriptionsProtocol = 'WS';
          opts.subscriptionsEndpoint = new URL(opts.endpoint, location.href).toString();
          opts.connectionParams = function () {
            return credential ? { authorization: credential } : {};
          };
          return YogaGraphiQL.renderYogaGraphiQL(root, opts);
        }
        switchboardRenderGraphiQL(`;

export function graphiqlPage(options: { endpoint: string; apiKey?: string | undefined }): () => string {
  let html: string | null = null;
  return () => {
    html ??= withWebSocketSubscriptions(
      renderGraphiQL({
        title: 'Switchboard GraphiQL',
        endpoint: options.endpoint,
        defaultQuery: EXAMPLE_QUERY,
        headers: JSON.stringify(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}, null, 2),
        shouldPersistHeaders: false,
        subscriptionsProtocol: 'WS',
      } as Parameters<typeof renderGraphiQL>[0]),
    );
    return html;
  };
}

/** Routes the page's render call through WS_SETUP (its options are JSON, so functions are added here). */
function withWebSocketSubscriptions(page: string): string {
  const call = 'YogaGraphiQL.renderYogaGraphiQL(';
  const at = page.lastIndexOf(call);
  if (at < 0) throw new Error('@graphql-yoga/render-graphiql changed its page: the render call was not found');
  return page.slice(0, at) + WS_SETUP.trimStart() + page.slice(at + call.length);
}

/**
 * The page's Content-Security-Policy: its scripts and styles are inline (no CDN), it talks to this
 * origin only, and it may not be framed or submit forms elsewhere.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
