/**
 * Runs `attempt` until it succeeds or `signal` aborts, waiting with
 * exponential backoff between failures. Used to connect to a broker that may
 * be down at start or later, without ever blocking the HTTP side.
 * Resolves true on success, false when aborted.
 */
export async function keepTrying(
  attempt: () => Promise<void>,
  options: { signal: AbortSignal; onFailure: (error: unknown, retryInMs: number) => void; initialDelayMs?: number; maxDelayMs?: number },
): Promise<boolean> {
  let delay = options.initialDelayMs ?? 500;
  while (!options.signal.aborted) {
    try {
      await attempt();
      return true;
    } catch (error) {
      if (options.signal.aborted) return false;
      options.onFailure(error, delay);
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5000);
    }
  }
  return false;
}

/** Resolves after `ms`, or early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
