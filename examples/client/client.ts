// A typed Switchboard client, as a frontend or backend team would write one: queries and Relay
// pagination through urql, subscriptions through graphql-ws that resume from the last cursor after
// any reconnect, and errors told apart by `extensions.code`. The documents and their types come
// from ./operations.ts and graphql-codegen's client preset (./gql/).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Client, fetchExchange, type CombinedError } from '@urql/core';
import { print } from 'graphql';
import { CloseCode, createClient, type Client as WsClient } from 'graphql-ws';

export interface SwitchboardOptions {
  /** The gateway's GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  /** A tenant API key (or a JWT): sent as `Authorization: Bearer …`. */
  apiKey: string;
}

/** A failed operation, by Switchboard's closed list of codes (docs/errors.md). */
export class SwitchboardError extends Error {
  constructor(
    message: string,
    /** `extensions.code` of the first error, or `HTTP_<status>` when the gateway refused the request. */
    readonly code: string,
    /** Seconds to wait before retrying, from `Retry-After` (429 RATE_LIMITED). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'SwitchboardError';
  }
}

/** urql over HTTP with the tenant's credential; no client-side cache (the gateway caches). */
export function httpClient({ url, apiKey }: SwitchboardOptions): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${apiKey}` } }),
  });
}

/**
 * Runs a query and returns its data, or throws a SwitchboardError. Partial data (one provider
 * down, the others answered) is returned with its errors so a caller can show what it has.
 */
export async function query<TData, TVars extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TData, TVars>,
  variables: TVars,
): Promise<{ data: TData; partialErrors: ReadonlyArray<{ message: string; code: string }> }> {
  const result = await client.query(document, variables).toPromise();
  if (result.data === undefined || result.data === null) throw toSwitchboardError(result.error);
  const partialErrors = (result.error?.graphQLErrors ?? []).map((e) => ({ message: e.message, code: String(e.extensions?.code ?? 'UNKNOWN') }));
  return { data: result.data, partialErrors };
}

function toSwitchboardError(error: CombinedError | undefined): SwitchboardError {
  const first = error?.graphQLErrors[0];
  const response = error?.response as Response | undefined;
  const retryAfter = Number(response?.headers?.get?.('retry-after'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  if (first) return new SwitchboardError(first.message, String(first.extensions?.code ?? 'UNKNOWN'), retryAfterSeconds);
  if (response?.status) return new SwitchboardError(`the gateway answered HTTP ${response.status}`, `HTTP_${response.status}`, retryAfterSeconds);
  return new SwitchboardError(error?.message ?? 'no data and no error', 'NETWORK_ERROR');
}

/** The part of a Relay connection the walk needs. */
export interface Page<TNode> {
  nodes: readonly TNode[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

/**
 * Every node of a paginated list, page after page (`first` + `after: endCursor`), until
 * `hasNextPage` is false. `pageOf` picks the connection out of the query's data.
 */
export async function* walk<TData, TVars extends { first: number; after?: string | null }, TNode>(
  client: Client,
  document: TypedDocumentNode<TData, TVars>,
  variables: TVars,
  pageOf: (data: TData) => Page<TNode>,
): AsyncGenerator<TNode> {
  let after: string | null = variables.after ?? null;
  for (;;) {
    const { data } = await query(client, document, { ...variables, after });
    const page = pageOf(data);
    yield* page.nodes;
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
  }
}

export interface FollowOptions<TData, TVars> extends SwitchboardOptions {
  document: TypedDocumentNode<TData, TVars>;
  /** The subscription's variables; `after` is where the feed starts (from `changeCursor`). */
  variables: TVars;
  /** The resume point of one event (its `cursor` field). */
  cursorOf: (data: TData) => string;
  /** Stops the feed. */
  signal?: AbortSignal;
  /**
   * The WebSocket class: browsers and Node 22 have one built in; on Node 20 pass the `ws` package's
   * default export.
   */
  webSocketImpl?: unknown;
  /** Called with each socket once it is connected (tests use it to cut the connection). */
  onConnected?: (socket: WsClient) => void;
  /** Waits before reconnecting, by attempt (default: 250 ms doubling up to 10 s). */
  waitBeforeReconnect?: (attempt: number) => Promise<void>;
}

/** Closes after which reconnecting cannot help: the credential or the request itself is wrong. */
const FATAL_CLOSES = new Set<number>([CloseCode.BadRequest, CloseCode.Unauthorized, CloseCode.Forbidden, CloseCode.SubprotocolNotAcceptable]);

/**
 * Follows a change subscription for as long as the signal allows. Whenever the socket drops (a
 * replica draining with 1001, a network cut), it reconnects and resubscribes with `after` = the
 * cursor of the last event it yielded, so nothing is missed and nothing repeats. graphql-ws's own
 * retry is off because it would resend the original `after` and replay from there.
 */
export async function* followChanges<TData, TVars extends { after?: string | null }>(options: FollowOptions<TData, TVars>): AsyncGenerator<TData> {
  const { url, apiKey, document, cursorOf, signal } = options;
  const waitBeforeReconnect =
    options.waitBeforeReconnect ?? ((attempt: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(10_000, 250 * 2 ** attempt))));
  const wsUrl = url.replace(/^http/, 'ws');
  const text = print(document);
  let after = options.variables.after ?? null;
  for (let attempt = 0; !signal?.aborted; attempt++) {
    const socket = createClient({
      url: wsUrl,
      connectionParams: { authorization: `Bearer ${apiKey}` },
      retryAttempts: 0,
      lazy: true,
      ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
      on: { connected: () => options.onConnected?.(socket) },
    });
    const events = socket.iterate<TData>({ query: text, variables: { ...options.variables, after } as Record<string, unknown> });
    const stop = () => void events.return?.();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const result of events) {
        if (result.errors?.length || !result.data) {
          const first = result.errors?.[0];
          throw new SwitchboardError(first?.message ?? 'subscription event without data', String(first?.extensions?.code ?? 'UNKNOWN'));
        }
        attempt = 0;
        after = cursorOf(result.data);
        yield result.data;
      }
      return; // the server completed the subscription
    } catch (err) {
      if (err instanceof SwitchboardError) throw err;
      // graphql-ws rejects with the GraphQL errors of an `error` message (e.g. an expired cursor).
      if (Array.isArray(err)) {
        const first = err[0] as { message?: string; extensions?: { code?: unknown } } | undefined;
        throw new SwitchboardError(first?.message ?? 'subscription failed', String(first?.extensions?.code ?? 'UNKNOWN'));
      }
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' && FATAL_CLOSES.has(code)) {
        throw new SwitchboardError(`the gateway closed the subscription (${code} ${(err as { reason?: string }).reason ?? ''})`.trim(), `CLOSE_${code}`);
      }
      if (signal?.aborted) return;
      await waitBeforeReconnect(attempt);
    } finally {
      signal?.removeEventListener('abort', stop);
      await socket.dispose();
    }
  }
}
