// One log line when an operation starts over graphql-ws and one when it stops, and (tracing on) a
// span covering it: HTTP requests get theirs from request-log.ts, but a subscription lives on a
// socket for minutes or days, so it gets its own. Lines carry the tenant, the operation's type and
// name, the graphql-ws operation id, the client address, and on stop the duration, the results sent
// and the socket's close code when the socket closing ended it — never the credential, the
// variables or the document. docs/operations.md documents the fields.
import type { Logger } from 'pino';
import { SpanKind, SpanStatusCode, type Span, type Tracing } from './tracing.ts';

/** One running operation (one object: an idle subscription keeps it for its lifetime). */
export class RunningOperation {
  readonly started = performance.now();
  /** Results sent for it (counted by whoever sends them). */
  results = 0;

  constructor(
    readonly id: string,
    readonly tenantId: string,
    readonly operationType: string,
    readonly operationName: string | null,
    readonly clientAddress: string | undefined,
    readonly span: Span | null,
  ) {}

  line(): { tenantId: string; operation: { type: string; name: string | null }; subscriptionId: string; clientAddress?: string } {
    return {
      tenantId: this.tenantId,
      operation: { type: this.operationType, name: this.operationName },
      subscriptionId: this.id,
      ...(this.clientAddress ? { clientAddress: this.clientAddress } : {}),
    };
  }
}

export interface SubscriptionStart {
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
          },
          SpanKind.SERVER,
        )
      : null;
    const r = new RunningOperation(id, op.tenantId, op.operationType, op.operationName, op.clientAddress || undefined, span);
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

  /** The operation ended: completed by either side, or its socket closed. */
  stopped(socket: object, id: string, errorCodes?: string[]): void {
    const r = this.find(socket, id);
    if (!r) return;
    const current = this.running.get(socket);
    if (current instanceof Map) current.delete(id);
    else this.running.delete(socket);
    const durationMs = Math.round((performance.now() - r.started) * 10) / 10;
    const closeCode = this.closeCodes.get(socket);
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
      if (errorCodes?.length) r.span.setStatus({ code: SpanStatusCode.ERROR });
      r.span.end();
    }
  }
}
