import { Injectable } from '@nestjs/common';
import { Message, TopicMessages } from 'kafkajs';
import { KafkaProducer } from '../kafka/kafka-producer';
import { KafkaTracing } from '../kafka/kafka-tracing';
import { assertRunEvent, InvalidRunEventError, RunEvent } from './run-event.schema';

/** One record to publish. The value is a run event, sent as JSON; the key is its run id. */
export interface KafkaRecord {
  topic: string;
  /** Defaults to the event's runId, so one run's events stay in order; any other key is refused. */
  key?: string;
  value: RunEvent;
  headers?: Record<string, string | Buffer>;
}

/**
 * Validates run events and publishes them. A batch is validated whole
 * before anything is sent; errors (invalid event, broker unreachable) reach
 * the caller, nothing is dropped silently.
 */
@Injectable()
export class KafkaEventPublisher {
  constructor(
    private readonly producer: KafkaProducer,
    private readonly tracing: KafkaTracing,
  ) {}

  publish(record: KafkaRecord): Promise<void> {
    return this.publishBatch([record]);
  }

  async publishBatch(records: readonly KafkaRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const event = assertRunEvent(record.value);
      if (record.key !== undefined && record.key !== event.runId) {
        throw new InvalidRunEventError(`key ${JSON.stringify(record.key)} is not the event's runId ${JSON.stringify(event.runId)}`);
      }
      const messages = byTopic.get(record.topic) ?? [];
      messages.push({ key: event.runId, value: JSON.stringify(record.value), headers: record.headers });
      byTopic.set(record.topic, messages);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    // A producer span, its context in the headers of every message (when tracing is on).
    await this.tracing.publish(
      topicMessages,
      () => records.map(({ value }) => value.id),
      () => this.producer.send(topicMessages),
    );
  }
}
