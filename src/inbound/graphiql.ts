// A self-contained GraphiQL page (scripts, styles and editor workers inlined by
// @graphql-yoga/render-graphiql), so schema exploration works with no network at all, unlike
// Apollo Sandbox which loads from a CDN. Rendered once, on first request: the page is ~9 MB.
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

export function graphiqlPage(options: { endpoint: string; apiKey?: string | undefined }): () => string {
  let html: string | null = null;
  return () => {
    html ??= renderGraphiQL({
      title: 'Switchboard GraphiQL',
      endpoint: options.endpoint,
      defaultQuery: EXAMPLE_QUERY,
      headers: JSON.stringify(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}, null, 2),
      shouldPersistHeaders: false,
    } as Parameters<typeof renderGraphiQL>[0]);
    return html;
  };
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
