/**
 * Polls `condition` until it returns a truthy value, or fails with `what`
 * after `timeoutMs`. `what` may be a function, read at the timeout, to say
 * how far things got (e.g. "4200 of 6000 events handled").
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what: string | (() => string),
  timeoutMs = DEFAULT_WAIT_MS,
  intervalMs = 50,
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const described = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The bound of a waitFor that names none. */
export const DEFAULT_WAIT_MS = 30_000;

/** Waits for `promise`, or fails with `what` after `timeoutMs` (the promise itself is left to the cleanup registry). */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Room for a test's own steps besides its waits (HTTP calls, producing, assertions), even on a loaded machine. */
export const TEST_SLACK_MS = 30_000;

/**
 * A test's timeout from the bounds of its waits: their sum plus slack, so a
 * wait always fails first, with its own message, and never Jest's generic one.
 * Pass it as the third argument of `it`.
 */
export function testTimeout(...waitsMs: number[]): number {
  return waitsMs.reduce((sum, ms) => sum + ms, TEST_SLACK_MS);
}
