import { backoffMs } from '../kafka/keep-trying';

/** How long an event's failures are retried, and how far apart. */
export interface RetryPolicy {
  /** Failures are retried until this long has passed since the event's first attempt began. */
  readonly budgetMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** How long an event may wait out an outage of its dependency (transient failures while no attempt in the process succeeds). */
  readonly outageLimitMs: number;
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

/**
 * The wait before the next attempt of an event that waits out an outage, or
 * undefined once it has waited the outage limit: the handler's Retry-After
 * when it gave one, else the exponential backoff, cut to the end of the limit.
 * The retry budget is not spent meanwhile.
 */
export function nextOutageRetryMs(
  policy: RetryPolicy,
  failure: { attempt: number; outageMs: number; retryAfterMs?: number },
): number | undefined {
  const remainingMs = Math.ceil(policy.outageLimitMs - failure.outageMs);
  if (remainingMs <= 0) return undefined;
  return Math.min(failure.retryAfterMs ?? backoffMs(failure.attempt, policy.initialBackoffMs, policy.maxBackoffMs), remainingMs);
}
