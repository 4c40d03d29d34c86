import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { HandlerAttemptContext } from './handler-attempt';
import { RethrowHandlerErrors } from './rethrow-handler-errors.filter';
import { RunEventHandlerContext, RunEventHandlers } from './run-event-handlers';
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
    return this.handlers.handle(event, new AttemptSignal(context));
  }
}

/** What a feature's handler gets of the attempt: its signal, made only when read (see HandlerAttemptContext). */
class AttemptSignal implements RunEventHandlerContext {
  readonly #attempt: HandlerAttemptContext;

  constructor(attempt: HandlerAttemptContext) {
    this.#attempt = attempt;
  }

  get signal(): AbortSignal {
    return this.#attempt.signal;
  }
}

