/**
 * Runs `attempt` until it succeeds or `signal` aborts, waiting with
 * exponential backoff between failures. Used to connect to a broker that may
 * be down at start or later, without ever blocking the HTTP side.
 * Resolves true on success, false when aborted.
 *
 * An abort does not wait for the attempt in progress: kafkajs' own connect
 * retries can take many seconds, and there is nothing to wait for when the
 * service stops. The abandoned attempt runs on; `onAbandoned` is called once
 * it settles, to close whatever it may still have opened.
 */
export async function keepTrying(
  attempt: () => Promise<void>,
  options: {
    signal: AbortSignal;
    onFailure: (error: unknown, retryInMs: number) => void;
    onAbandoned?: () => Promise<void>;
    initialDelayMs?: number;
    maxDelayMs?: number;
  },
): Promise<boolean> {
  const { signal } = options;
  const initialMs = options.initialDelayMs ?? 500;
  const maxMs = options.maxDelayMs ?? 5000;
  for (let failures = 1; !signal.aborted; failures += 1) {
    const trying = attempt();
    try {
      if (!(await settledUnlessAborted(trying, signal))) {
        const cleanUp = () => options.onAbandoned?.().catch(() => undefined);
        trying.then(cleanUp, cleanUp);
        return false;
      }
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      const delay = backoffMs(failures, initialMs, maxMs);
      options.onFailure(error, delay);
      await sleep(delay, signal);
    }
  }
  return false;
}

/** True once `work` resolves, false as soon as `signal` aborts; rejects when `work` rejects first. */
function settledUnlessAborted(work: Promise<void>, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
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

/** Exponential backoff: initial, 2x, 4x … capped at max. Attempt 1 is the first try. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** (attempt - 1), maxMs);
}
