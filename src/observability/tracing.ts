// OpenTelemetry tracing, off by default. Only @opentelemetry/api (a few kB of no-op facades) is
// imported statically; the SDK, the OTLP exporter and the context manager are loaded with a
// dynamic import() when tracing is configured (OTEL_EXPORTER_OTLP_ENDPOINT, or an exporter passed
// in by a test), so a gateway without tracing never loads them and pays one null check per span site.
//
// Spans: one per HTTP request (server), one per GraphQL operation (child of it; an Apollo plugin),
// one per upstream call (child of the operation: provider, operation, HTTP status, retries), and for
// each webhook event one per worker attempt and one for the publish, linked to the webhook's request
// through a W3C traceparent carried in the queue job's data.
import { context, trace, SpanKind, SpanStatusCode, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';

/** The exporter interface of @opentelemetry/sdk-trace-base, as far as we use it (tests pass an in-memory one). */
export type SpanExporterLike = object;

export interface TracingOptions {
  /** OTLP/HTTP traces endpoint (…/v1/traces). Unset and no exporter: tracing is off. */
  endpoint?: string | undefined;
  /** A span exporter to use instead of OTLP (tests); exported synchronously (SimpleSpanProcessor). */
  exporter?: SpanExporterLike | undefined;
  serviceName?: string | undefined;
}

/** A W3C trace-context carrier (traceparent, tracestate) as it travels in a queue job. */
export type TraceCarrier = Record<string, string>;

export interface Tracing {
  readonly enabled: boolean;
  /** Starts a span under the current GraphQL operation (if any) or the active span. */
  startSpan(name: string, attributes: Attributes, kind?: SpanKind): Span | null;
  /** Runs `fn` with a new active span (ended when `fn` settles); plain `fn()` when off. */
  withSpan<T>(
    name: string,
    attributes: Attributes,
    fn: (span: Span | null) => Promise<T>,
    options?: { kind?: SpanKind; parent?: TraceCarrier | undefined },
  ): Promise<T>;
  /** Runs `fn` with `span` as the active span (it is not ended here). */
  withSpanContext<T>(span: Span, fn: () => T): T;
  /** Runs `fn` where GraphQL-operation spans started inside can become the parent of later spans. */
  withOperationSlot<T>(fn: () => T): T;
  /** Makes `span` the parent of upstream spans started later in this request (the Apollo plugin calls it). */
  setOperationSpan(span: Span): void;
  /** The active trace context as a carrier for a queue job; undefined when off or nothing is active. */
  inject(): TraceCarrier | undefined;
  shutdown(): Promise<void>;
}

const noop: Tracing = {
  enabled: false,
  startSpan: () => null,
  withSpan: (_name, _attrs, fn) => fn(null),
  withSpanContext: (_span, fn) => fn(),
  withOperationSlot: (fn) => fn(),
  setOperationSpan: () => undefined,
  inject: () => undefined,
  shutdown: async () => undefined,
};

export const TRACING_OFF: Tracing = noop;

/** Where the request's GraphQL-operation span is kept (Apollo's hooks cannot make it the active span). */
const OPERATION_SLOT = Symbol.for('switchboard.graphql-operation-span');
interface OperationSlot {
  span: Span | null;
}

/** The tracing of one gateway: off unless an endpoint or exporter is given. */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (!options.endpoint && !options.exporter) return TRACING_OFF;
  // Loaded only here: a gateway without tracing never imports the SDK (test/observability-tracing.test.ts).
  const [node, base, core, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  let processor;
  if (options.exporter) processor = new base.SimpleSpanProcessor(options.exporter as never);
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new base.BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint }));
  }
  const provider = new node.NodeTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': options.serviceName ?? 'switchboard' }),
    spanProcessors: [processor],
  });
  // Installs the AsyncLocalStorage context manager (first gateway in the process wins; the
  // manager is stateless, so later gateways share it). Our tracer and propagator stay our own.
  provider.register();
  const tracer: Tracer = provider.getTracer('switchboard');
  const propagator = new core.W3CTraceContextPropagator();
  const getter = { keys: (c: TraceCarrier) => Object.keys(c), get: (c: TraceCarrier, k: string) => c[k] };
  const setter = { set: (c: TraceCarrier, k: string, v: string) => void (c[k] = v) };

  const parentContext = (): Context => {
    const active = context.active();
    const slot = active.getValue(OPERATION_SLOT) as OperationSlot | undefined;
    return slot?.span ? trace.setSpan(active, slot.span) : active;
  };

  return {
    enabled: true,
    startSpan: (name, attributes, kind = SpanKind.INTERNAL) => tracer.startSpan(name, { attributes, kind }, parentContext()),
    async withSpan(name, attributes, fn, opts = {}) {
      const parent = opts.parent ? propagator.extract(context.active(), opts.parent, getter) : parentContext();
      const span = tracer.startSpan(name, { attributes, kind: opts.kind ?? SpanKind.INTERNAL }, parent);
      try {
        return await context.with(trace.setSpan(parent, span), () => fn(span));
      } catch (err) {
        span.recordException({ name: (err as Error)?.name ?? 'Error', message: (err as Error)?.message ?? String(err) });
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    },
    withSpanContext: (span, fn) => context.with(trace.setSpan(context.active(), span), fn),
    withOperationSlot: (fn) => context.with(context.active().setValue(OPERATION_SLOT, { span: null } satisfies OperationSlot), fn),
    setOperationSpan(span) {
      const slot = context.active().getValue(OPERATION_SLOT) as OperationSlot | undefined;
      if (slot) slot.span = span;
    },
    inject() {
      const carrier: TraceCarrier = {};
      propagator.inject(context.active(), carrier, setter);
      return carrier.traceparent ? carrier : undefined;
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}

export { SpanKind, SpanStatusCode };
export type { Span };
