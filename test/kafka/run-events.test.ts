import { Kafka } from 'kafkajs';
import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { InvalidRunEventError } from '../../src/run-events/run-event.schema';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { FakeOry } from '../support/fake-ory';
import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { isolatedKafkaEnv, kafkaClient, orderPlaced } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { testTimeout, waitFor } from '../support/wait';

const READY_MS = 60_000;
const HANDLED_MS = 45_000;

/** Each test has a service, topics and consumer group of its own: no count depends on another test. */
describe('run events through a real broker', () => {
  let vault: FakeVault;
  let ory: FakeOry;
  let service: TestApp;
  let handlers: RecordingHandlers;
  let env: Record<string, string>;

  beforeEach(async () => {
    [vault, ory] = await Promise.all([FakeVault.start(), FakeOry.start()]);
    handlers = new RecordingHandlers();
    env = isolatedKafkaEnv();
    service = await startTestApp({
      env: { ...env, VAULT_ADDR: vault.url, VAULT_TOKEN, ORY_BASE_URL: ory.url },
      override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers),
    });
    await waitFor(async () => (await fetch(`${service.url}/health/ready`)).status === 200, 'the service to be ready', READY_MS);
  }, testTimeout(READY_MS));

  it('creates its topics with the registry names, and says so', async () => {
    const prefix = env.KAFKA_TOPIC_PREFIX;
    const admin: ReturnType<Kafka['admin']> = kafkaClient().admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${prefix}.`)).sort();
      expect(topics).toEqual([`${prefix}.run.events`, `${prefix}.run.events.dlq`, `${prefix}.run.reminders`]);
      const metadata = await admin.fetchTopicMetadata({ topics: [`${prefix}.run.events`] });
      expect(metadata.topics[0].partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
    }
    expect(service.logs.withMessage('created missing topics')[0]).toMatchObject({ partitions: 3 });
  }, testTimeout());

  it('handles every published event exactly once, each run in order, and shows it in metrics and health', async () => {
    const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    const runs = Array.from({ length: 8 }, (_, i) => `run-${i}`);
    const events = Array.from({ length: 240 }, (_, seq) => orderPlaced(runs[seq % runs.length], seq));
    const publisher = service.app.get(KafkaEventPublisher);
    await publisher.publishBatch(events.slice(0, 200).map((value) => ({ topic, value })));
    for (const value of events.slice(200)) await publisher.publish({ topic, value });

    // Handled-event counters are added when a batch ends: wait for them, not only for the handler.
    await waitFor(
      async () => (await metricValue(service.url, `coffeebuddy_run_events_handled_total{type="run.order_placed"}`)) >= events.length,
      `${events.length} handled events`,
      HANDLED_MS,
    );
    expect(handlers.handledIds().sort()).toEqual(events.map((event) => event.id).sort());
    for (const run of runs) {
      const published = events.filter((event) => event.runId === run).map((event) => event.id);
      expect(handlers.handled.filter((event) => event.runId === run).map((event) => event.id)).toEqual(published);
    }

    const handledLines = service.logs.withMessage('run event handled');
    expect(handledLines).toHaveLength(events.length);
    expect(handledLines[0]).toEqual(
      expect.objectContaining({ eventId: expect.any(String), type: 'run.order_placed', runId: expect.any(String), topic, partition: expect.any(Number), offset: expect.any(Number) }),
    );

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain(`coffeebuddy_kafka_messages_produced_total{topic="${topic}"} ${events.length}`);
    expect(metrics).toContain(`coffeebuddy_kafka_messages_consumed_total{topic="${topic}",outcome="handled"} ${events.length}`);
    expect(metrics).toContain(`coffeebuddy_run_events_handled_total{type="run.order_placed"} ${events.length}`);
    expect(metrics).toMatch(/coffeebuddy_kafka_consumer_lag\{topic="[^"]+",partition="\d"\} 0/);
    expect(metrics).toContain('coffeebuddy_kafka_consumer_in_group 1');

    const ready = await (await fetch(`${service.url}/health/ready`)).json();
    expect(ready).toMatchObject({ status: 'ok', info: { vault: { status: 'up' }, ory: { status: 'up' }, kafka: { status: 'up' } } });
  }, testTimeout(HANDLED_MS));

  it('refuses an invalid event or a key other than the run id, and sends nothing', async () => {
    const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    const publisher = service.app.get(KafkaEventPublisher);
    const good = orderPlaced('run-x', 1);
    const bad = { ...orderPlaced('run-x', 2), payload: { orderId: 'o' } } as never;
    await expect(publisher.publishBatch([{ topic, value: good }, { topic, value: bad }])).rejects.toThrow(InvalidRunEventError);
    await expect(publisher.publish({ topic, key: 'other-run', value: good })).rejects.toThrow(/not the event's runId/);
    // A later event goes through; the refused ones never arrive.
    const sentinel = orderPlaced('run-x', 3);
    await publisher.publish({ topic, value: sentinel });
    await waitFor(() => handlers.handledIds().includes(sentinel.id), 'the sentinel event', HANDLED_MS);
    expect(handlers.handledIds()).toEqual([sentinel.id]);
  }, testTimeout(HANDLED_MS));
});
