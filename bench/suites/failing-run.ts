import { join } from 'node:path';
import { runWorker } from '../support/child';
import { createTopics } from '../support/kafka';
import { round, summarise, Summary } from '../support/stats';
import type { FailingRunConfig, FailingRunMode, FailingRunResult, OutageConfig, OutageResult } from '../workers/failing-run';
import { BenchContext, rotate, WORKERS } from './context';

export const FAILING_RUN_PARTITIONS = 6;
export const FAIL_FOR_MS = 20_000;
export const FAILING_RUN_RATE_PER_SECOND = 200;
const MODES: FailingRunMode[] = ['failing', 'healthy'];

type Where = 'samePartition' | 'otherPartitions';
type Row = Record<Where, Record<'p50Ms' | 'p99Ms' | 'maxMs', Summary>> & { failingAttempts: Summary; failingHandledAfterMs: Summary };

/** The outage of the issue: every handler throws RetryLaterError(5000) for 45 s over 3,150 events. */
export const OUTAGE: Omit<OutageConfig, 'bootstrap' | 'prefix' | 'groupId'> = {
  partitions: FAILING_RUN_PARTITIONS,
  events: 3150,
  runs: 150,
  failForMs: 45_000,
  retryAfterMs: 5000,
};

export interface FailingRunSection {
  partitions: number;
  failForMs: number;
  ratePerSecond: number;
  modes: Record<FailingRunMode, Row>;
  /** Once per benchmark run (it lasts a minute): the outage, with the default retry budget. */
  outage: OutageResult & { events: number; failForMs: number; retryAfterMs: number };
}

/**
 * One run's handler fails at once for 20 s while other runs stream in on
 * every partition: the handling latency of the other runs, on its partition
 * and on the others, against the same with no failure.
 */
export async function failingRunSuite(ctx: BenchContext): Promise<FailingRunSection> {
  const results = new Map<FailingRunMode, FailingRunResult[]>(MODES.map((mode) => [mode, []]));
  let n = 0;
  for (let run = 0; run < ctx.runs; run += 1) {
    for (const mode of rotate(MODES, run)) {
      n += 1;
      const prefix = `${ctx.prefix}-failing${n}`;
      await createTopics(ctx.bootstrap, [`${prefix}.run.events`], FAILING_RUN_PARTITIONS);
      const config: FailingRunConfig = {
        mode,
        bootstrap: ctx.bootstrap,
        prefix,
        groupId: `${prefix}-group`,
        partitions: FAILING_RUN_PARTITIONS,
        ratePerSecond: FAILING_RUN_RATE_PER_SECOND,
        failForMs: FAIL_FOR_MS,
      };
      const result = await runWorker<FailingRunResult>(join(WORKERS, 'failing-run.ts'), config, {
        logFile: join(ctx.workDir, 'failing-run-workers.log'),
        stdoutFile: join(ctx.workDir, `service-failing-run-${n}.log`),
        timeoutMs: 180_000,
      });
      results.get(mode)!.push(result);
      const { samePartition: same, otherPartitions: other } = result;
      ctx.progress(
        `failing-run: run ${run + 1}/${ctx.runs} ${mode}: other partitions p50 ${other.p50Ms.toFixed(1)} / p99 ${other.p99Ms.toFixed(1)} / max ${other.maxMs.toFixed(1)} ms, ` +
          `its partition p99 ${same.p99Ms.toFixed(0)} ms; the run handled after ${result.failingHandledAfterMs.toFixed(0)} ms, ${result.failingAttempts} attempts`,
      );
    }
  }
  const outagePrefix = `${ctx.prefix}-outage`;
  await createTopics(ctx.bootstrap, [`${outagePrefix}.run.events`], FAILING_RUN_PARTITIONS);
  const outage = await runWorker<OutageResult>(
    join(WORKERS, 'failing-run.ts'),
    { ...OUTAGE, bootstrap: ctx.bootstrap, prefix: outagePrefix, groupId: `${outagePrefix}-group` } satisfies OutageConfig,
    { logFile: join(ctx.workDir, 'failing-run-workers.log'), stdoutFile: join(ctx.workDir, 'service-outage.log'), timeoutMs: 240_000 },
  );
  ctx.progress(
    `failing-run: outage of ${OUTAGE.failForMs / 1000} s: ${outage.handled} of ${OUTAGE.events} handled, ${outage.handledTwice} twice, ` +
      `${outage.outOfOrder} out of order, drained ${outage.drainMs.toFixed(0)} ms after it, ${outage.attempts} attempts`,
  );
  const row = (mode: FailingRunMode): Row => {
    const rs = results.get(mode)!;
    const at = (where: Where) => ({
      p50Ms: summarise(rs.map((r) => round(r[where].p50Ms, 1))),
      p99Ms: summarise(rs.map((r) => round(r[where].p99Ms, 1))),
      maxMs: summarise(rs.map((r) => round(r[where].maxMs, 1))),
    });
    return {
      samePartition: at('samePartition'),
      otherPartitions: at('otherPartitions'),
      failingAttempts: summarise(rs.map((r) => r.failingAttempts)),
      failingHandledAfterMs: summarise(rs.map((r) => round(r.failingHandledAfterMs, 0))),
    };
  };
  return {
    partitions: FAILING_RUN_PARTITIONS,
    failForMs: FAIL_FOR_MS,
    ratePerSecond: FAILING_RUN_RATE_PER_SECOND,
    modes: { failing: row('failing'), healthy: row('healthy') },
    outage: { ...outage, events: OUTAGE.events, failForMs: OUTAGE.failForMs, retryAfterMs: OUTAGE.retryAfterMs },
  };
}
