import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { IHeaders, Kafka, KafkaMessage, logLevel, Partitioners, RecordMetadata } from 'kafkajs';
import { BrokerHandle, startBroker, StartBrokerOptions } from '../../scripts/kafka-broker';
import type { RunEvent } from '../../src/run-events/run-event.schema';
import { onCleanupLast } from './cleanup';

/** How long starting (or restarting) a broker of a test's own may take: a JVM start on a loaded 2-core machine. */
export const BROKER_START_MS = 120_000;

/** The suite's broker, started by the global setup. */
export function bootstrap(): string {
  const servers = process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (!servers) throw new Error('KAFKA_BOOTSTRAP_SERVERS is not set: the global setup starts the broker');
  return servers;
}

/** A topic prefix and consumer group of its own for each test, so tests never share a topic. */
export function isolatedKafkaEnv(servers = bootstrap()): Record<string, string> {
  const id = randomUUID().slice(0, 8);
  return {
    KAFKA_BOOTSTRAP_SERVERS: servers,
    KAFKA_TOPIC_PREFIX: `test-${id}`,
    KAFKA_CONSUMER_GROUP: `test-${id}-group`,
    KAFKA_TOPIC_PARTITIONS: '3',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_RETRY_INITIAL_BACKOFF_MS: '20',
    KAFKA_RETRY_MAX_BACKOFF_MS: '100',
    COFFEEBUDDY_HEALTH_CACHE_TTL_MS: '0',
  };
}

export function orderPlaced(runId: string, seq: number): RunEvent {
  return {
    id: randomUUID(),
    type: 'run.order_placed',
    version: 1,
    occurredAt: new Date(Date.UTC(2026, 10, 22, 9, 0, 0, seq)).toISOString(),
    runId,
    payload: { orderId: `o-${seq}`, userId: 'U024BE7LH', item: 'flat white', notes: `seq ${seq}` },
  };
}

export function kafkaClient(servers = bootstrap()): Kafka {
  return new Kafka({ brokers: servers.split(','), clientId: 'test-client', logLevel: logLevel.NOTHING });
}

/**
 * A broker of the test's own, for tests that stop or kill it: it joins the
 * cleanup registry, which stops it and removes its data.
 */
export async function startTestBroker(options: StartBrokerOptions = {}): Promise<BrokerHandle> {
  const broker = await startBroker({ timeoutMs: BROKER_START_MS, ...options });
  onCleanupLast(`Kafka broker ${broker.bootstrap}`, async () => {
    await broker.stop();
    rmSync(broker.dataDir, { recursive: true, force: true });
  });
  return broker;
}

/** Sends run events keyed by their runId in one request, so they land in as few batches as possible. */
export async function produceEvents(topic: string, events: RunEvent[], servers = bootstrap()): Promise<RecordMetadata[]> {
  const producer = kafkaClient(servers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    return await producer.send({ topic, messages: events.map((e) => ({ key: e.runId, value: JSON.stringify(e) })), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Sends `count` run events, `eventAt(0)` to `eventAt(count - 1)`, keyed by
 * their runId, in sends of `chunk` with four in flight: a backlog too large
 * for one request, built a chunk at a time.
 */
export async function produceInChunks(
  topic: string,
  count: number,
  eventAt: (seq: number) => RunEvent,
  chunk = 2000,
  servers = bootstrap(),
): Promise<void> {
  const producer = kafkaClient(servers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const sends: Array<Promise<unknown>> = [];
    for (let from = 0; from < count; from += chunk) {
      const messages = Array.from({ length: Math.min(chunk, count - from) }, (_, i) => {
        const event = eventAt(from + i);
        return { key: event.runId, value: JSON.stringify(event) };
      });
      sends.push(producer.send({ topic, messages, acks: -1 }));
      if (sends.length >= 4) await sends.shift();
    }
    await Promise.all(sends);
  } finally {
    await producer.disconnect();
  }
}

/** Sends raw values (poison messages included) straight to a topic. */
export async function produceRaw(
  topic: string,
  messages: Array<{ key?: string; value: Buffer | string | null; headers?: IHeaders }>,
  servers = bootstrap(),
): Promise<RecordMetadata[]> {
  const producer = kafkaClient(servers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    // One send per message keeps their order and gives each one's partition and offset.
    const placed: RecordMetadata[] = [];
    for (const message of messages) placed.push(...(await producer.send({ topic, messages: [message], acks: -1 })));
    return placed;
  } finally {
    await producer.disconnect();
  }
}

/** Reads a topic from the beginning until `count` messages arrived. */
export async function readTopic(topic: string, count: number, timeoutMs = 30000, servers = bootstrap()): Promise<KafkaMessage[]> {
  const consumer = kafkaClient(servers).consumer({ groupId: `reader-${randomUUID()}`, sessionTimeout: 6000 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${messages.length} of ${count} messages from ${topic}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          messages.push(message);
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Every message a topic holds now, from the beginning. */
export async function readAll(topic: string, servers = bootstrap()): Promise<KafkaMessage[]> {
  const admin = kafkaClient(servers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const count = offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
    return count === 0 ? [] : await readTopic(topic, count, 30000, servers);
  } finally {
    await admin.disconnect();
  }
}

/** The consumer group's committed offsets on every partition of the topic, added up (what it has consumed of it). */
export async function committedOffsets(groupId: string, topic: string, servers = bootstrap()): Promise<number> {
  const admin = kafkaClient(servers).admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return committed!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}
