import { join } from 'node:path';
import { runWorker } from '../support/child';
import { createTopics } from '../support/kafka';
import { round, summarise, Summary } from '../support/stats';
import type { LatencyConfig, LatencyMode, LatencyResult } from '../workers/latency';
import { BenchContext, rotate, WORKERS } from './context';
import { PARTITIONS } from './consume';

export const RATE_PER_SECOND = 1000;
export const WARMUP_MS = 1000;
export const DURATION_MS = 10_000;
const MODES: LatencyMode[] = ['kafkajs', 'pipeline', 'kafkajs-idempotent'];

type Row = Record<'p50Ms' | 'p99Ms' | 'p999Ms' | 'maxMs' | 'ackP50Ms' | 'ackP99Ms' | 'maxOutstanding', Summary>;

export interface LatencySection {
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
  modes: Record<LatencyMode, Row>;
  ratios: { p50: number; p99: number; p999: number };
}

export async function latencySuite(ctx: BenchContext): Promise<LatencySection> {
  const results = new Map<LatencyMode, LatencyResult[]>(MODES.map((mode) => [mode, []]));
  let n = 0;
  for (let run = 0; run < ctx.runs; run += 1) {
    for (const mode of rotate(MODES, run)) {
      n += 1;
      const prefix = `${ctx.prefix}-latency${n}`;
      await createTopics(ctx.bootstrap, [`${prefix}.run.events`], PARTITIONS);
      const config: LatencyConfig = {
        mode,
        bootstrap: ctx.bootstrap,
        prefix,
        groupId: `${prefix}-group`,
        partitions: PARTITIONS,
        ratePerSecond: RATE_PER_SECOND,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
      };
      const result = await runWorker<LatencyResult>(join(WORKERS, 'latency.ts'), config, {
        logFile: join(ctx.workDir, 'latency-workers.log'),
        stdoutFile: join(ctx.workDir, `service-latency-${n}.log`),
        timeoutMs: 120_000,
      });
      results.get(mode)!.push(result);
      ctx.progress(
        `latency: run ${run + 1}/${ctx.runs} ${mode}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
          `p99.9 ${result.p999Ms.toFixed(2)} ms, ack p99 ${result.ackP99Ms.toFixed(2)} ms, at most ${result.maxOutstanding} sends waiting`,
      );
    }
  }
  const keys = ['p50Ms', 'p99Ms', 'p999Ms', 'maxMs', 'ackP50Ms', 'ackP99Ms', 'maxOutstanding'] as const;
  const modes = Object.fromEntries(
    MODES.map((mode) => [mode, Object.fromEntries(keys.map((key) => [key, summarise(results.get(mode)!.map((r) => round(r[key], 2)))]))]),
  ) as Record<LatencyMode, Row>;
  const ratio = (key: 'p50Ms' | 'p99Ms' | 'p999Ms') => round(modes.pipeline[key].median / modes.kafkajs[key].median);
  return {
    ratePerSecond: RATE_PER_SECOND,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
    modes,
    ratios: { p50: ratio('p50Ms'), p99: ratio('p99Ms'), p999: ratio('p999Ms') },
  };
}
