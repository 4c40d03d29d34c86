/**
 * Each measured client runs in a fresh Node process of its own (no JIT or
 * heap carried over from the previous one): the parent forks it with its
 * configuration as JSON in argv[2]; it answers one IPC message and exits.
 */
export function runAsWorker<C, R>(body: (config: C) => Promise<R>): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as C;
  const answer = (message: unknown, code: number) =>
    new Promise<void>((resolve) => process.send!(message, () => resolve())).then(() => process.exit(code));
  body(config).then(
    (result) => answer({ ok: true, result }, 0),
    (error: unknown) => answer({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 1),
  );
}

/** Microseconds on the clock that V8's CPU profiles use (monotonic, the same as process.hrtime). */
export function profileClockUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
