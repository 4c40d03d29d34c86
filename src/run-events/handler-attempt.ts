import type { RunEventHandlerContext } from './run-event-handlers';

/**
 * One attempt, as its handler sees it: its signal, aborted at the handler
 * timeout. The AbortController is made only when a handler first reads
 * `signal`: creating one costs more than the rest of a fast event's handling
 * (docs/benchmarks.md), and most handlers never read it.
 */
export class Attempt implements RunEventHandlerContext {
  #controller?: AbortController;
  #abortedWith?: { reason: unknown };

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortedWith) this.#controller.abort(this.#abortedWith.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.#abortedWith = { reason };
    this.#controller?.abort(reason);
  }
}

export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
}

/** An attempt that timed out and had not settled by the end of its grace: it may still be running. */
export interface AbandonedAttempt {
  settled: boolean;
  /** Resolves when the attempt settles, whatever its outcome. */
  readonly done: Promise<void>;
}

export type AttemptResult = { ok: true } | { ok: false; error: unknown; abandoned?: AbandonedAttempt };

export interface AttemptOptions {
  timeoutMs: number;
  /** Time a timed-out attempt is given to settle before it is abandoned. */
  graceMs: number;
  heartbeatEveryMs: number;
}

const TIMED_OUT = Symbol('timed out');
const SUCCEEDED: AttemptResult = { ok: true };
const failed = (error: unknown): AttemptResult => ({ ok: false, error });

/**
 * Runs attempts of handlers, each given its Attempt (a handler reads its
 * signal). A promise cannot be cancelled, so at
 * `timeoutMs` the attempt's signal aborts and the attempt counts as failed
 * with a HandlerTimeoutError; it then has `graceMs` to settle, or is returned
 * as abandoned, so the caller never starts another attempt beside it.
 * Meanwhile the consumer heartbeats, so a slow handler keeps the group
 * membership, and its partition cannot move to another member while it runs.
 *
 * Not an async function: an attempt that settles in time costs one promise
 * (the watch's), which matters at tens of thousands of events a second.
 */
export class HandlerAttempts {
  private readonly timeout: DeadlineWatch;
  private readonly grace: DeadlineWatch;

  constructor(private readonly options: AttemptOptions) {
    this.timeout = new DeadlineWatch(options.timeoutMs, options.heartbeatEveryMs);
    this.grace = new DeadlineWatch(options.graceMs, options.heartbeatEveryMs);
  }

  /** Runs `run(attempt, arg)`: `arg` saves the caller a closure per attempt. */
  run<A>(run: (attempt: Attempt, arg: A) => Promise<void> | void, arg: A, heartbeat: () => Promise<void>): Promise<AttemptResult> {
    const attempt = new Attempt();
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(run(attempt, arg));
    } catch (error) {
      return Promise.resolve(failed(error));
    }
    return this.timeout.within(pending, heartbeat).then((result) => (result !== TIMED_OUT ? result : this.timedOut(pending, attempt, heartbeat)));
  }

  /** The attempt ran past its timeout: abort its signal, give it the grace, and abandon it if it still runs. */
  private async timedOut(pending: Promise<unknown>, attempt: Attempt, heartbeat: () => Promise<void>): Promise<AttemptResult> {
    const error = new HandlerTimeoutError(`handler timed out after ${this.options.timeoutMs} ms`);
    attempt.abort(error);
    if ((await this.grace.within(pending, heartbeat)) !== TIMED_OUT) return { ok: false, error };
    const markSettled = () => void (abandoned.settled = true);
    const abandoned: AbandonedAttempt = { settled: false, done: pending.then(markSettled, markSettled) };
    return { ok: false, error, abandoned };
  }
}

interface Watched {
  readonly deadline: number;
  readonly heartbeat: () => Promise<void>;
  readonly timedOut: () => void;
}

/**
 * Promises watched against one duration: each gives its value, or TIMED_OUT
 * once `ms` have passed, and the heartbeats of those still pending are called
 * every `heartbeatEveryMs`. One timer serves every watched promise: a timer
 * of its own for each event's attempt was a large part of what a fast
 * handler's event cost (docs/benchmarks.md). Every promise is watched for the
 * same duration, so none is due before the timer next fires.
 */
class DeadlineWatch {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly heartbeatEveryMs: number,
  ) {}

  /** The attempt's result once `pending` settles (a rejection is a failed attempt), or TIMED_OUT after `ms`. */
  within(pending: Promise<unknown>, heartbeat: () => Promise<void>): Promise<AttemptResult | typeof TIMED_OUT> {
    return new Promise((resolve) => {
      const entry: Watched = { deadline: performance.now() + this.ms, heartbeat, timedOut: () => resolve(TIMED_OUT) };
      this.watched.add(entry);
      if (this.timer === undefined) this.arm(Math.min(this.heartbeatEveryMs, this.ms));
      pending.then(
        () => {
          if (this.watched.delete(entry)) resolve(SUCCEEDED);
        },
        (error: unknown) => {
          if (this.watched.delete(entry)) resolve(failed(error));
        },
      );
    });
  }

  private arm(ms: number): void {
    // Unreferenced: what a pending attempt waits for keeps the process alive, not its watch.
    this.timer = setTimeout(() => this.tick(), ms).unref();
  }

  private tick(): void {
    this.timer = undefined;
    const now = performance.now();
    const heartbeats = new Set<() => Promise<void>>();
    let nextDeadline = Infinity;
    for (const entry of this.watched) {
      if (entry.deadline <= now) {
        this.watched.delete(entry);
        entry.timedOut();
      } else {
        heartbeats.add(entry.heartbeat);
        nextDeadline = Math.min(nextDeadline, entry.deadline);
      }
    }
    // A failed heartbeat (a rebalance, say) is not acted on here: kafkajs' next
    // heartbeat, once the attempt is over, throws it again and ends the batch.
    for (const heartbeat of heartbeats) heartbeat().catch(() => undefined);
    if (this.watched.size > 0) this.arm(Math.max(1, Math.min(this.heartbeatEveryMs, nextDeadline - now)));
  }
}
