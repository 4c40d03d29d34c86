import type { RunEvent } from '../../src/run-events/run-event.schema';
import { onCleanupFirst } from './cleanup';

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
  private pause?: { after: number; resumed: Promise<void>; resume: () => void };

  /** `workMs` stands for the time a real handler spends on each event. */
  constructor(private readonly workMs = 0) {}

  failWith(eventId: string, failure: (attempt: number) => Error | undefined): void {
    this.failures.set(eventId, failure);
  }

  /**
   * Once `count` events are handled, every further call waits until
   * `resume()`: the test, not the scheduler, decides how far the consumer
   * gets (for example, that it is mid-stream when a broker is killed).
   * The cleanup registry resumes it before anything is stopped.
   */
  pauseAfter(count: number): void {
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    this.pause = { after: count, resumed, resume };
    onCleanupFirst('paused handlers', () => this.resume());
  }

  resume(): void {
    this.pause?.resume();
    this.pause = undefined;
  }

  /** True while calls are held by pauseAfter(). */
  get paused(): boolean {
    return this.pause !== undefined && this.handled.length >= this.pause.after;
  }

  async handle(event: RunEvent): Promise<void> {
    if (this.pause && this.handled.length >= this.pause.after) await this.pause.resumed;
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
