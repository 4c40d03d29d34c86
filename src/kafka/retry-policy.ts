/** Throw this from a handler when retrying cannot help: the event is dead-lettered at once. */
export class PermanentEventError extends Error {
  override readonly name = 'PermanentEventError';
}

/**
 * Throw this from a handler to be retried no sooner than `retryAfterMs`, for
 * example on a rate limit's Retry-After (Slack's 429). The wait is honoured
 * within the retry budget.
 */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';

  constructor(
    readonly retryAfterMs: number,
    message = `retry after ${retryAfterMs} ms`,
  ) {
    super(message);
  }
}

/** How long an event's failures are retried, and how far apart. */
export interface RetryPolicy {
  /** Failures are retried until this long has passed since the event's first attempt began. */
  readonly budgetMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Exponential backoff: initial, 2x, 4x … capped at max. Attempt 1 is the first try. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** (attempt - 1), maxMs);
}

/**
 * The wait before retrying a failed attempt, or undefined when the budget is
 * spent and the event goes to the dead-letter topic. The wait is the
 * exponential backoff, or the handler's Retry-After when that is longer, cut
 * to the end of the budget: so the last attempt begins as the budget ends,
 * and an event is dead-lettered only after at least `budgetMs` of failures,
 * whether they were fast or timed out.
 */
export function nextRetryMs(
  policy: RetryPolicy,
  failure: { attempt: number; elapsedMs: number; retryAfterMs?: number },
): number | undefined {
  const remainingMs = Math.ceil(policy.budgetMs - failure.elapsedMs);
  if (remainingMs <= 0) return undefined;
  const backoff = backoffMs(failure.attempt, policy.initialBackoffMs, policy.maxBackoffMs);
  return Math.min(Math.max(backoff, failure.retryAfterMs ?? 0), remainingMs);
}
