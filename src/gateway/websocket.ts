// graphql-ws on the HTTP server's port and path, authenticated with the same credential as HTTP
// (connectionParams.authorization), with the same document limits and message size, a fresh
// request context per operation, and a periodic recheck that closes sockets whose credential was
// revoked or has expired.
import { clientAddress, TRUST_NO_PROXY } from '../inbound/client-address.ts';
import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, parse, specifiedRules, validate, type GraphQLSchema, type ValidationRule } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticate } from '../callers/authenticate.ts';
import { scopeError } from '../callers/scopes.ts';
import type { Principal } from '../callers/tenants.ts';
import { RequestContext, type GatewayServices } from '../context.ts';
import { sharedSubscribe } from '../events/shared-execution.ts';
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
  const newContext = (principal: Principal, request: Parameters<typeof publicBaseOf>[0]) => {
    const rc = new RequestContext(services, principal, new AbortController().signal, Date.now() + config.limits.requestDeadlineMs);
    rc.publicBase = publicBaseOf(request, config.publicUrl);
    return rc;
  };
  const wsServer = useServer<Record<string, unknown> | undefined, { principal?: Principal; authorization?: string | null }>(
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
          socket.once('close', () => {
            const left = (socketsPerTenant.get(tenantId) ?? 1) - 1;
            if (left > 0) socketsPerTenant.set(tenantId, left);
            else socketsPerTenant.delete(tenantId);
          });
          openSockets.set(socket, authorization);
          socket.once('close', (code: number) => {
            openSockets.delete(socket);
            operations.socketClosed(socket, code);
          });
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
      context: async (ctx) => newContext(await authenticate(ctx.extra.authorization ?? null), ctx.extra.request),
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
        return denied ? [denied] : undefined;
      },
      // The same document limits as HTTP (depth); graphql-ws validates with these rules.
      validate: (s, document) => validate(s, document, [...specifiedRules, depthRule]).map(withCode('GRAPHQL_VALIDATION_FAILED')),
      // Execution errors get the public codes and masking HTTP answers with (Apollo's formatError does it there).
      onOperation: (ctx, id, _payload, args) => {
        const op = getOperationAST(args.document, args.operationName);
        operations.started(ctx.extra.socket, id, {
          tenantId: ctx.extra.principal?.tenant.id ?? '',
          operationType: op?.operation ?? 'unknown',
          operationName: op?.name?.value ?? null,
          clientAddress: clientAddress(ctx.extra.request, config.trustedProxies ?? TRUST_NO_PROXY),
        });
      },
      onComplete: (ctx, id) => operations.stopped(ctx.extra.socket, id),
      onNext: (ctx, id, _payload, _args, result) => {
        operations.result(ctx.extra.socket, id);
        if (!('errors' in result) || !result.errors?.length) return;
        return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) as never };
      },
      subscribe: (args) => sharedSubscribe(args, (args.contextValue as RequestContext).tenant.id),
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
