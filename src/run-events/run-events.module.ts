import { Module, OnModuleInit } from '@nestjs/common';
import { KafkaServer } from '../kafka/kafka.server';
import { KafkaModule } from '../kafka/kafka.module';
import { TopicRegistry } from '../kafka/topics';
import { DeadLetterWriter } from './dead-letter-writer';
import { KafkaEventPublisher } from './kafka-event-publisher';
import { RunEventHandlers } from './run-event-handlers';
import { RunEventMetrics } from './run-event-metrics';
import { RunEventPipeline } from './run-event-pipeline';
import { RUN_EVENT_TOPICS } from './run-event-topics';
import { RunEventsController } from './run-events.controller';

/** The run-event feature: its topics, its pipeline behind the Kafka server's batches, its publisher and handlers. */
@Module({
  imports: [KafkaModule],
  controllers: [RunEventsController],
  providers: [
    RunEventHandlers,
    RunEventMetrics,
    DeadLetterWriter,
    KafkaEventPublisher,
    RunEventPipeline,
    KafkaServer,
  ],
  exports: [RunEventHandlers, KafkaEventPublisher, KafkaServer],
})
export class RunEventsModule implements OnModuleInit {
  constructor(private readonly topics: TopicRegistry) {}

  onModuleInit(): void {
    this.topics.register(RUN_EVENT_TOPICS);
  }
}
