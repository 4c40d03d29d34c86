import { Injectable } from '@nestjs/common';
import { RunEvent, RunEventOf, RunEventType } from './run-event.schema';

export type RunEventHandler<T extends RunEventType> = (event: RunEventOf<T>) => Promise<void> | void;

/**
 * Where CoffeeBuddy features act on run events: a feature registers a
 * handler per event type (in its onModuleInit). A handler that throws is
 * retried with backoff; one that throws PermanentEventError is dead-lettered
 * at once. An event type nobody handles is still logged and counted.
 */
@Injectable()
export class RunEventHandlers {
  private readonly handlers = new Map<RunEventType, Array<RunEventHandler<any>>>();

  on<T extends RunEventType>(type: T, handler: RunEventHandler<T>): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  async handle(event: RunEvent): Promise<void> {
    for (const handler of this.handlers.get(event.type) ?? []) await handler(event);
  }
}
