import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { trace, Tracer } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { AppLogger } from './logger';
import type { SpanCounts, TracingSdk } from './tracing-sdk';
import { TracingSettings } from './tracing.config';

export type { SpanCounts } from './tracing-sdk';

/**
 * OpenTelemetry for the process. With tracing on it starts the SDK
 * (`tracing-sdk.ts`: provider, exporter, W3C propagation, the Fastify
 * instrumentation); with tracing off nothing is registered, nothing of the
 * SDK is even loaded, and `enabled` lets callers skip span work altogether.
 */
@Injectable()
export class Tracing implements OnApplicationShutdown {
  readonly enabled: boolean;
  /** A no-op tracer when tracing is off. */
  readonly tracer: Tracer;
  private readonly sdk?: TracingSdk;

  constructor(settings: TracingSettings, logger: AppLogger) {
    this.enabled = settings.enabled;
    if (!settings.enabled) {
      this.tracer = trace.getTracer(settings.serviceName);
      return;
    }
    // Required here rather than imported: the SDK and its exporters cost start-up time and memory that tracing off never uses.
    const { TracingSdk } = require('./tracing-sdk') as typeof import('./tracing-sdk');
    this.sdk = new TracingSdk(settings, logger.child('Tracing'));
    this.tracer = this.sdk.tracer;
  }

  /** Request spans through @fastify/otel; call before the routes are registered (before app.init()). */
  instrument(fastify: FastifyInstance): void {
    this.sdk?.instrument(fastify);
  }

  /** Spans ended, exported and lost in failed exports so far; the rest are queued or were dropped. */
  spanCounts(): SpanCounts {
    return this.sdk?.spanCounts() ?? { ended: 0, exported: 0, failed: 0 };
  }

  /** Exports what is queued; a failed export is logged (and counted), never thrown. */
  async forceFlush(): Promise<void> {
    await this.sdk?.forceFlush();
  }

  /** Runs last on shutdown, after the consumer drained: exports what is left, then unregisters the globals. */
  async onApplicationShutdown(): Promise<void> {
    await this.sdk?.shutdown();
  }
}
