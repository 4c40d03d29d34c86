import { setTimeout as sleep } from 'node:timers/promises';
import { InFlightLimit } from '../../src/kafka/in-flight-limit';
import { KeyedBatchRunner } from '../../src/kafka/keyed-batch-runner';
import { Counter } from '../support/counter';
import { kafkaClient } from '../support/kafka';
import { startService, stopService } from '../support/service';
import { startStockNest } from '../support/stock-nest';
import { runAsWorker } from '../support/worker';

/**
 * One consumer reads `expected` pre-produced events with an I/O-bound
 * handler: each event waits `handlerMs` (a stand-in for a Slack or database
 * call) and is counted. Modes:
 * - `engine`: kafkajs eachBatch driving the service's KeyedBatchRunner
 *   (per-key order, `maxInFlight` handlers at once in the process), the
 *   engine alone, without the run-event pipeline around it;
 * - `pipeline`: the service (createApp, as main.ts builds it) with
 *   `KAFKA_MAX_IN_FLIGHT` = `maxInFlight`; its handler stand-in waits and counts;
 * - `kafkajs-each-message`: plain kafkajs eachMessage, one event at a time
 *   per partition, `partitions` partitions at once;
 * - `nest-stock`: Nest's own ServerKafka with one `@EventPattern` handler
 *   that waits and counts, `partitions` partitions at once.
 */
export type ConsumeIoMode = 'engine' | 'pipeline' | 'kafkajs-each-message' | 'nest-stock';

export interface ConsumeIoConfig {
  mode: ConsumeIoMode;
  bootstrap: string;
  topic: string;
  /** The service's KAFKA_TOPIC_PREFIX: `topic` is `{prefix}.run.events` (pipeline only). */
  prefix: string;
  groupId: string;
  partitions: number;
  expected: number;
  handlerMs: number;
  /** Handlers at once in the process (engine and pipeline). */
  maxInFlight: number;
}

export interface ConsumeIoResult {
  mode: ConsumeIoMode;
  maxInFlight: number;
  messages: number;
  handlingMs: number;
  messagesPerSecond: number;
  cpuUsPerMessage: number;
  /** The most handlers seen running at once (engine and pipeline): the limit must hold. */
  mostInFlight: number;
  rssAfterMb: number;
}

const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_MS = 3_000;

async function consumeIo(config: ConsumeIoConfig): Promise<ConsumeIoResult> {
  if (config.mode === 'pipeline') {
    return consumeWithApp(config, async (handle) => {
      const app = await startService({
        kafka: { bootstrap: config.bootstrap, prefix: config.prefix, groupId: config.groupId, partitions: config.partitions },
        env: { KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS), KAFKA_MAX_IN_FLIGHT: String(config.maxInFlight) },
        handlers: { handle },
      });
      return () => stopService(app);
    });
  }
  if (config.mode === 'nest-stock') {
    return consumeWithApp(config, async (handle) => {
      const app = await startStockNest({ ...config, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatMs: HEARTBEAT_MS }, handle);
      return () => app.close();
    });
  }
  return consumeWithKafkajs(config);
}

/**
 * Runs an application whose handler is the benchmark's stand-in (waits
 * `handlerMs`, counts, records the most calls running at once) until every
 * event is counted; `start` returns how to stop it.
 */
async function consumeWithApp(
  config: ConsumeIoConfig,
  start: (handle: () => Promise<void>) => Promise<() => Promise<void>>,
): Promise<ConsumeIoResult> {
  const counter = new Counter(config.expected);
  let running = 0;
  let mostInFlight = 0;
  const stop = await start(async () => {
    mostInFlight = Math.max(mostInFlight, ++running);
    await sleep(config.handlerMs);
    running -= 1;
    counter.add();
  });
  await counter.done;
  const memory = process.memoryUsage();
  await stop();
  return result(config, counter, mostInFlight, memory);
}

async function consumeWithKafkajs(config: ConsumeIoConfig): Promise<ConsumeIoResult> {
  const counter = new Counter(config.expected);
  const consumer = kafkaClient(config.bootstrap, `bench-io-${config.mode}`).consumer({
    groupId: config.groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_MS,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
  let mostInFlight = 0;

  if (config.mode === 'engine') {
    const runner = new KeyedBatchRunner(new InFlightLimit(config.maxInFlight));
    await consumer.run({
      partitionsConsumedConcurrently: config.partitions,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        await runner.run(payload, async (message) => {
          mostInFlight = Math.max(mostInFlight, runner.inFlight);
          JSON.parse(message.value!.toString());
          await sleep(config.handlerMs);
          counter.add();
          return 'settled';
        });
      },
    });
  } else {
    await consumer.run({
      partitionsConsumedConcurrently: config.partitions,
      eachMessage: async ({ message }) => {
        JSON.parse(message.value!.toString());
        await sleep(config.handlerMs);
        counter.add();
      },
    });
  }

  await counter.done;
  const memory = process.memoryUsage();
  await consumer.disconnect();
  return result(config, counter, mostInFlight, memory);
}

function result(config: ConsumeIoConfig, counter: Counter, mostInFlight: number, memory: NodeJS.MemoryUsage): ConsumeIoResult {
  const handlingMs = counter.lastAt - counter.firstAt;
  return {
    mode: config.mode,
    maxInFlight: config.maxInFlight,
    messages: counter.count,
    handlingMs,
    messagesPerSecond: (counter.count / handlingMs) * 1000,
    cpuUsPerMessage: (counter.cpu!.user + counter.cpu!.system) / counter.count,
    mostInFlight,
    rssAfterMb: memory.rss / 2 ** 20,
  };
}

runAsWorker(consumeIo);
