// One log line when an operation starts over graphql-ws and one when it stops, and (tracing on) a
// span covering it: HTTP requests get theirs from request-log.ts, but a subscription lives on a
// socket for minutes or days, so it gets its own. Lines carry the socket's request id (its upgrade
// request's), the tenant, the operation's type and name, the graphql-ws operation id, the client
// address, and on stop the duration, the results sent, the error codes sent and the socket's close
// code when the socket closing ended it — never the credential, the variables or the document. An
// operation refused before it ran (limits, validation, scopes) gets one "subscription refused" line.
// docs/operations.md documents the fields.
import type { Logger } from 'pino';
import { SpanKind, SpanStatusCode, type Span, type Tracing } from './tracing.ts';

/** One running operation (one object: an idle subscription keeps it for its lifetime). */
export class RunningOperation {
  readonly started = performance.now();
  /** Results sent for it (counted by whoever sends them). */
  results = 0;
  /** extensions.code of the errors sent for it (an `error` message ending it), once there are any. */
  errorCodes: string[] | null = null;

  constructor(
    readonly requestId: string,
    readonly id: string,
    readonly tenantId: string,
    readonly operationType: string,
    readonly operationName: string | null,
    readonly clientAddress: string | undefined,
    readonly span: Span | null,
  ) {}

  line(): { requestId: string; tenantId: string; operation: { type: string; name: string | null }; subscriptionId: string; clientAddress?: string } {
    return {
      requestId: this.requestId,
      tenantId: this.tenantId,
      operation: { type: this.operationType, name: this.operationName },
      subscriptionId: this.id,
      ...(this.clientAddress ? { clientAddress: this.clientAddress } : {}),
    };
  }
}

export interface SubscriptionStart {
  /** The socket's request id (from its upgrade request). */
  requestId: string;
  tenantId: string;
  operationType: string;
  operationName: string | null;
  clientAddress?: string | undefined;
}

/**
 * Operations running on sockets, keyed by socket then graphql-ws operation id: a socket running one
 * operation (the usual case) maps straight to it, without a Map of its own.
 */
export class SubscriptionLog {
  private readonly running = new WeakMap<object, RunningOperation | Map<string, RunningOperation>>();
  private readonly closeCodes = new WeakMap<object, number>();

  constructor(
    private readonly log: Logger,
    private readonly tracing: Tracing,
  ) {}

  /** The socket closed with `code` (call from its 'close' listener): operations it ends report it. */
  socketClosed(socket: object, code: number): void {
    this.closeCodes.set(socket, code);
  }

  started(socket: object, id: string, op: SubscriptionStart): RunningOperation {
    const span = this.tracing.enabled
      ? this.tracing.startSpan(
          `graphql-ws ${op.operationType}${op.operationName ? ` ${op.operationName}` : ''}`,
          {
            'graphql.operation.type': op.operationType,
            ...(op.operationName ? { 'graphql.operation.name': op.operationName } : {}),
            'switchboard.tenant_id': op.tenantId,
            'switchboard.subscription_id': id,
            'switchboard.request_id': op.requestId,
          },
          SpanKind.SERVER,
        )
      : null;
    const r = new RunningOperation(op.requestId, id, op.tenantId, op.operationType, op.operationName, op.clientAddress || undefined, span);
    const current = this.running.get(socket);
    if (current === undefined) this.running.set(socket, r);
    else if (current instanceof Map) current.set(id, r);
    else
      this.running.set(
        socket,
        new Map([
          [current.id, current],
          [id, r],
        ]),
      );
    this.log.info(r.line(), 'subscription started');
    return r;
  }

  private find(socket: object, id: string): RunningOperation | undefined {
    const current = this.running.get(socket);
    if (current instanceof Map) return current.get(id);
    return current?.id === id ? current : undefined;
  }

  /** A result (event or query answer) was sent for the operation. */
  result(socket: object, id: string): void {
    const r = this.find(socket, id);
    if (r) r.results++;
  }

  /**
   * Errors were sent for the operation (graphql-ws `error` message): recorded for its stop line, or,
   * when it never started (refused by limits, validation or scopes), logged as a refusal.
   */
  errors(socket: object, id: string, codes: string[], refused: { requestId: string; tenantId: string; clientAddress?: string | undefined }): void {
    const r = this.find(socket, id);
    if (r) {
      r.errorCodes = codes;
      return;
    }
    this.log.warn(
      {
        requestId: refused.requestId,
        tenantId: refused.tenantId,
        subscriptionId: id,
        ...(refused.clientAddress ? { clientAddress: refused.clientAddress } : {}),
        errorCodes: codes,
      },
      'subscription refused',
    );
  }

  /** The operation ended: completed by either side, or its socket closed. */
  stopped(socket: object, id: string): void {
    const r = this.find(socket, id);
    if (!r) return;
    const current = this.running.get(socket);
    if (current instanceof Map) current.delete(id);
    else this.running.delete(socket);
    const durationMs = Math.round((performance.now() - r.started) * 10) / 10;
    const closeCode = this.closeCodes.get(socket);
    const errorCodes = r.errorCodes;
    this.log.info(
      {
        ...r.line(),
        durationMs,
        results: r.results,
        ...(closeCode !== undefined ? { closeCode } : {}),
        ...(errorCodes?.length ? { errorCodes } : {}),
      },
      'subscription stopped',
    );
    if (r.span) {
      r.span.setAttribute('switchboard.results', r.results);
      if (closeCode !== undefined) r.span.setAttribute('switchboard.ws.close_code', closeCode);
      if (errorCodes?.length) {
        r.span.setAttribute('graphql.error_codes', errorCodes);
        r.span.setStatus({ code: SpanStatusCode.ERROR });
      }
      r.span.end();
    }
  }
}
