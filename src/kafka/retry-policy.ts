/** Throw this from a handler when retrying cannot help: the event is dead-lettered at once. */
export class PermanentEventError extends Error {
  override readonly name = 'PermanentEventError';
}

/** Exponential backoff: initial, 2x, 4x … capped at max. Attempt 1 is the first try. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** (attempt - 1), maxMs);
}
