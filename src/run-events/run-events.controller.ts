import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { HandlerAttemptContext } from './handler-attempt';
import { RethrowHandlerErrors } from './rethrow-handler-errors.filter';
import { RunEventHandlers } from './run-event-handlers';
import { RUN_EVENTS_TOPIC } from './run-event-topics';
import type { RunEvent } from './run-event.schema';

/** The consumer of the run events topic. Events arrive decoded and validated. */
@Controller()
@UseFilters(RethrowHandlerErrors)
export class RunEventsController {
  constructor(private readonly handlers: RunEventHandlers) {}

  // The untyped overload: the typed one declares every argument after the payload `unknown`.
  @EventPattern<string>(RUN_EVENTS_TOPIC)
  handle(@Payload() event: RunEvent, @Ctx() context: HandlerAttemptContext): Promise<void> {
    // A getter, so the signal is made only for a handler that reads it (see HandlerAttemptContext).
    return this.handlers.handle(event, {
      get signal() {
        return context.signal;
      },
    });
  }
}

