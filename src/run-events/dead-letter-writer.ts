import { Injectable } from '@nestjs/common';
import { IHeaders, KafkaMessage } from 'kafkajs';
import { brokerErrorType } from '../kafka/kafka-errors';
import { KafkaProducer } from '../kafka/kafka-producer';
import { deadLetterTopic } from '../kafka/topics';

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
  /** Set when the original value did not fit in the dead-letter topic and was left out: why. */
  valueOmitted: 'dlq.value.omitted',
  /** With valueOmitted: the size of the original value, in bytes. */
  valueBytes: 'dlq.original.value.bytes',
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
 * A letter the dead-letter topic refuses as too large is written again
 * without its value: the origin headers still point at the original.
 * Any other failure throws: the caller must not commit the offset.
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
    const send = (value: Buffer | null, extra: IHeaders = {}) =>
      this.producer.send([{ topic: deadLetterTopic(topic), messages: [{ key: message.key, value, headers: { ...headers, ...extra } }] }]);
    try {
      await send(message.value);
    } catch (refusal) {
      if (brokerErrorType(refusal) !== 'MESSAGE_TOO_LARGE' || message.value === null) throw refusal;
      await send(null, {
        [DLQ_HEADERS.valueOmitted]: 'too large for the dead-letter topic (MESSAGE_TOO_LARGE)',
        [DLQ_HEADERS.valueBytes]: String(message.value.length),
      });
    }
  }
}
