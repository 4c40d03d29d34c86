import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import { DEAD_LETTER_HEADROOM_BYTES } from '../../src/kafka/kafka-admin';
import { isolatedKafkaEnv, kafkaClient } from '../support/kafka';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';

const THIRTY_DAYS_MS = String(30 * 24 * 3600 * 1000);

const started: TestApp[] = [];
const admin = kafkaClient().admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());
afterEach(async () => {
  for (const service of started.splice(0)) await service.close();
});

async function start(env: Record<string, string>): Promise<TestApp> {
  const service = await startTestApp({ env });
  started.push(service);
  await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group');
  return service;
}

async function topicConfig(topic: string, names: string[]): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
  });
  return Object.fromEntries(resources[0].configEntries.map((entry) => [entry.configName, entry.configValue]));
}

describe('topic settings', () => {
  it('creates topics with the configured replication, min.insync.replicas and dead-letter retention, and a dead-letter max.message.bytes above its source', async () => {
    const env: Record<string, string> = {
      ...isolatedKafkaEnv(),
      KAFKA_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '1',
      KAFKA_DLQ_RETENTION_MS: THIRTY_DAYS_MS,
    };
    const service = await start(env);
    const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
    const source = await topicConfig(topic, ['max.message.bytes', 'min.insync.replicas', 'retention.ms']);
    const letters = await topicConfig(`${topic}.dlq`, ['max.message.bytes', 'min.insync.replicas', 'retention.ms']);
    expect(source['min.insync.replicas']).toBe('1');
    expect(letters['min.insync.replicas']).toBe('1');
    expect(letters['retention.ms']).toBe(THIRTY_DAYS_MS);
    // The source keeps the broker's retention: only dead letters get the configured one.
    expect(source['retention.ms']).not.toBe(THIRTY_DAYS_MS);
    expect(Number(letters['max.message.bytes'])).toBe(Number(source['max.message.bytes']) + DEAD_LETTER_HEADROOM_BYTES);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic, `${topic}.dlq`] });
    expect(topics.flatMap(({ partitions }) => partitions.map(({ replicas }) => replicas.length))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(service.logs.withMessage('created missing topics')).toEqual([
      expect.objectContaining({ replicationFactor: 1, minInsyncReplicas: 1 }),
    ]);
    expect(service.logs.withMessage('existing topic is weaker than configured; it is not altered')).toHaveLength(0);
  }, 60000);

  it('warns once at start about each existing topic weaker than configured, and never alters it', async () => {
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    const topic = `${prefix}.run.events`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: 3 },
        { topic: `${topic}.dlq`, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: `${prefix}.run.reminders`, numPartitions: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      ],
    });
    // One broker: the replication factor asked for cannot be met, and nothing needs creating.
    const service = await start({
      ...isolatedKafkaEnv(),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_REPLICATION_FACTOR: '3',
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2',
      KAFKA_DLQ_RETENTION_MS: THIRTY_DAYS_MS,
    });
    const warnings = service.logs.withMessage('existing topic is weaker than configured; it is not altered');
    expect(warnings.map(({ topic: name, weaker }) => [name, weaker])).toEqual([
      [topic, { replicationFactor: { actual: 1, configured: 3 }, minInsyncReplicas: { actual: 1, configured: 2 } }],
      [
        `${topic}.dlq`,
        {
          replicationFactor: { actual: 1, configured: 3 },
          minInsyncReplicas: { actual: 1, configured: 2 },
          retentionMs: { actual: 3600000, configured: Number(THIRTY_DAYS_MS) },
        },
      ],
      [`${prefix}.run.reminders`, { replicationFactor: { actual: 1, configured: 3 } }],
    ]);
    expect(warnings.every((line) => line.level === 'warn')).toBe(true);
    expect(service.logs.withMessage('created missing topics')).toHaveLength(0);
    expect((await topicConfig(`${topic}.dlq`, ['retention.ms']))['retention.ms']).toBe('3600000');
    expect((await topicConfig(topic, ['min.insync.replicas']))['min.insync.replicas']).toBe('1');
  }, 60000);
});
