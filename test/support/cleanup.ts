/**
 * A cleanup registry: everything a test starts (an app, a process, a fake
 * server, a broker, a client) registers how to stop it the moment it exists,
 * so a failing test leaves nothing running and the run never hangs.
 *
 * What is registered while a test or its beforeEach runs is stopped after
 * that test; what is registered in a beforeAll is stopped after the file.
 * The hooks live in cleanup-hooks.ts (jest `setupFilesAfterEnv`). Releases
 * (onCleanupFirst) run first, brokers (onCleanupLast) last, the rest
 * last-registered first; each is bounded by its own timeout, every one runs
 * even when another fails, and failures are reported together, by name.
 */
type Scope = 'test' | 'file';

interface Entry {
  what: string;
  stop: () => unknown;
  timeoutMs: number;
  /** Releases run before everything, infrastructure (brokers) after everything, the rest last-in first-out. */
  order: 0 | 1 | 2;
}

/** Bound of one stop unless its registration says otherwise. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** Timeout of the hooks that run the stops: room for several slow ones. */
export const CLEANUP_HOOK_TIMEOUT_MS = 180_000;

const registered: Record<Scope, Entry[]> = { test: [], file: [] };
let current: Scope = 'file';

/** Registers `stop` under the name `what`; it runs once, when the current test (or file) ends. */
export function onCleanup(what: string, stop: () => unknown, timeoutMs = DEFAULT_STOP_TIMEOUT_MS): void {
  registered[current].push({ what, stop, timeoutMs, order: 1 });
}

/**
 * Registers a release that must run before anything is stopped: a gate a
 * handler waits on, paused handlers. Otherwise closing the app would wait
 * for a handler that can never finish.
 */
export function onCleanupFirst(what: string, release: () => unknown): void {
  registered[current].push({ what, stop: release, timeoutMs: DEFAULT_STOP_TIMEOUT_MS, order: 0 });
}

/**
 * Registers the stop of infrastructure others use (a broker of the test's
 * own): it runs after everything else, even when it was started after the
 * app that uses it, so no client is left retrying against a dead broker.
 */
export function onCleanupLast(what: string, stop: () => unknown, timeoutMs = DEFAULT_STOP_TIMEOUT_MS): void {
  registered[current].push({ what, stop, timeoutMs, order: 2 });
}

/** Called by the hooks: from here on, registrations belong to the test about to run. */
export function enterTest(): void {
  current = 'test';
}

/** Called by the hooks: stops what the scope registered; throws one error naming every stop that failed. */
export async function cleanUp(scope: Scope): Promise<void> {
  if (scope === 'test') current = 'file';
  const entries = registered[scope].splice(0).reverse();
  entries.sort((a, b) => a.order - b.order); // stable: last-in first-out within each order
  const failures: string[] = [];
  for (const entry of entries) {
    try {
      await bounded(entry);
    } catch (error) {
      failures.push(`${entry.what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(`cleanup failed for ${failures.length} of ${entries.length}:\n  - ${failures.join('\n  - ')}`);
}

async function bounded({ stop, timeoutMs }: Entry): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not stop within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(stop), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
