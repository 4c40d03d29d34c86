import { randomUUID } from 'node:crypto';
import { Admin, IHeaders, Kafka, KafkaMessage, Partitioners, Producer } from 'kafkajs';
import { KafkaConfig } from '../kafka/kafka.config';
import { deadLetterTopic, TopicRegistry } from '../kafka/topics';
import { RUN_EVENTS_TOPIC } from '../run-events/run-event-topics';
import { CliError, withTimeout } from './cli-error';
import { DeadLetterRecord, ReplayState, toDeadLetter } from './dead-letter';
import { BROKER_TIMEOUT_MS, cliKafka, FIRST_CONTACT_RETRY, unreachable } from './kafka-session';

/** How long reading a dead-letter topic to its end may take. */
const READ_TIMEOUT_MS = 60_000;

/** The replay marker topic of a dead-letter topic: one compacted record per replayed letter. */
export const replayMarkerTopic = (dlqTopic: string) => `${dlqTopic}.replayed`;

/** A replay marker's value. A tombstone (null) releases a letter whose replay failed. */
export interface ReplayMarker {
  state: ReplayState;
  at: string;
  eventId?: string;
}

type Read = Map<string, { partition: number; message: KafkaMessage }>;

/**
 * The dead letters of the run events topic and their replay markers, read
 * from the beginning to the end as they were when the command started.
 */
export class DeadLetterStore {
  readonly dlqTopic: string;
  readonly markerTopic: string;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private producer?: Producer;

  private constructor(private readonly config: KafkaConfig) {
    this.dlqTopic = deadLetterTopic(new TopicRegistry(config.topicPrefix).resolve(RUN_EVENTS_TOPIC));
    this.markerTopic = replayMarkerTopic(this.dlqTopic);
    this.kafka = cliKafka(config);
    this.admin = this.kafka.admin({ retry: FIRST_CONTACT_RETRY });
  }

  static async open(config: KafkaConfig): Promise<DeadLetterStore> {
    const store = new DeadLetterStore(config);
    try {
      await withTimeout(store.admin.connect(), BROKER_TIMEOUT_MS, `no answer within ${BROKER_TIMEOUT_MS} ms`);
    } catch (error) {
      await store.close();
      throw unreachable(config, error);
    }
    return store;
  }

  /** Every letter in dead-letter order (partition, then offset), with its replay state. */
  async letters(): Promise<DeadLetterRecord[]> {
    const existing = new Set(await this.admin.listTopics());
    if (!existing.has(this.dlqTopic)) throw new CliError(`the dead-letter topic ${this.dlqTopic} does not exist`);
    const read = await this.read([this.dlqTopic, ...(existing.has(this.markerTopic) ? [this.markerTopic] : [])]);
    const states = new Map<string, ReplayState>();
    for (const { message } of sorted(read.get(this.markerTopic))) {
      const key = message.key?.toString() ?? '';
      if (message.value === null) states.delete(key);
      else states.set(key, (JSON.parse(message.value.toString()) as ReplayMarker).state);
    }
    return sorted(read.get(this.dlqTopic)).map(({ partition, message }) => {
      const letter = toDeadLetter(partition, message);
      return { ...letter, replay: states.get(letter.ref) };
    });
  }

  /** Creates the compacted marker topic when it is missing. */
  async ensureMarkerTopic(): Promise<void> {
    if ((await this.admin.listTopics()).includes(this.markerTopic)) return;
    // The broker answered already: this admin has the client's full retries, not the first
    // contact's one, since a new topic's leader can take seconds to be known (Kafka 4 under load).
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: this.markerTopic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      });
    } finally {
      await admin.disconnect();
    }
  }

  /** Records a letter's replay state, or releases it with `null`. */
  async mark(letter: DeadLetterRecord, marker: ReplayMarker | null): Promise<void> {
    const value = marker === null ? null : JSON.stringify(marker);
    await (await this.connectedProducer()).send({ topic: this.markerTopic, acks: -1, messages: [{ key: letter.ref, value }] });
  }

  /** Sends a letter's key and value to `topic` with `headers`, through a plain producer. */
  async republish(letter: DeadLetterRecord, topic: string, headers: IHeaders): Promise<void> {
    await (await this.connectedProducer()).send({ topic, acks: -1, messages: [{ key: letter.key, value: letter.value, headers }] });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.disconnect(), this.producer?.disconnect()]);
  }

  private async connectedProducer(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.kafka.producer({
        // The service's partitioner: a replayed event lands where the run's other events are.
        createPartitioner: Partitioners.DefaultPartitioner,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await this.producer.connect();
    }
    return this.producer;
  }

  /** Reads the topics from the beginning up to their end offsets at the time of the call. */
  private async read(topics: string[]): Promise<Map<string, Read>> {
    const result = new Map<string, Read>(topics.map((topic) => [topic, new Map()]));
    const remaining = new Map<string, number>();
    for (const topic of topics) {
      for (const { partition, high, low } of await this.admin.fetchTopicOffsets(topic)) {
        if (Number(high) > Number(low)) remaining.set(`${topic}:${partition}`, Number(high));
      }
    }
    if (remaining.size === 0) return result;
    const ends = new Map(remaining);
    // A throwaway group that commits nothing: the CLI never moves anyone's position.
    const consumer = this.kafka.consumer({
      groupId: `${this.config.consumerGroup}-cli-${randomUUID()}`,
      sessionTimeout: this.config.sessionTimeoutMs,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      const done = new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const at = `${batch.topic}:${batch.partition}`;
              const end = ends.get(at) ?? 0;
              for (const message of batch.messages) {
                if (Number(message.offset) < end) {
                  result.get(batch.topic)!.set(`${batch.partition}:${message.offset}`, { partition: batch.partition, message });
                }
              }
              if (Number(batch.lastOffset()) + 1 >= end) remaining.delete(at);
              if (remaining.size === 0) resolve();
            },
          })
          .catch(reject);
      });
      await withTimeout(done, READ_TIMEOUT_MS, `could not read ${topics.join(' and ')} to the end within ${READ_TIMEOUT_MS / 1000} s`);
    } finally {
      await consumer.disconnect();
    }
    return result;
  }
}

function sorted(read: Read | undefined): Array<{ partition: number; message: KafkaMessage }> {
  return [...(read?.values() ?? [])].sort(
    (a, b) => a.partition - b.partition || Number(BigInt(a.message.offset) - BigInt(b.message.offset)),
  );
}
