import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { AppLogger } from '../../src/runtime/logger';
import { parseSettings } from '../../src/settings';
import { Tracing } from '../../src/runtime/tracing';

/** A logger and Tracing built as the runtime module builds them, with the lines kept. */
function build(env: Record<string, string>) {
  const settings = parseSettings({ COFFEEBUDDY_LOG_FORMAT: 'json', ...env });
  const lines: string[] = [];
  const logger = new AppLogger(settings.log, { write: (line: string) => void lines.push(line) }, settings.tracing);
  const tracing = new Tracing(settings.tracing, logger);
  return { logger, tracing, lines: () => lines.map((line) => JSON.parse(line)) };
}

describe('Tracing and the logger', () => {
  it('adds the ids of the active span to each line written inside it, and none outside', async () => {
    // Sampling off: the span has ids but nothing is exported, so no collector is needed.
    const { logger, tracing, lines } = build({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'always_off' });
    try {
      expect(tracing.enabled).toBe(true);
      const ids = await tracing.tracer.startActiveSpan('work', async (span) => {
        await Promise.resolve(); // the context survives an await
        logger.child('Test').info('inside');
        span.end();
        return span.spanContext();
      });
      logger.child('Test').info('outside');
      const [inside, outside] = lines();
      expect(inside).toMatchObject({ msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId });
      expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(outside.msg).toBe('outside');
      expect(outside).not.toHaveProperty('trace_id');
    } finally {
      await tracing.onApplicationShutdown();
    }
  });

  it('registers nothing and adds no fields when tracing is off', async () => {
    const { logger, tracing, lines } = build({});
    expect(tracing.enabled).toBe(false);
    await tracing.tracer.startActiveSpan('work', async (span) => {
      logger.child('Test').info('inside');
      span.end();
    });
    expect(trace.getActiveSpan()).toBeUndefined();
    expect(lines()[0]).not.toHaveProperty('trace_id');
    expect(lines()[0]).not.toHaveProperty('span_id');
  });

  it('logs and counts a failed export', async () => {
    // A collector that refuses every export (400 is not retried by the OTLP exporter).
    const collector = createServer((request, response) => request.resume().on('end', () => response.writeHead(400).end()));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    const { tracing, lines } = build({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    try {
      tracing.tracer.startSpan('lost').end();
      await tracing.forceFlush();
      expect(tracing.spanCounts()).toEqual({ ended: 1, exported: 0, failed: 1 });
      expect(lines().find((line) => line.context === 'Tracing')).toMatchObject({ level: 'error', msg: 'spans not exported' });
    } finally {
      await tracing.onApplicationShutdown();
      collector.close();
    }
  });

  it('logs at shutdown how many spans the batch processor dropped', async () => {
    const collector = createServer((request, response) => request.resume().on('end', () => response.writeHead(200).end()));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    const { tracing, lines } = build({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    try {
      // More than the queue holds (2048), ended at once.
      for (let i = 0; i < 3000; i += 1) tracing.tracer.startSpan('burst').end();
    } finally {
      await tracing.onApplicationShutdown();
      collector.close();
    }
    const { ended, exported, failed } = tracing.spanCounts();
    expect(ended).toBe(3000);
    expect(failed).toBe(0);
    expect(exported).toBeLessThan(3000);
    expect(lines().find((line) => line.msg === 'spans dropped by the batch processor')).toMatchObject({
      level: 'warn',
      dropped: 3000 - exported,
      ended: 3000,
    });
  });
});
