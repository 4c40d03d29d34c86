import { Module } from '@nestjs/common';
import { KafkaAdmin } from './kafka-admin';
import { KafkaMetrics } from './kafka-metrics';
import { KafkaProducer } from './kafka-producer';
import { KafkaStatus } from './kafka-status';
import { KafkaTracing } from './kafka-tracing';
import { PartitionWaits } from './partition-waits';
import { KafkaConfig } from './kafka.config';
import { TopicRegistry } from './topics';

const topicRegistry = { provide: TopicRegistry, useFactory: (config: KafkaConfig) => new TopicRegistry(config.topicPrefix), inject: [KafkaConfig] };

/**
 * The transport's shared clients and state, for any payload. KafkaServer is
 * provided by the feature that consumes (its @EventPattern handlers take the batches).
 */
@Module({
  providers: [topicRegistry, KafkaMetrics, KafkaStatus, KafkaAdmin, KafkaProducer, KafkaTracing, PartitionWaits],
  exports: [topicRegistry, KafkaMetrics, KafkaStatus, KafkaAdmin, KafkaProducer, KafkaTracing, PartitionWaits],
})
export class KafkaModule {}
