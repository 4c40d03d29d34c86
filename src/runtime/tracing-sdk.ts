import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, diag, DiagLogLevel, propagation, trace, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  ReadableSpan,
  Sampler,
  SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { FastifyInstance } from 'fastify';
import { Logger } from 'pino';
import { TracingSettings } from './tracing.config';

/** Spans counted on their way out, so a benchmark or an operator can tell how many the batch processor dropped. */
export interface SpanCounts {
  ended: number;
  exported: number;
  failed: number;
}

/**
 * The OpenTelemetry SDK of a process with tracing on: a tracer provider with
 * a batch processor and the configured exporter, W3C trace context as the
 * global propagator, and the Fastify instrumentation. `Tracing` requires
 * this file only when tracing is on, so a process with tracing off never
 * loads the SDK, its exporters or @fastify/otel.
 */
export class TracingSdk {
  readonly tracer: Tracer;
  private readonly counts: SpanCounts = { ended: 0, exported: 0, failed: 0 };
  private readonly provider: NodeTracerProvider;
  private fastify?: FastifyOtelInstrumentation;

  constructor(
    settings: TracingSettings,
    private readonly log: Logger,
  ) {
    // The SDK reports export failures and dropped spans through diag: make them log lines.
    diag.setLogger(
      {
        error: (message, ...args) => log.error({ args }, message),
        warn: (message, ...args) => log.warn({ args }, message),
        info: (message, ...args) => log.info({ args }, message),
        debug: (message, ...args) => log.debug({ args }, message),
        verbose: (message, ...args) => log.trace({ args }, message),
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    const processor = new BatchSpanProcessor(this.countingExporter(createExporter(settings)));
    this.provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
      sampler: createSampler(settings),
      spanProcessors: [
        {
          onStart: () => undefined,
          onEnd: (span: ReadableSpan) => {
            this.counts.ended += 1;
            processor.onEnd(span);
          },
          forceFlush: () => processor.forceFlush(),
          shutdown: () => processor.shutdown(),
        },
      ],
    });
    // Global context manager (AsyncLocalStorage) and the W3C trace context and baggage propagators.
    this.provider.register();
    this.tracer = this.provider.getTracer(settings.serviceName);
  }

  /** Request spans through @fastify/otel; call before the routes are registered (before app.init()). */
  instrument(fastify: FastifyInstance): void {
    // A request span and a handler span; a span per hook (the metrics hook, Nest's own) would be noise.
    this.fastify = new FastifyOtelInstrumentation({ instrumentHooks: false });
    this.fastify.setTracerProvider(this.provider);
    // Applied at once, as the plugin's own registerOnInitialization does: fastify.register() would run it too late.
    this.fastify.plugin()(fastify, {}, () => undefined);
  }

  spanCounts(): SpanCounts {
    return { ...this.counts };
  }

  /** Exports what is queued; a failed export is logged (and counted), never thrown. */
  async forceFlush(): Promise<void> {
    await this.provider.forceFlush().catch((error: unknown) => this.log.error({ err: error }, 'spans not exported'));
  }

  /** Exports what is left, then unregisters the globals. */
  async shutdown(): Promise<void> {
    this.fastify?.disable();
    await this.provider.shutdown().catch((error: unknown) => this.log.error({ err: error }, 'spans not exported'));
    // The queue is empty now: whatever was neither exported nor failed was dropped (the SDK warns only while spans keep coming).
    const { ended, exported, failed } = this.counts;
    if (ended > exported + failed) this.log.warn({ dropped: ended - exported - failed, ended }, 'spans dropped by the batch processor');
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
  }

  private countingExporter(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans, done) =>
        exporter.export(spans, (result) => {
          // ExportResultCode.SUCCESS is 0.
          if (result.code === 0) this.counts.exported += spans.length;
          else this.counts.failed += spans.length;
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }
}

function createExporter(settings: TracingSettings): SpanExporter {
  if (settings.exporter === 'zipkin') {
    return new ZipkinExporter({ url: settings.zipkinEndpoint, serviceName: settings.serviceName });
  }
  return new OTLPTraceExporter({ url: `${settings.otlpEndpoint}/v1/traces` });
}

function createSampler({ sampler, samplerRatio }: TracingSettings): Sampler {
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(samplerRatio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(samplerRatio) });
  }
}
