import { randomBytes } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { startZipkin, ZipkinHandle } from '../../scripts/zipkin-server';
import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { PermanentEventError } from '../../src/run-events/run-event-errors';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import type { RunEvent } from '../../src/run-events/run-event.schema';
import { isolatedKafkaEnv, orderPlaced } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { testTimeout, waitFor } from '../support/wait';

/** Zipkin's JVM start (a heavier one than the broker's) while other test files run beside it on a loaded 2-core machine. */
const ZIPKIN_START_MS = 180_000;
const JOIN_MS = 60_000;

/** How long the service's batch span processor gathers spans before it exports them. */
const EXPORT_DELAY_MS = 200;

/** A span as Zipkin's v2 API returns it. */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  timestamp: number;
  kind?: string;
  tags?: Record<string, string>;
  annotations?: { timestamp: number; value: string }[];
  localEndpoint?: { serviceName?: string };
}

describe('traces exported to a real Zipkin server', () => {
  let zipkin: ZipkinHandle;
  let service: TestApp;
  let handlers: RecordingHandlers;
  let env: Record<string, string>;
  let topic: string;

  /** The trace's spans once Zipkin has at least `count` of them (export is batched, every EXPORT_DELAY_MS). */
  async function traceSpans(traceId: string, count: number): Promise<ZipkinSpan[]> {
    return waitFor(
      async () => {
        const response = await fetch(`${zipkin.url}/api/v2/trace/${traceId}`);
        if (response.status !== 200) return undefined;
        const spans = (await response.json()) as ZipkinSpan[];
        return spans.length >= count ? spans : undefined;
      },
      `${count} spans of trace ${traceId} in Zipkin`,
      45000,
    );
  }

  /** Publishes one event inside a root span started by the test, as a caller of the publisher would. */
  function publishInTrace(event: RunEvent): Promise<string> {
    return trace.getTracer('test').startActiveSpan('place order', async (root) => {
      await service.app.get(KafkaEventPublisher).publish({ topic, value: event });
      root.end();
      return root.spanContext().traceId;
    });
  }

  beforeAll(async () => {
    // The SDK's batch processor reads this standard variable (process.env is this file's own in Jest). Its
    // default, 5 s, would only make every test wait; what is checked is what gets exported, not when.
    process.env.OTEL_BSP_SCHEDULE_DELAY = String(EXPORT_DELAY_MS);
    zipkin = await startZipkin({ timeoutMs: ZIPKIN_START_MS });
    handlers = new RecordingHandlers();
    env = isolatedKafkaEnv();
    service = await startTestApp({
      env: {
        ...env,
        OTEL_TRACES_EXPORTER: 'zipkin',
        OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.spansEndpoint,
        OTEL_SERVICE_NAME: 'coffeebuddy-tracing-test',
      },
      override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers),
    });
    topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group', JOIN_MS);
  }, testTimeout(ZIPKIN_START_MS, JOIN_MS));

  afterAll(async () => {
    await service?.close();
    await zipkin?.stop();
  });

  it('puts the publish span and the handler span in the trace started before publish', async () => {
    const event = orderPlaced('run-traced', 1);
    const eventId = event.id;
    const traceId = await publishInTrace(event);
    await waitFor(() => handlers.handledIds().includes(eventId), 'the event to be handled');

    const spans = await traceSpans(traceId, 3);
    const root = spans.find((span) => span.name === 'place order')!;
    const send = spans.find((span) => span.kind === 'PRODUCER')!;
    const handle = spans.find((span) => span.kind === 'CONSUMER')!;
    expect(send).toMatchObject({ name: `send ${topic}`, parentId: root.id });
    expect(send.tags).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
      'messaging.message.id': eventId,
    });
    expect(handle).toMatchObject({ name: `process ${topic}`, parentId: send.id });
    expect(handle.localEndpoint?.serviceName).toBe('coffeebuddy-tracing-test');
    expect(handle.tags).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': expect.stringMatching(/^[0-2]$/),
      'messaging.kafka.offset': expect.stringMatching(/^\d+$/),
      'messaging.consumer.group.name': env.KAFKA_CONSUMER_GROUP,
      'messaging.message.id': eventId,
      'messaging.kafka.message.key': 'run-traced',
    });
    expect(handle.tags).not.toHaveProperty('error');

    expect(await metricValue(service.url, 'coffeebuddy_tracing_spans_total{outcome="exported"}')).toBeGreaterThanOrEqual(2);

    // The log line of the handled event carries the ids of the handler's span.
    const line = service.logs.withMessage('run event handled').find((entry) => entry.eventId === eventId);
    expect(line).toMatchObject({ trace_id: traceId, span_id: handle.id });
  });

  it('records each attempt as a consumer span of the trace, and each retry as an event on the span of the attempt that failed', async () => {
    const event = orderPlaced('run-retried', 2);
    const eventId = event.id;
    handlers.failWith(eventId, (attempt) => (attempt < 3 ? new Error('the coffee machine is busy') : undefined));
    const traceId = await publishInTrace(event);
    await waitFor(() => handlers.handledIds().includes(eventId), 'the retried event to be handled');

    // The root, the producer, and one consumer span per delivery of the event (it waits between attempts outside its batch).
    const attempts = (await traceSpans(traceId, 5)).filter((span) => span.kind === 'CONSUMER').sort((a, b) => a.timestamp - b.timestamp);
    expect(attempts.map((span) => (span.annotations ?? []).map((annotation) => annotation.value))).toEqual([['retry'], ['retry'], []]);
    expect(attempts.every((span) => !('error' in (span.tags ?? {})))).toBe(true);
    const retried = service.logs.withMessage('run event retried').filter((entry) => entry.eventId === eventId);
    expect(retried.map((entry) => entry.span_id)).toEqual([attempts[0]!.id, attempts[1]!.id]);
  });

  it('marks a dead-lettered event on its span, with the error', async () => {
    const event = orderPlaced('run-dead', 3);
    handlers.failWith(event.id, () => new PermanentEventError('unknown coffee shop'));
    const traceId = await publishInTrace(event);
    await waitFor(
      () => service.logs.withMessage('run event dead-lettered').some((entry) => entry.eventId === event.id),
      'the event to be dead-lettered',
    );

    const handle = (await traceSpans(traceId, 3)).find((span) => span.kind === 'CONSUMER')!;
    expect(handle.annotations?.map((annotation) => annotation.value)).toEqual(['dead_letter']);
    expect(handle.tags?.error).toBe('handler_permanent_failure: unknown coffee shop');
  });

  it('gives an HTTP request a server span that continues the caller trace', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const response = await fetch(`${service.url}/health/live`, { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    expect(response.status).toBe(200);

    const spans = await traceSpans(traceId, 1);
    const request = spans.find((span) => span.kind === 'SERVER')!;
    expect(request).toMatchObject({ name: 'request', parentId });
    expect(request.tags).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/health/live' });
  });
});
