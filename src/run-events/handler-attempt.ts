import { KafkaContext } from '@nestjs/microservices';

/** The context a handler gets: Nest's KafkaContext plus the attempt's signal, aborted at the handler timeout. */
export class HandlerAttemptContext extends KafkaContext {
  constructor(
    args: ConstructorParameters<typeof KafkaContext>[0],
    private readonly attempt: AbortController,
  ) {
    super(args);
  }

  /**
   * Made when first read: Node creates an AbortController's signal lazily, and
   * creating one costs about 25 us on Node 20, more than the rest of a fast
   * message's handling (measured in docs/benchmarks.md).
   */
  get signal(): AbortSignal {
    return this.attempt.signal;
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
  heartbeat: () => Promise<void>;
}

const TIMED_OUT = Symbol('timed out');
const SUCCEEDED: AttemptResult = { ok: true };

/**
 * Runs one attempt of a handler, given the attempt's AbortController (a
 * handler reads its signal). A promise cannot be cancelled, so at
 * `timeoutMs` the attempt's signal aborts and the attempt counts as failed
 * with a HandlerTimeoutError; it then has `graceMs` to settle, or is returned
 * as abandoned, so the caller never starts another attempt beside it.
 * Meanwhile the consumer heartbeats, so a slow handler keeps the group
 * membership, and its partition cannot move to another member while it runs.
 */
export async function runAttempt(run: (attempt: AbortController) => Promise<void>, options: AttemptOptions): Promise<AttemptResult> {
  const controller = new AbortController();
  const settled = (async () => run(controller))().then(
    () => SUCCEEDED,
    (error: unknown): AttemptResult => ({ ok: false, error }),
  );
  const result = await within(settled, options.timeoutMs, options);
  if (result !== TIMED_OUT) return result;
  const error = new HandlerTimeoutError(`handler timed out after ${options.timeoutMs} ms`);
  controller.abort(error);
  if ((await within(settled, options.graceMs, options)) !== TIMED_OUT) return { ok: false, error };
  const abandoned: AbandonedAttempt = {
    settled: false,
    done: settled.then(() => {
      abandoned.settled = true;
    }),
  };
  return { ok: false, error, abandoned };
}

/** `pending`'s value, or TIMED_OUT after `ms`; heartbeats every `heartbeatEveryMs` meanwhile. */
function within<T>(pending: Promise<T>, ms: number, options: AttemptOptions): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) return resolve(TIMED_OUT);
      // A failed heartbeat (a rebalance, say) is not acted on here: kafkajs' next
      // heartbeat, once the attempt is over, throws it again and ends the batch.
      options.heartbeat().catch(() => undefined);
      timer = setTimeout(tick, Math.min(options.heartbeatEveryMs, leftMs));
    };
    let timer = setTimeout(tick, Math.min(options.heartbeatEveryMs, ms));
    void pending.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
