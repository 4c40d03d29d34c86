import { join, resolve } from 'node:path';

/**
 * The compiled service the benchmarks run: dist/ (built by `npm run bench`),
 * or another build given in BENCH_DIST, e.g. a candidate change, to compare
 * it on the same machine and broker.
 */
export const DIST_DIR = process.env.BENCH_DIST ? resolve(process.env.BENCH_DIST) : join(__dirname, '..', '..', 'dist');
