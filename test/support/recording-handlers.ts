import type { RunEvent } from '../../src/run-events/run-event.schema';

/**
 * Stands in for RunEventHandlers (overrideProvider): records every event it
 * is given, and can be told to fail for chosen event ids.
 */
export class RecordingHandlers {
  readonly handled: RunEvent[] = [];
  readonly attempts = new Map<string, number>();
  /** When each attempt of an event began (Date.now()). */
  readonly startedAt = new Map<string, number[]>();
  private readonly failures = new Map<string, (attempt: number) => Error | undefined>();

  /** `workMs` stands for the time a real handler spends on each event. */
  constructor(private readonly workMs = 0) {}

  failWith(eventId: string, failure: (attempt: number) => Error | undefined): void {
    this.failures.set(eventId, failure);
  }

  async handle(event: RunEvent): Promise<void> {
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    this.startedAt.set(event.id, [...(this.startedAt.get(event.id) ?? []), Date.now()]);
    if (this.workMs > 0) await new Promise((resolve) => setTimeout(resolve, this.workMs));
    const error = this.failures.get(event.id)?.(attempt);
    if (error) throw error;
    this.handled.push(event);
  }

  handledIds(): string[] {
    return this.handled.map((event) => event.id);
  }
}
