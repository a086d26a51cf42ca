// graphql-ws on the HTTP server's port and path, authenticated with the same credential as HTTP
// (connectionParams.authorization), with the same document limits and message size, a fresh
// request context per operation, and a periodic recheck that closes sockets whose credential was
// revoked or has expired.
import { clientAddress, TRUST_NO_PROXY } from '../inbound/client-address.ts';
import type { Server } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticate } from '../callers/authenticate.ts';
import { scopeError } from '../callers/scopes.ts';
import type { Principal } from '../callers/tenants.ts';
import { RequestContext, type GatewayServices } from '../context.ts';
import { sharedSubscribe, type DirectDelivery } from '../events/shared-execution.ts';
import { formatError } from '../errors.ts';
import { publicBaseOf } from '../inbound/respond.ts';
import { socketDocument } from '../limits/document-limits.ts';
import { limitsFor } from '../limits/tenant-limits.ts';
import { SubscriptionLog } from '../observability/subscription-log.ts';

export interface GraphqlWsDeps {
  server: Server;
  schema: GraphQLSchema;
  depthRule: ValidationRule;
  services: GatewayServices;
  authenticate: Authenticate;
}

/** WebSocket close code 1001 (RFC 6455 "going away"): graphql-ws defines no constant for it. */
export const GOING_AWAY = 1001;
export const GOING_AWAY_REASON = 'Going away: the server is shutting down; reconnect (resume with after:)';

export function attachGraphqlWs({ server, schema, depthRule, services, authenticate }: GraphqlWsDeps): { dispose(): Promise<number> } {
  const { config, log } = services;
  const format = formatError(config.mode, (err) => log.error({ err }, 'unexpected error in a subscription'));
  // The same size limit as HTTP bodies applies to every WebSocket message.
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: config.limits.maxBodyBytes });
  const openSockets = new Map<WebSocket, string | null>();
  const operations = new SubscriptionLog(log, services.tracing);
  const socketsPerTenant = new Map<string, number>();
  const newContext = (principal: Principal, publicBase: string) => {
    const rc = new RequestContext(services, principal, new AbortController().signal, Date.now() + config.limits.requestDeadlineMs);
    rc.publicBase = publicBase;
    return rc;
  };
  // One parsed and validated document per distinct query text, shared by every operation sending
  // it: an open subscription keeps its document for its lifetime, and a parsed document (tokens,
  // locations, nodes) weighed ~10 KB, a third of an idle subscription's memory.
  const documents = new DocumentCache(schema, [...specifiedRules, depthRule]);
  // Where each subscription's results are written directly (see deliveryTo below), by its context.
  const deliveries = new WeakMap<RequestContext, DirectDelivery>();
  const serialize = (result: ExecutionResult): Buffer => Buffer.from(JSON.stringify(formatted(result) ?? result));
  // Execution errors get the public codes and masking HTTP answers with (Apollo's formatError does it there).
  const formatted = (result: ExecutionResult) => {
    if (!('errors' in result) || !result.errors?.length) return undefined;
    return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) as never };
  };
  const wsServer = useServer<
    Record<string, unknown> | undefined,
    { principal?: Principal; authorization?: string | null; publicBase?: string; clientAddress?: string | null }
  >(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          const authorization = authorizationParam(ctx.connectionParams);
          ctx.extra.principal = await authenticate(authorization, { address: clientAddress(ctx.extra.request, config.trustedProxies ?? TRUST_NO_PROXY) });
          ctx.extra.authorization = authorization;
          const socket = ctx.extra.socket;
          const tenantId = ctx.extra.principal.tenant.id;
          const held = socketsPerTenant.get(tenantId) ?? 0;
          const cap = limitsFor(config, tenantId).maxSocketsPerTenant;
          if (held >= cap) {
            log.info({ tenant: tenantId, cap }, 'refusing a subscription socket: the tenant holds its maximum');
            socket.close(4429, `Too many sockets: this tenant may hold ${cap} at once`);
            return false;
          }
          socketsPerTenant.set(tenantId, held + 1);
          openSockets.set(socket, authorization);
          socket.once('close', (code: number) => {
            openSockets.delete(socket);
            operations.socketClosed(socket, code);
            const left = (socketsPerTenant.get(tenantId) ?? 1) - 1;
            if (left > 0) socketsPerTenant.set(tenantId, left);
            else socketsPerTenant.delete(tenantId);
          });
          // The upgrade request (headers, streams: ~1 KB) would otherwise stay referenced for the
          // socket's lifetime; operations need only what is read from it here.
          ctx.extra.publicBase = publicBaseOf(ctx.extra.request, config.publicUrl);
          ctx.extra.clientAddress = clientAddress(ctx.extra.request, config.trustedProxies ?? TRUST_NO_PROXY);
          (ctx.extra as { request?: unknown }).request = undefined;
          return true;
        } catch (err) {
          // Closed here to say why (graphql-ws's own close would say only "Forbidden"); the
          // messages are the public ones HTTP answers with, never the credential.
          const why = err instanceof GraphQLError ? err.message : 'the credential could not be checked';
          ctx.extra.socket.close(CloseCode.Forbidden, `Forbidden: ${why}`.slice(0, 120));
          return false;
        }
      },
      // A fresh context per operation: loaders must not hold records for the socket's lifetime.
      // The principal is re-read per operation, so a query sent over the socket sees connections
      // added or removed since it opened (subscriptions are checked per event, see resolvers/events.ts).
      context: async (ctx, id) => {
        const rc = newContext(await authenticate(ctx.extra.authorization ?? null), ctx.extra.publicBase ?? publicBaseOf(ctx.extra.request, config.publicUrl));
        deliveries.set(
          rc,
          deliveryTo(ctx.extra.socket, id, serialize, () => operations.result(ctx.extra.socket, id)),
        );
        return rc;
      },
      onSubscribe: (ctx, _id, payload) => {
        const principal = ctx.extra.principal;
        const scopes = principal?.scopes ?? new Set();
        const tenantId = principal?.tenant.id ?? '';
        const cap = limitsFor(config, tenantId).maxSubscriptionsPerSocket;
        if (Object.keys(ctx.subscriptions).length >= cap)
          return [new GraphQLError(`this socket already runs ${cap} operations, its maximum; complete one first`, { extensions: { code: 'RATE_LIMITED' } })];
        // The document limits of HTTP (size, tokens, aliases, directives, introspection scope).
        const { document, error } = socketDocument(schema, config, tenantId, scopes, payload.query);
        if (error) return [error];
        if (!document) {
          try {
            parse(payload.query);
          } catch (err) {
            // As on HTTP: the syntax error with its code (docs/errors.md).
            return [new GraphQLError((err as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
          }
          return;
        }
        const denied = scopeError(document, payload.operationName, scopes);
        if (denied) return [denied];
        // Validated here (returning arguments skips graphql-ws's own parse and validation).
        const prepared = documents.get(payload.query, document);
        if (prepared.errors.length) return prepared.errors;
        return { schema, document: prepared.document, operationName: payload.operationName, variableValues: payload.variables ?? undefined };
      },
      onOperation: (ctx, id, _payload, args) => {
        const op = getOperationAST(args.document, args.operationName);
        operations.started(ctx.extra.socket, id, {
          tenantId: ctx.extra.principal?.tenant.id ?? '',
          operationType: op?.operation ?? 'unknown',
          operationName: op?.name?.value ?? null,
          clientAddress: ctx.extra.clientAddress ?? undefined,
        });
      },
      onComplete: (ctx, id) => operations.stopped(ctx.extra.socket, id),
      // Results that graphql-ws sends itself (queries over the socket, errors); shared subscription
      // results go straight to the socket (deliveryTo) and are counted there.
      onNext: (ctx, id, _payload, _args, result) => {
        operations.result(ctx.extra.socket, id);
        return formatted(result);
      },
      subscribe: (args) => {
        const rc = args.contextValue as RequestContext;
        return sharedSubscribe(args, rc.tenant.id, deliveries.get(rc));
      },
    },
    wss,
  );

  // A socket outlives the check made when it opened: every credentialRecheckMs its credential is
  // checked again, and a revoked API key or an expired JWT closes it (Forbidden). A store outage
  // (SERVICE_UNAVAILABLE) closes nothing.
  const recheck = setInterval(() => {
    for (const [socket, authorization] of openSockets) {
      authenticate(authorization).catch((err: unknown) => {
        if (err instanceof GraphQLError && err.extensions.code === 'UNAUTHENTICATED' && openSockets.has(socket)) {
          log.info('closing a subscription socket whose credential is no longer valid');
          socket.close(CloseCode.Forbidden, 'Forbidden: the credential was revoked or has expired');
        }
      });
    }
  }, config.limits.credentialRecheckMs);
  recheck.unref();

  return {
    async dispose() {
      clearInterval(recheck);
      // 1001 (going away, RFC 6455) with a reason: the client knows to reconnect, through the
      // proxy, to another replica and resume with `after:`. graphql-ws's own dispose() would say
      // only "Going away"; it then finds these sockets closing and stops the server.
      const sockets = wss.clients.size;
      for (const socket of wss.clients) socket.close(GOING_AWAY, GOING_AWAY_REASON);
      await Promise.resolve(wsServer.dispose()).catch((err: unknown) => log.debug({ err: String(err) }, 'websocket server already closed'));
      // A client that does not answer the close handshake does not hold the shutdown up.
      const unanswered = setTimeout(() => {
        for (const socket of wss.clients) socket.terminate();
      }, 2_000);
      unanswered.unref();
      return sockets;
    },
  };
}

/**
 * A socket whose unsent bytes exceed this is too far behind: its subscriptions end with "too slow"
 * (the client resumes with `after`), instead of the gateway buffering for it without bound.
 */
const MAX_SOCKET_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * Writes a subscription's results straight to its socket as graphql-transport-ws `next` frames:
 * the shared, already serialized payload with this operation's id spliced in front, so a result is
 * serialized once however many sockets receive it (graphql-ws would stringify it once per socket).
 * The frame is byte-for-byte what graphql-ws's own `stringifyMessage` produces.
 */
function deliveryTo(socket: WebSocket, id: string, serialize: (result: ExecutionResult) => Buffer, delivered: () => void): DirectDelivery {
  const idJson = JSON.stringify(id);
  return {
    serialize,
    send(body) {
      if (socket.readyState !== socket.OPEN) return true; // closing: graphql-ws ends the operation
      if (socket.bufferedAmount > MAX_SOCKET_BUFFERED_BYTES) return false;
      const head = `{"id":${idJson},"type":"next","payload":`;
      const headBytes = Buffer.byteLength(head);
      const frame = Buffer.allocUnsafe(headBytes + body.length + 1);
      frame.write(head, 0);
      body.copy(frame, headBytes);
      frame[frame.length - 1] = 0x7d; // }
      socket.send(frame, { binary: false });
      delivered();
      return true;
    },
  };
}

/** Parsed and validated documents by query text (least recently used dropped past the bound). */
class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode; errors: readonly GraphQLError[] }>();
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly max = 1_000,
  ) {}

  /** `parsed` is the caller's own parse of `query`, used (and kept) when the text is new. */
  get(query: string, parsed: DocumentNode): { document: DocumentNode; errors: readonly GraphQLError[] } {
    let entry = this.entries.get(query);
    if (entry) this.entries.delete(query);
    else {
      // The same document limits as HTTP (depth) and the public code on validation errors.
      entry = { document: parsed, errors: validate(this.schema, parsed, this.rules).map(withCode('GRAPHQL_VALIDATION_FAILED')) };
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(query, entry);
    return entry;
  }
}

/**
 * The credential in graphql-ws `connectionParams`, as clients send it: `{ authorization }`,
 * `{ Authorization }` (Apollo Sandbox and many client set-ups copy the HTTP header's spelling), or
 * either nested in `{ headers: { … } }`. Header names are case-insensitive over HTTP, so here too.
 */
export function authorizationParam(params: Record<string, unknown> | undefined | null): string | null {
  const pick = (o: unknown): string | null => {
    if (!o || typeof o !== 'object') return null;
    for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === 'authorization' && typeof v === 'string') return v;
    return null;
  };
  return pick(params) ?? pick(params?.['headers']);
}

/** The same error with `extensions.code` set (graphql-js validation errors carry none). */
function withCode(code: string): (err: GraphQLError) => GraphQLError {
  return (err) =>
    err.extensions['code']
      ? err
      : new GraphQLError(err.message, {
          nodes: err.nodes ?? null,
          source: err.source ?? null,
          positions: err.positions ?? null,
          path: err.path ?? null,
          originalError: err.originalError ?? null,
          extensions: { ...err.extensions, code },
        });
}
