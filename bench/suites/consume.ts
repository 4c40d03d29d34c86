import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
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
const MODES: ConsumeMode[] = ['kafkajs-each-message', 'kafkajs-each-batch', 'nest-stock', 'pipeline', 'pipeline-traced'];
/** Allocation sampled once each, after the timed runs (the sampler slows them): the pipeline and the plain consumer. */
const ALLOCATION_SAMPLED: ConsumeMode[] = ['pipeline', 'kafkajs-each-message'];
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
  ratios: { pipelineVsNestStock: number; pipelineVsEachMessage: number; pipelineVsEachBatch: number; tracedVsPipeline: number };
  /** pipeline-traced, per run: spans ended, exported, failed, dropped by the batch processor; what the sink received. */
  tracing: { spans: NonNullable<ConsumeResult['spans']>[]; sinkRequests: number; sinkBytes: number };
  profiles: Partial<Record<ConsumeMode, ProfileSummary & { messagesPerSecond: number; file: string; windowUs: [number, number] }>>;
  /** Kilobytes allocated per message, the consumer's start (the app's is not) to its last message. */
  allocatedKbPerMessage: Partial<Record<ConsumeMode, number>>;
}

export async function consumeSuite(ctx: BenchContext): Promise<ConsumeSection> {
  const prefix = `${ctx.prefix}-consume`;
  const topic = `${prefix}.run.events`;
  await createTopics(ctx.bootstrap, [topic], PARTITIONS);
  ctx.progress(`consume: producing ${CONSUME_MESSAGES} events of ${EVENT_BYTES} bytes to ${topic} (${PARTITIONS} partitions)`);
  await produceEvents(ctx.bootstrap, topic, benchEvents(CONSUME_MESSAGES));
  const sink = await startDiscardingSink();

  let group = 0;
  const consume = (mode: ConsumeMode, nodeArgs: string[] = [], measureAllocation = false) => {
    group += 1;
    const config: ConsumeConfig = {
      mode,
      bootstrap: ctx.bootstrap,
      prefix,
      topic,
      groupId: `${prefix}-${mode}-${group}`,
      partitions: PARTITIONS,
      expected: CONSUME_MESSAGES,
      otlpEndpoint: sink.url,
      measureAllocation,
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

  await sink.close();

  const allocatedKbPerMessage: ConsumeSection['allocatedKbPerMessage'] = {};
  for (const mode of ALLOCATION_SAMPLED) {
    const result = await consume(mode, [], true);
    allocatedKbPerMessage[mode] = round(result.allocatedBytesPerMessage! / 1024, 1);
    ctx.progress(`consume: ${mode} allocated ${allocatedKbPerMessage[mode]} KB per message`);
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
      tracedVsPipeline: round(rate('pipeline-traced') / rate('pipeline')),
    },
    tracing: { spans: results.get('pipeline-traced')!.map((r) => r.spans!), sinkRequests: sink.requests, sinkBytes: sink.bytes },
    profiles,
    allocatedKbPerMessage,
  };
}

/** An OTLP/HTTP endpoint on loopback that reads each export, counts it, answers 200 and keeps nothing. */
async function startDiscardingSink(): Promise<{ url: string; requests: number; bytes: number; close(): Promise<void> }> {
  const sink = { url: '', requests: 0, bytes: 0, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (sink.bytes += chunk.length));
    request.on('end', () => {
      sink.requests += 1;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}
