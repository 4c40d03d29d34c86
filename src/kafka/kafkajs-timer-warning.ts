/**
 * kafkajs 2.2.4, its last release, arms its request queue's idle timer with a negative delay
 * (`network/requestQueue`: `throttledUntil - Date.now()` while `throttledUntil` is -1). Node 23
 * and later print a TimeoutNegativeWarning for it on stderr at every start, then run the timer
 * after 1 ms, which is what older Node did without a word. This drops that one warning when the
 * timer comes from kafkajs' request queue; every other process warning is emitted as before.
 */
export function dropKafkajsNegativeTimeoutWarning(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && /kafkajs[\\/]src[\\/]network[\\/]requestQueue/.test(new Error().stack ?? '')) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
