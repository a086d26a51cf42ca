// graphql-ws on the HTTP server's port and path, authenticated with the same credential as HTTP
// (connectionParams.authorization), with the same document limits and message size, a fresh
// request context per operation, and a periodic recheck that closes sockets whose credential was
// revoked or has expired.
import { clientAddress, TRUST_NO_PROXY } from '../inbound/client-address.ts';
import type { IncomingMessage, Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { CloseCode, handleProtocols, makeServer, type WebSocket as GraphqlWsSocket } from 'graphql-ws';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Authenticate } from '../callers/authenticate.ts';
import { scopeError } from '../callers/scopes.ts';
import type { Principal } from '../callers/tenants.ts';
import { RequestContext, type GatewayServices } from '../context.ts';
import { sharedSubscribe, type DirectDelivery } from '../events/shared-execution.ts';
import { formatError } from '../errors.ts';
import { publicBaseOf } from '../inbound/respond.ts';
import { socketDocument } from '../limits/document-limits.ts';
import { limitsFor } from '../limits/tenant-limits.ts';
import { requestIdOf } from '../observability/request-log.ts';
import { SubscriptionLog, type RunningOperation } from '../observability/subscription-log.ts';

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

/** Keep-alive pings (every `limits.socketKeepAliveMs`) go out in this many slices of the period, so 10,000 sockets are not pinged in one turn. */
const KEEP_ALIVE_SLICES = 12;

/**
 * One socket: what graphql-ws's protocol server (makeServer) sends through and keeps as the
 * context's `extra`, and the gateway's bookkeeping for it, in one object. graphql-ws's `useServer`
 * gives each socket a keep-alive interval, a pong timer, `once` listeners and several closures
 * (~3 KB per idle socket); here the socket registers no listener (GatewaySocket), one timer pings
 * every socket, and what a socket needs is this object's fields.
 */
class Session implements GraphqlWsSocket {
  /** Answered the last keep-alive ping (or none was sent yet). */
  alive = true;
  /** Which keep-alive slice pings it. */
  readonly slice: number;
  /** The credential it connected with, checked again every credentialRecheckMs. */
  authorization: string | null = null;
  principal: Principal | undefined = undefined;
  /** Set once the connection was accepted (counts against the tenant's sockets). */
  tenantId: string | null = null;
  publicBase: string | undefined = undefined;
  clientAddress: string | undefined = undefined;
  /** The upgrade request's id (its acceptable `x-request-id`, else a new UUID), in its operations' log lines. */
  readonly requestId: string;
  /** The upgrade request, until onConnect has read what operations need from it. */
  request: IncomingMessage | undefined;
  initTimer: ReturnType<typeof setTimeout> | null = null;
  /** graphql-ws's message handler for this socket. */
  handler: ((data: string) => Promise<void>) | null = null;
  /** graphql-ws's close handler (ends the socket's operations). */
  closed: ((code: number, reason: string) => Promise<void>) | null = null;

  constructor(
    readonly socket: GatewaySocket,
    /** The server's handlers for its sockets' events (one object per server). */
    readonly events: SocketEvents,
    request: IncomingMessage,
    serial: number,
    requestId: string,
  ) {
    this.request = request;
    this.requestId = requestId;
    this.slice = serial % KEEP_ALIVE_SLICES;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) return resolve();
      this.socket.send(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    this.handler = cb;
  }
}

/** What a server does with its sockets' events (`this` of none of them is the socket). */
interface SocketEvents {
  message(session: Session, data: RawData): void;
  pong(session: Session): void;
  error(session: Session, err: Error): void;
  close(session: Session, code: number, reason: Buffer): void;
}

/**
 * The server's sockets: ws emits every event through emit(), which hands the four the gateway
 * handles straight to its session's server, so a socket holds no listener (an EventEmitter's
 * listener table is a dictionary object of ~300 bytes once it has four events).
 */
class GatewaySocket extends WebSocket {
  session: Session | null = null;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const session = this.session;
    if (session) {
      if (event === 'message') session.events.message(session, args[0] as RawData);
      else if (event === 'pong') session.events.pong(session);
      else if (event === 'close') session.events.close(session, args[0] as number, args[1] as Buffer);
      else if (event === 'error') session.events.error(session, args[0] as Error);
    }
    // An 'error' nobody listens to would throw (and end the process): it was handled above, or
    // came after the socket closed.
    if (event === 'error' && this.listenerCount('error') === 0) return true;
    return super.emit(event, ...args);
  }
}

export function attachGraphqlWs({ server, schema, depthRule, services, authenticate }: GraphqlWsDeps): { dispose(): Promise<number> } {
  const { config, log } = services;
  const format = formatError(config.mode, (err) => log.error({ err }, 'unexpected error in a subscription'));
  // The same size limit as HTTP bodies applies to every WebSocket message; only graphql-transport-ws
  // is spoken (others are refused by makeServer with 4406); no compression (ws's server default).
  const wss = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: config.limits.maxBodyBytes,
    handleProtocols,
    perMessageDeflate: false,
    WebSocket: GatewaySocket,
  });
  const sessions = new Set<Session>();
  const operations = new SubscriptionLog(log, services.tracing);
  const socketsPerTenant = new Map<string, number>();
  const isProd = config.mode === 'production';
  const principals = new PrincipalPool();
  // One parsed and validated document per distinct query text, shared by every operation sending
  // it: an open subscription keeps its document for its lifetime, and a parsed document (tokens,
  // locations, nodes) weighed ~10 KB, a third of an idle subscription's memory.
  const documents = new DocumentCache(schema, [...specifiedRules, depthRule]);
  const serialize = (result: ExecutionResult): Buffer => Buffer.from(JSON.stringify(formatted(result) ?? result));
  // Execution errors get the public codes and masking HTTP answers with (Apollo's formatError does it there).
  const formatted = (result: ExecutionResult) => {
    if (!('errors' in result) || !result.errors?.length) return undefined;
    return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) as never };
  };
  const internalError = (socket: WebSocket, err: unknown, what: string) => {
    log.error({ err }, what);
    socket.close(CloseCode.InternalServerError, isProd ? 'Internal server error' : limitReason(err instanceof Error ? err.message : String(err)));
  };
  const protocol = makeServer<Record<string, unknown> | undefined, Session>({
    schema,
    // Timed per socket by the Session (its timer is dropped once connection_init arrives).
    connectionInitWaitTimeout: 0,
    onConnect: async (ctx) => {
      const session = ctx.extra;
      if (session.initTimer) clearTimeout(session.initTimer);
      session.initTimer = null;
      const request = session.request as IncomingMessage;
      try {
        const authorization = authorizationParam(ctx.connectionParams);
        session.principal = principals.canonical(
          await authenticate(authorization, { address: clientAddress(request, config.trustedProxies ?? TRUST_NO_PROXY) }),
        );
        // Read once (above); graphql-ws would keep the parsed parameters for the socket's lifetime.
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        session.authorization = authorization;
        const tenantId = session.principal.tenant.id;
        const held = socketsPerTenant.get(tenantId) ?? 0;
        const cap = limitsFor(config, tenantId).maxSocketsPerTenant;
        if (held >= cap) {
          log.info({ tenant: tenantId, cap }, 'refusing a subscription socket: the tenant holds its maximum');
          session.socket.close(4429, `Too many sockets: this tenant may hold ${cap} at once`);
          return false;
        }
        if (session.socket.readyState !== session.socket.OPEN) return false; // closed while authenticating
        socketsPerTenant.set(tenantId, held + 1);
        session.tenantId = tenantId;
        // The upgrade request (headers, streams: ~1 KB) would otherwise stay referenced for the
        // socket's lifetime; operations need only what is read from it here.
        session.publicBase = publicBaseOf(request, config.publicUrl);
        session.clientAddress = clientAddress(request, config.trustedProxies ?? TRUST_NO_PROXY);
        session.request = undefined;
        return true;
      } catch (err) {
        // Closed here to say why (graphql-ws's own close would say only "Forbidden"); the
        // messages are the public ones HTTP answers with, never the credential.
        const why = err instanceof GraphQLError ? err.message : 'the credential could not be checked';
        session.socket.close(CloseCode.Forbidden, `Forbidden: ${why}`.slice(0, 120));
        return false;
      }
    },
    // A fresh context per operation: loaders must not hold records for the socket's lifetime.
    // The principal is re-read per operation, so a query sent over the socket sees connections
    // added or removed since it opened (subscriptions are checked per event, see resolvers/events.ts);
    // when nothing changed, the socket's principal object is reused rather than kept once per operation.
    context: async (ctx, id, _payload, args) => {
      const session = ctx.extra;
      const principal = (session.principal = principals.canonical(await authenticate(session.authorization)));
      // No AbortSignal until something needs one (a subscription's context lives as long as it does).
      const rc = new RequestContext(services, principal, null, Date.now() + config.limits.requestDeadlineMs);
      rc.publicBase = session.publicBase ?? 'http://localhost';
      if (getOperationAST(args.document, args.operationName)?.operation === 'subscription')
        (args as DirectArgs).direct = new SocketDelivery(session.socket, JSON.stringify(id), serialize, config.limits.socketMaxBufferedBytes);
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
      const record = operations.started(ctx.extra.socket, id, {
        requestId: ctx.extra.requestId,
        tenantId: ctx.extra.principal?.tenant.id ?? '',
        operationType: op?.operation ?? 'unknown',
        operationName: op?.name?.value ?? null,
        clientAddress: ctx.extra.clientAddress,
      });
      const direct = (args as DirectArgs).direct;
      if (direct) direct.record = record;
    },
    onComplete: (ctx, id) => operations.stopped(ctx.extra.socket, id),
    // Errors graphql-ws sends in an `error` message: an operation refused (limits, validation,
    // scopes) or a subscription whose stream failed (e.g. `after` older than the retained history).
    // They get the public codes and masking of HTTP answers, and their codes reach the log line.
    onError: (ctx, id, _payload, errors) => {
      const out = errors.map((e) => withoutHttp(format(e.toJSON(), e)));
      const session = ctx.extra;
      operations.errors(
        session.socket,
        id,
        out.map((e) => String(e.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR')),
        { requestId: session.requestId, tenantId: session.tenantId ?? '', clientAddress: session.clientAddress },
      );
      return out;
    },
    // Results that graphql-ws sends itself (queries over the socket, errors); shared subscription
    // results go straight to the socket (SocketDelivery) and are counted there.
    onNext: (ctx, id, _payload, _args, result) => {
      operations.result(ctx.extra.socket, id);
      return formatted(result);
    },
    subscribe: (args) => {
      const rc = args.contextValue as RequestContext;
      return sharedSubscribe(args, rc.tenant.id, (args as DirectArgs).direct);
    },
  });

  const events: SocketEvents = {
    message(session, data) {
      session.handler?.(String(data)).catch((err: unknown) => internalError(session.socket, err, 'unexpected error handling a graphql-ws message'));
    },
    pong(session) {
      session.alive = true;
    },
    error(session, err) {
      internalError(session.socket, err, 'error on a subscription socket');
    },
    close(session, code, reason) {
      if (!sessions.delete(session)) return;
      session.socket.session = null;
      if (session.initTimer) clearTimeout(session.initTimer);
      session.initTimer = null;
      operations.socketClosed(session.socket, code);
      if (session.tenantId !== null) {
        const left = (socketsPerTenant.get(session.tenantId) ?? 1) - 1;
        if (left > 0) socketsPerTenant.set(session.tenantId, left);
        else socketsPerTenant.delete(session.tenantId);
      }
      session.closed?.(code, String(reason)).catch((err: unknown) => log.error({ err }, 'unexpected error closing a subscription socket'));
    },
  };
  const initTimeout = (session: Session) => {
    session.initTimer = null;
    session.socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
  };

  // The upgrade's request id, sent back on the 101 answer (as HTTP answers carry theirs) and kept by the socket's session.
  const upgradeIds = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (headers: string[], request: IncomingMessage) => {
    const requestId = requestIdOf(request);
    upgradeIds.set(request, requestId);
    headers.push(`X-Request-Id: ${requestId}`);
  });
  let serial = 0;
  wss.on('connection', (socket: GatewaySocket, request: IncomingMessage) => {
    const session = new Session(socket, events, request, serial++, upgradeIds.get(request) ?? requestIdOf(request));
    sessions.add(session);
    socket.session = session;
    session.initTimer = setTimeout(initTimeout, config.limits.socketInitTimeoutMs, session);
    session.closed = protocol.opened(session, session);
  });
  wss.on('error', (err) => {
    log.error({ err }, 'error on the WebSocket server');
    for (const socket of wss.clients) internalError(socket, err, 'closing a subscription socket: the WebSocket server failed');
  });

  // Keep-alive (graphql-ws's useServer default period, 12 s): every socketKeepAliveMs each socket is
  // pinged, and one that did not answer the previous ping is terminated (its operations end; the
  // client reconnects and resumes).
  let tick = 0;
  const keepAlive = setInterval(() => {
    const slice = tick++ % KEEP_ALIVE_SLICES;
    for (const session of sessions) {
      if (session.slice !== slice || session.socket.readyState !== session.socket.OPEN) continue;
      if (!session.alive) {
        session.socket.terminate();
        continue;
      }
      session.alive = false;
      session.socket.ping();
    }
  }, config.limits.socketKeepAliveMs / KEEP_ALIVE_SLICES);
  keepAlive.unref();

  // A socket outlives the check made when it opened: every credentialRecheckMs its credential is
  // checked again, and a revoked API key or an expired JWT closes it (Forbidden). A store outage
  // (SERVICE_UNAVAILABLE) closes nothing.
  const recheck = setInterval(() => {
    for (const session of sessions) {
      if (session.tenantId === null) continue;
      authenticate(session.authorization).catch((err: unknown) => {
        if (err instanceof GraphQLError && err.extensions.code === 'UNAUTHENTICATED' && sessions.has(session)) {
          log.info('closing a subscription socket whose credential is no longer valid');
          session.socket.close(CloseCode.Forbidden, 'Forbidden: the credential was revoked or has expired');
        }
      });
    }
  }, config.limits.credentialRecheckMs);
  recheck.unref();

  return {
    async dispose() {
      clearInterval(recheck);
      clearInterval(keepAlive);
      // 1001 (going away, RFC 6455) with a reason: the client knows to reconnect, through the
      // proxy, to another replica and resume with `after:`.
      const sockets = wss.clients.size;
      for (const socket of wss.clients) socket.close(GOING_AWAY, GOING_AWAY_REASON);
      // A client that does not answer the close handshake does not hold the shutdown up.
      const unanswered = setTimeout(() => {
        for (const socket of wss.clients) socket.terminate();
      }, 2_000);
      unanswered.unref();
      // Resolves once every socket has closed (ws's server close waits for its clients).
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(unanswered);
      return sockets;
    },
  };
}

/** Execution arguments of a subscription, carrying where its results are written directly. */
type DirectArgs = ExecutionArgs & { direct?: SocketDelivery };

/**
 * One principal object per distinct (tenant view, actor, scopes) among open sockets and their
 * operations: every socket and operation authenticates on its own, and each answer is a new
 * object (~300 bytes with its scope set) that an idle subscription would keep. An equal earlier
 * answer is reused; a changed one (other scopes, connections added or removed) replaces it.
 */
class PrincipalPool {
  private readonly byKey = new Map<string, Principal>();

  canonical(fresh: Principal): Principal {
    const key = `${fresh.tenant.id}\n${fresh.actor ?? ''}\n${[...fresh.scopes].sort().join(' ')}`;
    const known = this.byKey.get(key);
    if (known && samePrincipal(known, fresh)) return known;
    // Bounded: forgetting only costs memory for later sockets, never correctness.
    if (this.byKey.size >= 10_000) this.byKey.clear();
    this.byKey.set(key, fresh);
    return fresh;
  }
}

/** Whether a re-authenticated principal grants exactly what the socket's current one does. */
function samePrincipal(a: Principal, b: Principal): boolean {
  if (a.actor !== b.actor || a.scopes.size !== b.scopes.size) return false;
  for (const s of a.scopes) if (!b.scopes.has(s)) return false;
  return a.tenant === b.tenant || isDeepStrictEqual(a.tenant, b.tenant);
}

/** An error without the HTTP status and headers some carry for HTTP answers (Apollo drops them there too). */
function withoutHttp(error: GraphQLFormattedError): GraphQLFormattedError {
  if (!error.extensions || !('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return { ...error, extensions };
}

/** A close reason fits in a control frame (123 bytes). */
function limitReason(reason: string): string {
  return Buffer.byteLength(reason) < 123 ? reason : 'Internal server error';
}

/**
 * Writes a subscription's results straight to its socket as graphql-transport-ws `next` frames:
 * the shared, already serialized payload with this operation's id spliced in front, so a result is
 * serialized once however many sockets receive it (graphql-ws would stringify it once per socket).
 * The frame is byte-for-byte what graphql-ws's own `stringifyMessage` produces. One object per
 * subscription (an idle subscription keeps it).
 */
class SocketDelivery implements DirectDelivery {
  /** The operation's log record (results counted there), once onOperation has made it. */
  record: RunningOperation | null = null;

  constructor(
    private readonly socket: WebSocket,
    /** The operation id as JSON. */
    private readonly idJson: string,
    readonly serialize: (result: ExecutionResult) => Buffer,
    /**
     * A socket whose unsent bytes exceed this (limits.socketMaxBufferedBytes) is too far behind: its
     * subscriptions end with "too slow" (the client resumes with `after`), instead of the gateway
     * buffering for it without bound.
     */
    private readonly maxBufferedBytes: number,
  ) {}

  send(body: Buffer): boolean {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return true; // closing: graphql-ws ends the operation
    if (socket.bufferedAmount > this.maxBufferedBytes) return false;
    const head = `{"id":${this.idJson},"type":"next","payload":`;
    const headBytes = Buffer.byteLength(head);
    const frame = Buffer.allocUnsafe(headBytes + body.length + 1);
    frame.write(head, 0);
    body.copy(frame, headBytes);
    frame[frame.length - 1] = 0x7d; // }
    socket.send(frame, { binary: false });
    if (this.record) this.record.results++;
    return true;
  }
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
