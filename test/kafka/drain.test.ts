import { Kafka } from 'kafkajs';
import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC, RUN_REMINDERS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEvent } from '../../src/run-events/run-event.schema';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { drain } from '../../src/runtime/shutdown';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw, readTopic } from '../support/kafka';
import { onCleanupFirst } from '../support/cleanup';
import { startTestApp } from '../support/test-app';
import { testTimeout, waitFor, within } from '../support/wait';

const JOIN_MS = 30_000;
const START_MS = 30_000;
const DRAIN_MS = 30_000;
const READ_MS = 30_000;

describe('graceful drain', () => {
  it('turns readiness 503 at once, lets the in-flight handler finish and publish, then commits and closes', async () => {
    const env = isolatedKafkaEnv();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A failure before release() must not leave the handler, and so the app's close, waiting forever.
    onCleanupFirst('the drain test gate', () => release());
    const started: RunEvent[] = [];
    let publisher!: KafkaEventPublisher;
    let reminders!: string;
    // A handler that is mid-way when the drain starts, and publishes when it resumes.
    const handlers = {
      handle: async (event: RunEvent) => {
        started.push(event);
        await gate;
        await publisher.publish({ topic: reminders, value: { ...event, id: crypto.randomUUID() } });
      },
    };
    const service = await startTestApp({ env, override: (b) => b.overrideProvider(RunEventHandlers).useValue(handlers) });
    publisher = service.app.get(KafkaEventPublisher);
    const topics = service.app.get(TopicRegistry);
    reminders = topics.resolve(RUN_REMINDERS_TOPIC);
    const topic = topics.resolve(RUN_EVENTS_TOPIC);
    await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join', JOIN_MS);

    const event = orderPlaced('run-drain', 1);
    await produceRaw(topic, [{ key: event.runId, value: JSON.stringify(event) }]);
    await waitFor(() => started.length === 1, 'the handler to start', START_MS);

    const draining = drain(service.app);
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).error.process).toMatchObject({ status: 'down', message: 'shutting down' });

    release();
    await within(draining, 'the drain to finish once the handler is released', DRAIN_MS);
    expect(service.logs.withMessage('run event handled')).toEqual([expect.objectContaining({ eventId: event.id })]);
    expect(await readTopic(reminders, 1, READ_MS)).toHaveLength(1);

    const admin: ReturnType<Kafka['admin']> = kafkaClient().admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: env.KAFKA_CONSUMER_GROUP, topics: [topic] });
      const total = committed.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      expect(total).toBe(1);
    } finally {
      await admin.disconnect();
    }
  }, testTimeout(JOIN_MS, START_MS, DRAIN_MS, READ_MS));
});
