import { Injectable } from '@nestjs/common';
import { RunEvent, RunEventOf, RunEventType } from './run-event.schema';

/** What a handler gets beside its event. */
export interface RunEventHandlerContext {
  /**
   * Aborts when the attempt runs past KAFKA_HANDLER_TIMEOUT_MS: the attempt
   * has failed, and the handler should stop (pass it to fetch, axios …).
   */
  readonly signal: AbortSignal;
}

export type RunEventHandler<T extends RunEventType> = (event: RunEventOf<T>, context: RunEventHandlerContext) => Promise<void> | void;

/**
 * Where CoffeeBuddy features act on run events: a feature registers a
 * handler per event type (in its onModuleInit). A handler that throws is
 * retried with backoff within the retry budget; one that throws
 * PermanentEventError is dead-lettered at once; one that throws
 * RetryLaterError(ms) is retried no sooner than that. An attempt that runs past
 * the handler timeout fails, and its `signal` aborts. An event type nobody
 * handles is still logged and counted.
 */
@Injectable()
export class RunEventHandlers {
  private readonly handlers = new Map<RunEventType, Array<RunEventHandler<any>>>();

  on<T extends RunEventType>(type: T, handler: RunEventHandler<T>): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  async handle(event: RunEvent, context: RunEventHandlerContext): Promise<void> {
    for (const handler of this.handlers.get(event.type) ?? []) await handler(event, context);
  }
}
