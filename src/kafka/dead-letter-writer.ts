import { Injectable } from '@nestjs/common';
import { IHeaders, KafkaMessage } from 'kafkajs';
import { KafkaProducer } from './kafka-producer';
import { deadLetterTopic } from './topics';

export const DEAD_LETTER_KINDS = [
  'empty_value',
  'too_large',
  'invalid_json',
  'schema_invalid',
  'handler_failed',
  'handler_permanent_failure',
] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

/** Headers a dead letter carries besides the original ones. */
export const DLQ_HEADERS = {
  kind: 'dlq.error.kind',
  message: 'dlq.error.message',
  topic: 'dlq.original.topic',
  partition: 'dlq.original.partition',
  offset: 'dlq.original.offset',
  attempts: 'dlq.attempts',
  failedAt: 'dlq.failed.at',
} as const;

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  kind: DeadLetterKind;
  error: string;
  attempts: number;
}

/**
 * Writes a message to its topic's dead-letter companion with the original
 * key and bytes, and headers saying what went wrong and where it came from.
 * A failed write throws: the caller must not commit the offset.
 */
@Injectable()
export class DeadLetterWriter {
  constructor(private readonly producer: KafkaProducer) {}

  async write({ topic, partition, message, kind, error, attempts }: DeadLetter): Promise<void> {
    const headers: IHeaders = {
      ...message.headers,
      [DLQ_HEADERS.kind]: kind,
      [DLQ_HEADERS.message]: error.slice(0, 1000),
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: String(partition),
      [DLQ_HEADERS.offset]: message.offset,
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    };
    await this.producer.send([{ topic: deadLetterTopic(topic), messages: [{ key: message.key, value: message.value, headers }] }]);
  }
}
