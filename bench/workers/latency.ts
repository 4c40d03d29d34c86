import 'reflect-metadata';
import { Partitioners } from 'kafkajs';
import type { RunEvent } from '../../src/run-events/run-event.schema';
import { benchEvents } from '../support/events';
import { kafkaClient } from '../support/kafka';
import { quantileSorted } from '../support/stats';
import { dist, startService, stopService, untilKafkaReady } from '../support/service';
import { runAsWorker } from '../support/worker';

/**
 * Publishes at a steady rate and notes, for each event, the time from the
 * publish call to the handler call, in the same process (one clock):
 * the service (KafkaEventPublisher.publishBatch → broker → RunEventsServer,
 * pipeline, handler) or plain kafkajs (producer.send → broker → eachMessage),
 * its producer idempotent or not.
 * Every millisecond the events that fell due are published together, as a
 * service publishes what happened since its last tick.
 */
export type LatencyMode = 'pipeline' | 'kafkajs' | 'kafkajs-idempotent';

export interface LatencyConfig {
  mode: LatencyMode;
  bootstrap: string;
  prefix: string;
  groupId: string;
  partitions: number;
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
}

export interface LatencyResult {
  mode: LatencyMode;
  measured: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** From the publish call to the broker's acknowledgement, per call (after the warm-up). */
  ackP50Ms: number;
  ackP99Ms: number;
  /** Most publish calls waiting for their acknowledgement at the same time: sends queued behind one another. */
  maxOutstanding: number;
}

async function latency(config: LatencyConfig): Promise<LatencyResult> {
  const total = Math.round((config.ratePerSecond * (config.warmupMs + config.durationMs)) / 1000);
  const warmup = Math.round((config.ratePerSecond * config.warmupMs) / 1000);
  const events = benchEvents(total);
  const index = new Map(events.map((event, i) => [event.id, i]));
  const sentAt = new Float64Array(total);
  const latencies = new Float64Array(total).fill(Number.NaN);
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  const onHandled = (id: string) => {
    const i = index.get(id)!;
    latencies[i] = performance.now() - sentAt[i];
    if (++received === total) allReceived();
  };

  let publish: (batch: RunEvent[]) => Promise<unknown>;
  let stop: () => Promise<void>;
  if (config.mode === 'pipeline') {
    const app = await startService({
      kafka: { bootstrap: config.bootstrap, prefix: config.prefix, groupId: config.groupId, partitions: config.partitions },
      handlers: {
        handle: async (event) => onHandled(event.id),
      },
    });
    await untilKafkaReady(app);
    const publisher = app.get(dist.publisher.KafkaEventPublisher);
    const topic = `${config.prefix}.run.events`;
    publish = (batch) => publisher.publishBatch(batch.map((value) => ({ topic, value })));
    stop = () => stopService(app);
  } else {
    const kafka = kafkaClient(config.bootstrap, 'bench-latency');
    const topic = `${config.prefix}.run.events`;
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      ...(config.mode === 'kafkajs-idempotent' ? { idempotent: true, maxInFlightRequests: 1 } : {}),
    });
    const consumer = kafka.consumer({ groupId: config.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: config.partitions,
      eachMessage: async ({ message }) => onHandled((JSON.parse(message.value!.toString()) as RunEvent).id),
    });
    while (!joined) await new Promise((resolve) => setTimeout(resolve, 20));
    publish = (batch) =>
      producer.send({ topic, acks: -1, messages: batch.map((event) => ({ key: event.runId, value: JSON.stringify(event) })) });
    stop = async () => {
      await consumer.disconnect();
      await producer.disconnect();
    };
  }

  // A steady schedule: event i falls due at i / rate seconds after the start.
  let failure: unknown;
  let sent = 0;
  const acks: number[] = [];
  let outstanding = 0;
  let maxOutstanding = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * config.ratePerSecond) / 1000));
      if (due <= sent) return;
      const now = performance.now();
      for (let i = sent; i < due; i += 1) sentAt[i] = now;
      const measuredCall = sent >= warmup;
      maxOutstanding = Math.max(maxOutstanding, ++outstanding);
      publish(events.slice(sent, due))
        .then(
          () => measuredCall && acks.push(performance.now() - now),
          (error: unknown) => (failure ??= error),
        )
        .finally(() => (outstanding -= 1));
      sent = due;
      if (sent === total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const sendingMs = performance.now() - started;
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`only ${received} of ${total} events arrived`)), 30_000).unref(),
  );
  await Promise.race([done, timeout]);
  await stop();
  if (failure) throw failure;

  const measured = Array.from(latencies.subarray(warmup)).sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  return {
    mode: config.mode,
    measured: measured.length,
    achievedRate: (total / sendingMs) * 1000,
    p50Ms: quantileSorted(measured, 0.5),
    p99Ms: quantileSorted(measured, 0.99),
    p999Ms: quantileSorted(measured, 0.999),
    maxMs: measured[measured.length - 1],
    ackP50Ms: quantileSorted(acks, 0.5),
    ackP99Ms: quantileSorted(acks, 0.99),
    maxOutstanding,
  };
}

runAsWorker(latency);
