import { KafkaContext } from '@nestjs/microservices';
import { EachBatchPayload, KafkaMessage } from 'kafkajs';

/** The arguments of the KafkaContext Nest gives a handler: message, partition, topic, consumer, heartbeat, producer. */
export type KafkaContextArgs = ConstructorParameters<typeof KafkaContext>[0];

/** The `@EventPattern` handler of one batch's topic, as KafkaServer hands it to the batch handler. */
export interface TopicHandler {
  /** The KafkaContext arguments of `message`, for a context the feature may extend. */
  contextArgs(message: KafkaMessage): KafkaContextArgs;
  /** Calls the Nest-wrapped handler; resolves when it is done, rejects with its original error. */
  call(data: unknown, context: KafkaContext): Promise<void>;
}

/**
 * The DI token through which a feature tells KafkaServer what to do with each
 * fetched batch: decode, validate, settle and resolve offsets. The server knows
 * no payload type; it subscribes, runs the consumer and hands each batch here
 * with the handler of its topic. The feature module provides it
 * (`{ provide: KafkaBatchHandler, useExisting: ... }`).
 */
export abstract class KafkaBatchHandler {
  abstract handleBatch(payload: EachBatchPayload, handler: TopicHandler): Promise<void>;
}
