import { Module } from '@nestjs/common';
import { DeadLetterWriter } from './dead-letter-writer';
import { KafkaAdmin } from './kafka-admin';
import { KafkaEventPublisher } from './kafka-event-publisher';
import { KafkaMetrics } from './kafka-metrics';
import { KafkaProducer } from './kafka-producer';
import { KafkaStatus } from './kafka-status';
import { KafkaTracing } from './kafka-tracing';
import { KafkaConfig } from './kafka.config';
import { RunEventPipeline } from './run-event-pipeline';
import { RunEventsServer } from './run-events.server';
import { TopicRegistry } from './topics';

const topicRegistry = { provide: TopicRegistry, useFactory: (config: KafkaConfig) => new TopicRegistry(config.topicPrefix), inject: [KafkaConfig] };

@Module({
  providers: [
    topicRegistry,
    KafkaMetrics,
    KafkaStatus,
    KafkaAdmin,
    KafkaProducer,
    KafkaTracing,
    KafkaEventPublisher,
    DeadLetterWriter,
    RunEventPipeline,
    RunEventsServer,
  ],
  exports: [topicRegistry, KafkaStatus, KafkaAdmin, KafkaEventPublisher, RunEventsServer],
})
export class KafkaModule {}
