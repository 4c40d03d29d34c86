import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runWorker } from '../support/child';
import { createTopics } from '../support/kafka';
import { ProfileSummary, summariseProfile } from '../support/profile';
import { round, summarise, Summary } from '../support/stats';
import type { PublishConfig, PublishMode, PublishResult } from '../workers/publish';
import { BenchContext, rotate, WORKERS } from './context';
import { PARTITIONS } from './consume';

export const PUBLISH_MESSAGES = 100_000;
export const PUBLISH_BATCH = 500;
const MODES: PublishMode[] = ['kafkajs', 'publisher', 'kafkajs-idempotent'];

type Row = { messagesPerSecond: Summary; elapsedMs: Summary };

export interface PublishSection {
  messages: number;
  batchSize: number;
  acks: -1;
  /** One batch at a time, each waiting for its acknowledgement (the main figure). */
  sequential: Record<PublishMode, Row>;
  /** Four batches in flight at once (informative: where one request in flight per broker shows). */
  concurrent4: Record<PublishMode, Row>;
  ratios: {
    /** The target's figure: the same semantics on both sides (an idempotent producer, acks -1). */
    publisherVsIdempotent: number;
    /** publisher / idempotent sendBatch within each round: the run-to-run spread of that ratio. */
    publisherVsIdempotentByRound: number[];
    publisherVsSendBatch: number;
    idempotentVsSendBatch: number;
    publisherVsSendBatchConcurrent4: number;
    idempotentVsSendBatchConcurrent4: number;
  };
  /** CPU profile of one more publishBatch run (1 in flight), under --cpu-prof. */
  publisherProfile: ProfileSummary & { messagesPerSecond: number; file: string };
}

export async function publishSuite(ctx: BenchContext): Promise<PublishSection> {
  let n = 0;
  const publish = async (mode: PublishMode, concurrency: number, nodeArgs: string[] = []) => {
    n += 1;
    const prefix = `${ctx.prefix}-publish${n}`;
    const topic = `${prefix}.target`;
    await createTopics(ctx.bootstrap, [topic], PARTITIONS);
    const config: PublishConfig = {
      mode,
      bootstrap: ctx.bootstrap,
      prefix,
      topic,
      count: PUBLISH_MESSAGES,
      batchSize: PUBLISH_BATCH,
      concurrency,
    };
    return runWorker<PublishResult>(join(WORKERS, 'publish.ts'), config, {
      logFile: join(ctx.workDir, 'publish-workers.log'),
      stdoutFile: join(ctx.workDir, `service-publish-${n}.log`),
      timeoutMs: 120_000,
      nodeArgs,
    });
  };

  const section = (concurrency: number) => async (): Promise<Record<PublishMode, Row>> => {
    const results = new Map<PublishMode, PublishResult[]>(MODES.map((mode) => [mode, []]));
    for (let run = 0; run < ctx.runs; run += 1) {
      for (const mode of rotate(MODES, run)) {
        const result = await publish(mode, concurrency);
        results.get(mode)!.push(result);
        ctx.progress(`publish: ${concurrency} in flight, run ${run + 1}/${ctx.runs} ${mode}: ${Math.round(result.messagesPerSecond)} msg/s`);
      }
    }
    return Object.fromEntries(
      MODES.map((mode) => [
        mode,
        {
          messagesPerSecond: summarise(results.get(mode)!.map((r) => round(r.messagesPerSecond, 0))),
          elapsedMs: summarise(results.get(mode)!.map((r) => round(r.elapsedMs, 1))),
        },
      ]),
    ) as Record<PublishMode, Row>;
  };

  const sequential = await section(1)();
  const concurrent4 = await section(4)();

  const dir = join(ctx.workDir, 'profile-publisher');
  mkdirSync(dir, { recursive: true });
  const profiled = await publish('publisher', 1, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const file = join(dir, readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!);
  const kept = join(ctx.resultsDir, 'publish-publisher.cpuprofile');
  copyFileSync(file, kept);
  ctx.progress(`publish: profiled publishBatch (${Math.round(profiled.messagesPerSecond)} msg/s under the profiler)`);
  const publisherProfile = { ...summariseProfile(file, profiled.windowUs, profiled.messages), messagesPerSecond: profiled.messagesPerSecond, file: kept };
  const ratio = (rows: Record<PublishMode, Row>, mode: PublishMode, baseline: PublishMode = 'kafkajs') =>
    round(rows[mode].messagesPerSecond.median / rows[baseline].messagesPerSecond.median);
  // Each round runs every mode once, so the i-th run of two modes share a round.
  const idempotentRuns = sequential['kafkajs-idempotent'].messagesPerSecond.runs;
  return {
    messages: PUBLISH_MESSAGES,
    batchSize: PUBLISH_BATCH,
    acks: -1,
    sequential,
    concurrent4,
    ratios: {
      publisherVsIdempotent: ratio(sequential, 'publisher', 'kafkajs-idempotent'),
      publisherVsIdempotentByRound: sequential.publisher.messagesPerSecond.runs.map((rate, i) => round(rate / idempotentRuns[i]!)),
      publisherVsSendBatch: ratio(sequential, 'publisher'),
      idempotentVsSendBatch: ratio(sequential, 'kafkajs-idempotent'),
      publisherVsSendBatchConcurrent4: ratio(concurrent4, 'publisher'),
      idempotentVsSendBatchConcurrent4: ratio(concurrent4, 'kafkajs-idempotent'),
    },
    publisherProfile,
  };
}
