import { join } from 'node:path';

/** What every suite gets from the runner. */
export interface BenchContext {
  bootstrap: string;
  /** Fresh per `npm run bench`: every topic and consumer group of the run starts with it. */
  prefix: string;
  /** How many times each measurement is repeated. */
  runs: number;
  /** Scratch directory of the run: logs, CPU profiles. */
  workDir: string;
  /** Where results (and the pipeline's CPU profile) are written. */
  resultsDir: string;
  progress(line: string): void;
}

export const ROOT = join(__dirname, '..', '..');
export const WORKERS = join(ROOT, 'bench', 'workers');

/** The order of modes in round `run`, rotated so that no mode always goes first (warm broker caches, a busy neighbour). */
export function rotate<T>(items: readonly T[], run: number): T[] {
  const k = run % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
