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

/** What an event with no handler gives back: one settled promise for all of them. */
const HANDLED = Promise.resolve();

/**
 * Where CoffeeBuddy features act on run events: a feature registers a
 * handler per event type (in its onModuleInit). A handler that throws is
 * retried with backoff within the retry budget, its partition paused between
 * attempts; one that throws PermanentEventError is dead-lettered at once; one
 * that throws RetryLaterError(ms?) or DependencyUnavailableError is retried no
 * sooner than that, and while nothing in the process succeeds (an outage)
 * waits without spending the budget. An attempt that runs past
 * the handler timeout fails, and its `signal` aborts. An event type nobody
 * handles is still logged and counted.
 */
@Injectable()
export class RunEventHandlers {
  private readonly handlers = new Map<RunEventType, Array<RunEventHandler<any>>>();

  on<T extends RunEventType>(type: T, handler: RunEventHandler<T>): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  /** Runs the event's handlers one after another; a handler's throw, synchronous or not, rejects. */
  handle(event: RunEvent, context: RunEventHandlerContext): Promise<void> {
    const handlers = this.handlers.get(event.type);
    if (handlers === undefined) return HANDLED;
    // One handler, the usual case: its own promise, without an async frame around it.
    if (handlers.length === 1) {
      try {
        return Promise.resolve(handlers[0]!(event, context));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.handleEach(handlers, event, context);
  }

  private async handleEach(handlers: ReadonlyArray<RunEventHandler<any>>, event: RunEvent, context: RunEventHandlerContext): Promise<void> {
    for (const handler of handlers) await handler(event, context);
  }
}
