import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runWorker } from '../support/child';
import { benchEvents, EVENT_BYTES } from '../support/events';
import { createTopics, produceEvents } from '../support/kafka';
import { ProfileSummary, summariseProfile } from '../support/profile';
import { round, summarise, Summary } from '../support/stats';
import type { ConsumeConfig, ConsumeMode, ConsumeResult } from '../workers/consume';
import { BenchContext, rotate, WORKERS } from './context';

export const CONSUME_MESSAGES = 100_000;
export const PARTITIONS = 6;
const MODES: ConsumeMode[] = ['kafkajs-each-message', 'kafkajs-each-batch', 'nest-stock', 'pipeline'];
/** Profiled once each, after the timed runs: the pipeline, and the two baselines whose own costs the comparison rests on. */
const PROFILED: ConsumeMode[] = ['pipeline', 'nest-stock', 'kafkajs-each-message'];

export interface ConsumeSection {
  messages: number;
  eventBytes: number;
  partitions: number;
  modes: Record<
    ConsumeMode,
    { messagesPerSecond: Summary; cpuUsPerMessage: Summary; handlingMs: Summary; totalMs: Summary; rssAfterMb: Summary }
  >;
  ratios: { pipelineVsNestStock: number; pipelineVsEachMessage: number; pipelineVsEachBatch: number };
  profiles: Partial<Record<ConsumeMode, ProfileSummary & { messagesPerSecond: number; file: string; windowUs: [number, number] }>>;
}

export async function consumeSuite(ctx: BenchContext): Promise<ConsumeSection> {
  const prefix = `${ctx.prefix}-consume`;
  const topic = `${prefix}.run.events`;
  await createTopics(ctx.bootstrap, [topic], PARTITIONS);
  ctx.progress(`consume: producing ${CONSUME_MESSAGES} events of ${EVENT_BYTES} bytes to ${topic} (${PARTITIONS} partitions)`);
  await produceEvents(ctx.bootstrap, topic, benchEvents(CONSUME_MESSAGES));

  let group = 0;
  const consume = (mode: ConsumeMode, nodeArgs: string[] = []) => {
    group += 1;
    const config: ConsumeConfig = {
      mode,
      bootstrap: ctx.bootstrap,
      prefix,
      topic,
      groupId: `${prefix}-${mode}-${group}`,
      partitions: PARTITIONS,
      expected: CONSUME_MESSAGES,
    };
    return runWorker<ConsumeResult>(join(WORKERS, 'consume.ts'), config, {
      logFile: join(ctx.workDir, 'consume-workers.log'),
      stdoutFile: join(ctx.workDir, `service-consume-${group}.log`),
      timeoutMs: 180_000,
      nodeArgs,
    });
  };

  // Untimed: reads the topic once, so every timed run finds it in the broker's page cache and the offsets topic exists.
  ctx.progress('consume: warm-up read');
  await consume('kafkajs-each-batch');

  const results = new Map<ConsumeMode, ConsumeResult[]>(MODES.map((mode) => [mode, []]));
  for (let run = 0; run < ctx.runs; run += 1) {
    for (const mode of rotate(MODES, run)) {
      const result = await consume(mode);
      results.get(mode)!.push(result);
      ctx.progress(
        `consume: run ${run + 1}/${ctx.runs} ${mode}: ${Math.round(result.messagesPerSecond)} msg/s, ${result.cpuUsPerMessage.toFixed(1)} us CPU/msg`,
      );
    }
  }

  const profiles: ConsumeSection['profiles'] = {};
  for (const mode of PROFILED) {
    const dir = join(ctx.workDir, `profile-${mode}`);
    mkdirSync(dir, { recursive: true });
    const result = await consume(mode, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    const file = join(dir, readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!);
    const kept = join(ctx.resultsDir, `consume-${mode}.cpuprofile`);
    copyFileSync(file, kept);
    profiles[mode] = {
      ...summariseProfile(file, result.windowUs, result.messages),
      messagesPerSecond: result.messagesPerSecond,
      file: kept,
      windowUs: result.windowUs,
    };
    ctx.progress(`consume: profiled ${mode} (${Math.round(result.messagesPerSecond)} msg/s under the profiler)`);
  }

  const modes = Object.fromEntries(
    MODES.map((mode) => {
      const runs = results.get(mode)!;
      return [
        mode,
        {
          messagesPerSecond: summarise(runs.map((r) => round(r.messagesPerSecond, 0))),
          cpuUsPerMessage: summarise(runs.map((r) => round(r.cpuUsPerMessage, 1))),
          handlingMs: summarise(runs.map((r) => round(r.handlingMs, 1))),
          totalMs: summarise(runs.map((r) => round(r.totalMs, 1))),
          rssAfterMb: summarise(runs.map((r) => round(r.rssAfterMb, 1))),
        },
      ];
    }),
  ) as ConsumeSection['modes'];
  const rate = (mode: ConsumeMode) => modes[mode].messagesPerSecond.median;
  return {
    messages: CONSUME_MESSAGES,
    eventBytes: EVENT_BYTES,
    partitions: PARTITIONS,
    modes,
    ratios: {
      pipelineVsNestStock: round(rate('pipeline') / rate('nest-stock')),
      pipelineVsEachMessage: round(rate('pipeline') / rate('kafkajs-each-message')),
      pipelineVsEachBatch: round(rate('pipeline') / rate('kafkajs-each-batch')),
    },
    profiles,
  };
}
