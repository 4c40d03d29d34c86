import { join } from 'node:path';
import { runWorker } from '../support/child';
import { benchEvents } from '../support/events';
import { createTopics, produceEvents } from '../support/kafka';
import { round, summarise, Summary } from '../support/stats';
import type { ConsumeIoConfig, ConsumeIoMode, ConsumeIoResult } from '../workers/consume-io';
import { BenchContext, rotate, WORKERS } from './context';

export const IO_EVENTS = 100_000;
/** The plain eachMessage baseline reads this many (one event per 10 ms per partition: 100,000 would take five minutes). */
export const IO_SLICE = 10_000;
export const IO_HANDLER_MS = 10;
export const IO_IN_FLIGHT = [1, 16, 64, 128, 256] as const;
const PARTITIONS = 6;

interface Measurement {
  mode: ConsumeIoMode;
  maxInFlight: number;
  events: number;
}

/**
 * At one event at a time, 100,000 events take 17 minutes by construction:
 * M = 1 reads the slice, like the baseline. Its rate is what is compared.
 */
const MEASUREMENTS: Measurement[] = [
  { mode: 'kafkajs-each-message', maxInFlight: PARTITIONS, events: IO_SLICE },
  { mode: 'nest-stock', maxInFlight: PARTITIONS, events: IO_SLICE },
  ...(['engine', 'pipeline'] as const).flatMap((mode) =>
    IO_IN_FLIGHT.map((m) => ({ mode, maxInFlight: m, events: m === 1 ? IO_SLICE : IO_EVENTS })),
  ),
];

interface Figures {
  events: number;
  messagesPerSecond: Summary;
  cpuUsPerMessage: Summary;
}

export interface ConsumeIoSection {
  events: number;
  slice: number;
  handlerMs: number;
  partitions: number;
  eachMessage: Figures;
  /** Stock Nest ServerKafka, the same handler, on the slice. */
  nestStock: Figures;
  /** The runner alone under kafkajs eachBatch. */
  engine: Array<Figures & { maxInFlight: number; mostInFlight: number; ideal: number }>;
  /** The service with KAFKA_MAX_IN_FLIGHT = M (decode, validation, dedupe, logs, metrics included). */
  pipeline: Array<Figures & { maxInFlight: number; mostInFlight: number; ideal: number }>;
  ratios: {
    /** Rate / (M / handler time), per M. */
    engineVsIdeal: Record<string, number>;
    pipelineVsIdeal: Record<string, number>;
    engine128VsEachMessage: number;
    pipeline128VsEachMessage: number;
    pipeline128VsNestStock: number;
  };
}

/** Consume with an I/O-bound handler: throughput against the in-flight limit M, and against plain eachMessage. */
export async function consumeIoSuite(ctx: BenchContext): Promise<ConsumeIoSection> {
  const prefix = `${ctx.prefix}-consume-io`;
  const topic = `${prefix}.run.events`;
  await createTopics(ctx.bootstrap, [topic], PARTITIONS);
  ctx.progress(`consume-io: producing ${IO_EVENTS} events over 1,000 runs to ${topic} (${PARTITIONS} partitions)`);
  await produceEvents(ctx.bootstrap, topic, benchEvents(IO_EVENTS));

  let group = 0;
  const consume = ({ mode, maxInFlight, events }: Measurement) => {
    group += 1;
    const config: ConsumeIoConfig = {
      mode,
      bootstrap: ctx.bootstrap,
      topic,
      prefix,
      groupId: `${prefix}-${mode}-${maxInFlight}-${group}`,
      partitions: PARTITIONS,
      expected: events,
      handlerMs: IO_HANDLER_MS,
      maxInFlight,
    };
    const idealSeconds = (events * IO_HANDLER_MS) / maxInFlight / 1000;
    return runWorker<ConsumeIoResult>(join(WORKERS, 'consume-io.ts'), config, {
      logFile: join(ctx.workDir, 'consume-io-workers.log'),
      timeoutMs: Math.max(idealSeconds * 4, 60) * 1000 + 60_000,
    });
  };

  const results = new Map<Measurement, ConsumeIoResult[]>(MEASUREMENTS.map((m) => [m, []]));
  for (let run = 0; run < ctx.runs; run += 1) {
    for (const measurement of rotate(MEASUREMENTS, run)) {
      const result = await consume(measurement);
      results.get(measurement)!.push(result);
      const label = measurement.mode === 'engine' || measurement.mode === 'pipeline' ? `${measurement.mode} M=${measurement.maxInFlight}` : measurement.mode;
      ctx.progress(`consume-io: run ${run + 1}/${ctx.runs} ${label}: ${Math.round(result.messagesPerSecond)} msg/s over ${result.messages} events`);
    }
  }

  const figures = (m: Measurement): Figures => {
    const runs = results.get(m)!;
    return {
      events: m.events,
      messagesPerSecond: summarise(runs.map((r) => round(r.messagesPerSecond, 0))),
      cpuUsPerMessage: summarise(runs.map((r) => round(r.cpuUsPerMessage, 1))),
    };
  };
  const eachMessage = figures(MEASUREMENTS[0]!);
  const nestStock = figures(MEASUREMENTS[1]!);
  const byM = (mode: 'engine' | 'pipeline') =>
    MEASUREMENTS.filter((m) => m.mode === mode).map((m) => ({
      ...figures(m),
      maxInFlight: m.maxInFlight,
      mostInFlight: Math.max(...results.get(m)!.map((r) => r.mostInFlight)),
      ideal: (m.maxInFlight * 1000) / IO_HANDLER_MS,
    }));
  const engine = byM('engine');
  const pipeline = byM('pipeline');
  const vsIdeal = (rows: typeof engine) => Object.fromEntries(rows.map((e) => [String(e.maxInFlight), round(e.messagesPerSecond.median / e.ideal)]));
  const at128Vs = (rows: typeof engine, baseline: Figures) =>
    round(rows.find((e) => e.maxInFlight === 128)!.messagesPerSecond.median / baseline.messagesPerSecond.median);
  return {
    events: IO_EVENTS,
    slice: IO_SLICE,
    handlerMs: IO_HANDLER_MS,
    partitions: PARTITIONS,
    eachMessage,
    nestStock,
    engine,
    pipeline,
    ratios: {
      engineVsIdeal: vsIdeal(engine),
      pipelineVsIdeal: vsIdeal(pipeline),
      engine128VsEachMessage: at128Vs(engine, eachMessage),
      pipeline128VsEachMessage: at128Vs(pipeline, eachMessage),
      pipeline128VsNestStock: at128Vs(pipeline, nestStock),
    },
  };
}
