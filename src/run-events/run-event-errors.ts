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
