import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DIST_DIR } from '../support/dist';
import { benchEvents } from '../support/events';

/**
 * What each step of the consumer pipeline costs per message, in isolation,
 * on the compiled service code (dist/, or BENCH_DIST), and some alternatives
 * discussed in docs/benchmarks.md. Not part of `npm run bench`; run it with
 * `node -r ./bench/register.js bench/micro/hot-path.ts` after `npm run build`.
 */
const logger = require(join(DIST_DIR, 'runtime/logger')) as typeof import('../../src/runtime/logger');
const schema = require(join(DIST_DIR, 'run-events/run-event.schema')) as typeof import('../../src/run-events/run-event.schema');
const runEventMetrics = require(join(DIST_DIR, 'run-events/run-event-metrics')) as typeof import('../../src/run-events/run-event-metrics');
const dedupe = require(join(DIST_DIR, 'run-events/dedupe-window')) as typeof import('../../src/run-events/dedupe-window');

const N = 100_000;
const ROUNDS = 5;

/** Best of ROUNDS passes over N items, in nanoseconds per item (the least disturbed pass). */
function measure(name: string, body: (i: number) => void): number {
  for (let i = 0; i < N; i += 1) body(i); // warm-up: JIT, caches
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < N; i += 1) body(i);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / N);
  }
  process.stdout.write(`${name.padEnd(78)} ${(best / 1000).toFixed(2).padStart(6)} us\n`);
  return best;
}

const events = benchEvents(N);
const values = events.map((event) => Buffer.from(JSON.stringify(event)));
const topic = 'bench.run.events';

// ---- logging: the "run event handled" line, as RunEventPipeline writes it (per-batch
// bindings topic and partition). The formatting is measured with a destination
// that only counts bytes; the destination itself separately below.
let written = 0;
const sink = (): pino.DestinationStream => ({ write: (text: string) => void (written += text.length) });
const line = (log: pino.Logger, i: number) =>
  log.info({ eventId: events[i].id, type: events[i].type, runId: events[i].runId, offset: i }, 'run event handled');

const service = new logger.AppLogger({ level: 'info', format: 'json' }, sink()).child('RunEventPipeline').child({ topic, partition: 0 });
measure('log line: AppLogger as configured, formatting only', (i) => line(service, i));

const options = (paths: string[], timestamp: () => string): pino.LoggerOptions => ({
  level: 'info',
  base: { service: 'coffeebuddy-runtime' },
  redact: { paths, censor: '[redacted]' },
  timestamp,
  formatters: { level: (label) => ({ level: label }) },
});
const wildcards = ['*.token', '*.password', '*.authorization', '*.sasl', '*.headers["x-vault-token"]'];
const withWildcards = pino(options([...logger.REDACTED_PATHS, ...wildcards], pino.stdTimeFunctions.isoTime), sink())
  .child({ context: 'RunEventPipeline' })
  .child({ topic, partition: 0 });
measure('log line: with "*." wildcard redact paths and isoTime per line (before)', (i) => line(withWildcards, i));
const isoPerLine = pino(options([...logger.REDACTED_PATHS], pino.stdTimeFunctions.isoTime), sink())
  .child({ context: 'RunEventPipeline' })
  .child({ topic, partition: 0 });
measure('log line: explicit redact paths, isoTime per line', (i) => line(isoPerLine, i));
process.stdout.write(`(${(written / 2 ** 20).toFixed(0)} MiB of log lines formatted)\n`);

// The destination: sonic-boom, asynchronous. In its string mode (before), while a write
// is in flight, lines are appended to a pending chunk of at most maxWrite bytes, whose
// byte length sonic-boom measures again on every write. In its buffer mode (as
// createDestination() builds it now) a line is encoded once and its length kept as a number.
let text = '';
new logger.AppLogger({ level: 'info', format: 'json' }, { write: (formatted: string) => void (text = formatted) })
  .child('RunEventPipeline')
  .child({ topic, partition: 0 })
  .info({ eventId: events[0].id, type: events[0].type, runId: events[0].runId, offset: 0 }, 'run event handled');
for (const maxWrite of [16 * 1024, 4 * 1024]) {
  const destination = pino.destination({ dest: '/dev/null', sync: false, maxWrite });
  measure(`destination: one ${text.length}-byte line into sonic-boom, maxWrite ${maxWrite / 1024} KiB`, () => destination.write(text));
}
const buffered = pino.destination({ dest: '/dev/null', sync: false, contentMode: 'buffer', maxWrite: 64 * 1024 });
measure(`destination: one ${text.length}-byte line into sonic-boom, buffer mode, maxWrite 64 KiB (as now)`, () =>
  buffered.write(Buffer.from(text) as unknown as string),
);

// ---- decode and validate
measure('decode: JSON.parse(value.toString()) only (what the kafkajs baselines do)', (i) => JSON.parse(values[i].toString()));
measure('decode: decodeRunEvent (size checks, JSON.parse, zod schema)', (i) => schema.decodeRunEvent(values[i], 65536));

// ---- metrics
const metrics = new runEventMetrics.RunEventMetrics(new Registry());
measure('metrics: 2 counters + 1 histogram observe per message', () => {
  metrics.handlingDuration.observe({ topic }, 0.0001);
  metrics.consumed.inc({ topic, outcome: 'handled' });
  metrics.runEventsHandled.inc({ type: 'run.order_placed' });
});
measure('metrics: histogram observe per message, counters once per 500-message batch (as now)', (i) => {
  metrics.handlingDuration.observe({ topic }, 0.0001);
  if (i % 500 === 0) {
    metrics.consumed.inc({ topic, outcome: 'handled' }, 500);
    metrics.runEventsHandled.inc({ type: 'run.order_placed' }, 500);
  }
});

// ---- dedupe window (default size 100,000), fresh ids as in the consume benchmark
const ids = Array.from({ length: N }, () => randomUUID());
const window = new dedupe.DedupeWindow(100_000);
measure('dedupe: DedupeWindow.has + add (window of 100,000)', (i) => {
  if (!window.has(ids[i])) window.add(ids[i]);
});

// ---- timing of each message
measure('timing: two performance.now() calls', () => {
  performance.now();
  performance.now();
});

// ---- tracing off (no OTEL_* set): what the pipeline still does per message
const settingsModule = require(join(DIST_DIR, 'settings')) as typeof import('../../src/settings');
const tracingModule = require(join(DIST_DIR, 'runtime/tracing')) as typeof import('../../src/runtime/tracing');
const kafkaTracingModule = require(join(DIST_DIR, 'kafka/kafka-tracing')) as typeof import('../../src/kafka/kafka-tracing');
const untraced = settingsModule.parseSettings({});
const tracingOff = new kafkaTracingModule.KafkaTracing(
  new tracingModule.Tracing(untraced.tracing, new logger.AppLogger(untraced.log, { write: () => undefined })),
  untraced.kafka,
);
measure('tracing off: the enabled check, a closure, and identified() per message', (i) => {
  const handle = () => ids[i];
  if (tracingOff.enabled) throw new Error('tracing should be off');
  handle();
  tracingOff.identified(ids[i]);
});
