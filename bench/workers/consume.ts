import 'reflect-metadata';
import { Session } from 'node:inspector/promises';
import { kafkaClient } from '../support/kafka';
import { Counter } from '../support/counter';
import { dist, startService, stopService } from '../support/service';
import { startStockNest } from '../support/stock-nest';
import { runAsWorker } from '../support/worker';

/**
 * One consumer reads `expected` pre-produced events from the start of a
 * topic, with a consumer group of its own, and reports how long it took
 * from the first handled message to the last. The only work added by the
 * benchmark is one counter increment per message, the same in every mode.
 */
export type ConsumeMode = 'pipeline' | 'pipeline-traced' | 'kafkajs-each-message' | 'kafkajs-each-batch' | 'nest-stock';

export interface ConsumeConfig {
  mode: ConsumeMode;
  bootstrap: string;
  /** Topic prefix of the run: the pipeline consumes `{prefix}.run.events`. */
  prefix: string;
  topic: string;
  groupId: string;
  partitions: number;
  expected: number;
  /** pipeline-traced: the OTLP/HTTP sink spans are exported to. */
  otlpEndpoint?: string;
  /** Sample every allocation (V8's sampling heap profiler, collected objects included) while consuming. */
  measureAllocation?: boolean;
}

export interface ConsumeResult {
  mode: ConsumeMode;
  messages: number;
  /** From the first handled message to the last. */
  handlingMs: number;
  messagesPerSecond: number;
  /** From the start of the consumer (connect) to the last handled message, group join included. */
  totalMs: number;
  /** CPU time of the whole process (all threads) from the first handled message to the last, per message. */
  cpuUsPerMessage: number;
  rssAfterMb: number;
  heapUsedAfterMb: number;
  /** The measured window on the CPU profile's clock (microseconds). */
  windowUs: [number, number];
  /** pipeline-traced: spans ended, exported, lost in failed exports, and dropped by the batch processor (after shutdown). */
  spans?: { ended: number; exported: number; failed: number; dropped: number };
  /** With measureAllocation: bytes allocated per message, from the consumer's start to its last message (its group join included). */
  allocatedBytesPerMessage?: number;
}

/**
 * V8's sampling heap profiler at a 256-byte interval, counting the objects
 * collected since too: its sample sizes, scaled by V8, add up to what was
 * allocated. Returns the function that stops it and gives that total.
 */
async function sampleAllocations(): Promise<() => Promise<number>> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    type Node = { selfSize: number; children: Node[] };
    const total = (node: Node): number => node.children.reduce((sum, child) => sum + total(child), node.selfSize);
    return total(profile.head as Node);
  };
}

/** Consumer settings every mode shares with the service's defaults (session timeout, one fetch slot per partition). */
const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_MS = 3_000;

async function consume(config: ConsumeConfig): Promise<ConsumeResult> {
  const counter = new Counter(config.expected);
  const stopSampling = config.measureAllocation ? await sampleAllocations() : undefined;
  const started = performance.now();
  let stop: () => Promise<void>;
  let spanCounts: (() => ConsumeResult['spans']) | undefined;

  if (config.mode === 'pipeline' || config.mode === 'pipeline-traced') {
    // Traced: every event sampled, spans exported over OTLP/HTTP to a loopback sink that discards them.
    const tracing: Record<string, string> =
      config.mode === 'pipeline-traced' ? { OTEL_EXPORTER_OTLP_ENDPOINT: config.otlpEndpoint!, OTEL_TRACES_SAMPLER: 'always_on' } : {};
    const app = await startService({
      kafka: { bootstrap: config.bootstrap, prefix: config.prefix, groupId: config.groupId, partitions: config.partitions },
      env: { KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS), ...tracing },
      // What a feature gets: an async handler registered through handlers.on.
      register: (handlers) =>
        handlers.on('run.order_placed', async () => {
          counter.add();
        }),
    });
    stop = () => stopService(app);
    const counts = app.get(dist.tracing.Tracing).spanCounts.bind(app.get(dist.tracing.Tracing));
    spanCounts = () => {
      const { ended, exported, failed } = counts();
      return { ended, exported, failed, dropped: ended - exported - failed };
    };
  } else if (config.mode === 'nest-stock') {
    const app = await startStockNest(
      { ...config, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS },
      () => counter.add(),
    );
    stop = () => app.close();
  } else {
    const consumer = kafkaClient(config.bootstrap, 'bench-kafkajs').consumer({
      groupId: config.groupId,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_MS,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
    if (config.mode === 'kafkajs-each-message') {
      await consumer.run({
        partitionsConsumedConcurrently: config.partitions,
        eachMessage: async ({ message }) => {
          JSON.parse(message.value!.toString());
          counter.add();
        },
      });
    } else {
      await consumer.run({
        partitionsConsumedConcurrently: config.partitions,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) JSON.parse(message.value!.toString());
          counter.add(batch.messages.length);
        },
      });
    }
    stop = () => consumer.disconnect();
  }

  await counter.done;
  const allocated = await stopSampling?.();
  const memory = process.memoryUsage();
  await stop();
  const handlingMs = counter.lastAt - counter.firstAt;
  return {
    mode: config.mode,
    messages: counter.count,
    handlingMs,
    messagesPerSecond: (counter.count / handlingMs) * 1000,
    totalMs: counter.lastAt - started,
    cpuUsPerMessage: (counter.cpu!.user + counter.cpu!.system) / counter.count,
    rssAfterMb: memory.rss / 2 ** 20,
    heapUsedAfterMb: memory.heapUsed / 2 ** 20,
    windowUs: [counter.firstUs, counter.lastUs],
    spans: config.mode === 'pipeline-traced' ? spanCounts?.() : undefined,
    allocatedBytesPerMessage: allocated === undefined ? undefined : allocated / counter.count,
  };
}

runAsWorker(consume);
