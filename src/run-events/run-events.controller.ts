import { Controller, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { RUN_EVENTS_TOPIC } from '../kafka/topics';
import { RethrowHandlerErrors } from './rethrow-handler-errors.filter';
import { RunEventHandlers } from './run-event-handlers';
import type { RunEvent } from './run-event.schema';

/** The consumer of the run events topic. Events arrive decoded and validated. */
@Controller()
@UseFilters(RethrowHandlerErrors)
export class RunEventsController {
  constructor(private readonly handlers: RunEventHandlers) {}

  @EventPattern(RUN_EVENTS_TOPIC)
  handle(@Payload() event: RunEvent): Promise<void> {
    return this.handlers.handle(event);
  }
}

