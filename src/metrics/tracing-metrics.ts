import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { Tracing } from '../runtime/tracing';

/**
 * Spans of the tracer provider by outcome, read from Tracing at scrape time
 * (nothing on the hot path). `ended - exported - export_failed` is what is
 * queued or was dropped by the batch processor; past its queue size (2048) it is drops.
 */
@Injectable()
export class TracingMetrics {
  constructor(registry: Registry, tracing: Tracing) {
    if (!tracing.enabled) return;
    new Counter({
      name: 'coffeebuddy_tracing_spans_total',
      help: 'Spans ended, exported, and lost in failed exports, since start.',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const { ended, exported, failed } = tracing.spanCounts();
        this.reset();
        this.inc({ outcome: 'ended' }, ended);
        this.inc({ outcome: 'exported' }, exported);
        this.inc({ outcome: 'export_failed' }, failed);
      },
    });
  }
}
