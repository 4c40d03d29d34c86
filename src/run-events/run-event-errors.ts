/** Throw this from a handler when retrying cannot help: the event is dead-lettered at once. */
export class PermanentEventError extends Error {
  override readonly name = 'PermanentEventError';
}

/**
 * Throw this from a handler when the failure is transient: a rate limit
 * (Slack's 429 with its Retry-After, as `retryAfterMs`), or a dependency that
 * answers 503. The event waits, its partition paused, and is tried again no
 * sooner than `retryAfterMs` (the usual backoff when none is given). While no
 * handler attempt in the process succeeds (an outage of the dependency), the
 * waits do not spend the retry budget, only the much longer
 * KAFKA_RETRY_OUTAGE_LIMIT_MS; when other attempts succeed meanwhile (this
 * run's own trouble), they spend the retry budget like any other failure.
 */
export class RetryLaterError extends Error {
  override readonly name: string = 'RetryLaterError';

  constructor(
    readonly retryAfterMs?: number,
    message = retryAfterMs === undefined ? 'retry later' : `retry after ${retryAfterMs} ms`,
  ) {
    super(message);
  }
}

/** The same as RetryLaterError, by a name that says why: the handler's dependency is unavailable. */
export class DependencyUnavailableError extends RetryLaterError {
  override readonly name = 'DependencyUnavailableError';

  constructor(message = 'dependency unavailable', retryAfterMs?: number) {
    super(retryAfterMs, message);
  }
}
