// One log line when an operation starts over graphql-ws and one when it stops, and (tracing on) a
// span covering it: HTTP requests get theirs from request-log.ts, but a subscription lives on a
// socket for minutes or days, so it gets its own. Lines carry the tenant, the operation's type and
// name, the graphql-ws operation id, the client address, and on stop the duration, the results sent
// and the socket's close code when the socket closing ended it — never the credential, the
// variables or the document. docs/operations.md documents the fields.
import type { Logger } from 'pino';
import { SpanKind, SpanStatusCode, type Span, type Tracing } from './tracing.ts';

interface Running {
  started: number;
  results: number;
  line: { tenantId: string; operation: { type: string; name: string | null }; subscriptionId: string; clientAddress?: string };
  span: Span | null;
}

export interface SubscriptionStart {
  tenantId: string;
  operationType: string;
  operationName: string | null;
  clientAddress?: string | undefined;
}

/** Operations running on sockets, keyed by socket then graphql-ws operation id. */
export class SubscriptionLog {
  private readonly running = new WeakMap<object, Map<string, Running>>();
  private readonly closeCodes = new WeakMap<object, number>();

  constructor(
    private readonly log: Logger,
    private readonly tracing: Tracing,
  ) {}

  /** The socket closed with `code` (call from its 'close' listener): operations it ends report it. */
  socketClosed(socket: object, code: number): void {
    this.closeCodes.set(socket, code);
  }

  started(socket: object, id: string, op: SubscriptionStart): void {
    const line = {
      tenantId: op.tenantId,
      operation: { type: op.operationType, name: op.operationName },
      subscriptionId: id,
      ...(op.clientAddress ? { clientAddress: op.clientAddress } : {}),
    };
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
    let bySocket = this.running.get(socket);
    if (!bySocket) this.running.set(socket, (bySocket = new Map()));
    bySocket.set(id, { started: performance.now(), results: 0, line, span });
    this.log.info(line, 'subscription started');
  }

  /** A result (event or query answer) was sent for the operation. */
  result(socket: object, id: string): void {
    const r = this.running.get(socket)?.get(id);
    if (r) r.results++;
  }

  /** The operation ended: completed by either side, or its socket closed. */
  stopped(socket: object, id: string, errorCodes?: string[]): void {
    const bySocket = this.running.get(socket);
    const r = bySocket?.get(id);
    if (!r) return;
    bySocket!.delete(id);
    const durationMs = Math.round((performance.now() - r.started) * 10) / 10;
    const closeCode = this.closeCodes.get(socket);
    this.log.info(
      {
        ...r.line,
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
