// graphql-ws on the HTTP server's port and path, authenticated with the same credential as HTTP
// (connectionParams.authorization), with the same document limits and message size, a fresh
// request context per operation, and a periodic recheck that closes sockets whose credential was
// revoked or has expired.
import type { Server } from 'node:http';
import { GraphQLError, parse, specifiedRules, validate, type GraphQLSchema, type ValidationRule } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticate } from '../callers/authenticate.ts';
import { scopeError } from '../callers/scopes.ts';
import type { Principal } from '../callers/tenants.ts';
import { RequestContext, type GatewayServices } from '../context.ts';
import { sharedSubscribe } from '../events/shared-execution.ts';
import { publicBaseOf } from '../inbound/respond.ts';

export interface GraphqlWsDeps {
  server: Server;
  schema: GraphQLSchema;
  depthRule: ValidationRule;
  services: GatewayServices;
  authenticate: Authenticate;
}

export function attachGraphqlWs({ server, schema, depthRule, services, authenticate }: GraphqlWsDeps): { dispose(): Promise<void> } {
  const { config, log } = services;
  // The same size limit as HTTP bodies applies to every WebSocket message.
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: config.limits.maxBodyBytes });
  const openSockets = new Map<WebSocket, string | null>();
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
          ctx.extra.principal = await authenticate(authorization, { address: ctx.extra.request.socket.remoteAddress });
          ctx.extra.authorization = authorization;
          const socket = ctx.extra.socket;
          openSockets.set(socket, authorization);
          socket.once('close', () => openSockets.delete(socket));
          return true;
        } catch {
          return false; // graphql-ws closes with CloseCode.Forbidden
        }
      },
      // A fresh context per operation: loaders must not hold records for the socket's lifetime.
      // The principal is re-read per operation, so a query sent over the socket sees connections
      // added or removed since it opened (subscriptions are checked per event, see resolvers/events.ts).
      context: async (ctx) => newContext(await authenticate(ctx.extra.authorization ?? null), ctx.extra.request),
      onSubscribe: (ctx, _id, payload) => {
        const scopes = ctx.extra.principal?.scopes ?? new Set();
        let document;
        try {
          document = parse(payload.query);
        } catch {
          return; // graphql-ws reports the syntax error itself
        }
        const denied = scopeError(document, payload.operationName, scopes);
        return denied ? [denied] : undefined;
      },
      // The same document limits as HTTP (depth); graphql-ws validates with these rules.
      validate: (s, document) => validate(s, document, [...specifiedRules, depthRule]),
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
      await Promise.resolve(wsServer.dispose()).catch((err: unknown) => log.debug({ err: String(err) }, 'websocket server already closed'));
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
