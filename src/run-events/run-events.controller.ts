import { Controller, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { EachBatchPayload } from 'kafkajs';
import { RethrowHandlerErrors } from './rethrow-handler-errors.filter';
import { RunEventPipeline } from './run-event-pipeline';
import { RUN_EVENTS_TOPIC } from './run-event-topics';

/**
 * The consumer of the run events topic: Nest dispatches each fetched batch
 * here once (KafkaServer), and the pipeline decodes, validates and hands
 * each event to the handlers features registered (RunEventHandlers).
 */
@Controller()
@UseFilters(RethrowHandlerErrors)
export class RunEventsController {
  constructor(private readonly pipeline: RunEventPipeline) {}

  // The untyped overload: the typed one declares every argument after the payload `unknown`.
  @EventPattern<string>(RUN_EVENTS_TOPIC)
  handleBatch(@Payload() batch: EachBatchPayload): Promise<void> {
    return this.pipeline.handleBatch(batch);
  }
}
