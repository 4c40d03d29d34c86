import 'reflect-metadata';
import { Partitioners } from 'kafkajs';
import type { RunEvent } from '../../src/run-events/run-event.schema';
import { benchEvent, benchEvents } from '../support/events';
import { quantileSorted } from '../support/stats';
import { dist, startService, stopService, untilKafkaReady } from '../support/service';
import { runAsWorker } from '../support/worker';

/**
 * The service with a handler registered through `handlers.on`, events
 * published at a steady rate to every partition, and, in mode 'failing',
 * one run whose handler throws at once for `failForMs` from its first
 * attempt, then succeeds ('healthy': the same run succeeds at once). For the
 * events of the other runs published while it fails, the time from the
 * publish call to the handler call, on the failing run's partition and on
 * the others (one process, one clock).
 */
export type FailingRunMode = 'failing' | 'healthy';

export interface FailingRunConfig {
  mode: FailingRunMode;
  bootstrap: string;
  prefix: string;
  groupId: string;
  partitions: number;
  ratePerSecond: number;
  failForMs: number;
}

export interface LatencyStats {
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface FailingRunResult {
  mode: FailingRunMode;
  samePartition: LatencyStats;
  otherPartitions: LatencyStats;
  /** Attempts of the failing run's first event, and when it was handled (ms after it was published). */
  failingAttempts: number;
  failingHandledAfterMs: number;
}

const FAILING_RUN = 'run-failing-blip';

/** The partition kafkajs' default partitioner gives a key, with every partition available. */
function partitionOf(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  return Partitioners.DefaultPartitioner()({ topic: '', partitionMetadata, message: { key, value: null } });
}

function stats(latencies: number[]): LatencyStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { events: sorted.length, p50Ms: quantileSorted(sorted, 0.5), p99Ms: quantileSorted(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? 0 };
}

/**
 * Every handler throws RetryLaterError(retryAfterMs) for `failForMs` from
 * the first attempt (a provider's outage that answers 503 with Retry-After),
 * then succeeds; `events` events of `runs` runs are published before it
 * begins. Every event must then be handled (a dead-lettered one never is),
 * once, in order per run.
 */
export interface OutageConfig {
  bootstrap: string;
  prefix: string;
  groupId: string;
  partitions: number;
  events: number;
  runs: number;
  failForMs: number;
  retryAfterMs: number;
}

export interface OutageResult {
  handled: number;
  handledTwice: number;
  outOfOrder: number;
  /** Events never handled (dead-lettered, or lost) within two minutes of the outage's end. */
  unhandled: number;
  /** From the outage's end to the last event handled. */
  drainMs: number;
  attempts: number;
}

async function outage(config: OutageConfig): Promise<OutageResult> {
  const events = benchEvents(config.events).map((event, i) => ({ ...event, runId: `run-outage-${i % config.runs}` }));
  const seq = new Map(events.map((event, i) => [event.id, i]));
  const handledAt = new Map<string, number>();
  const lastOfRun = new Map<string, number>();
  let handledTwice = 0;
  let outOfOrder = 0;
  let attempts = 0;
  let outageEnds: number | undefined;
  let allHandled!: () => void;
  const done = new Promise<void>((resolve) => (allHandled = resolve));
  const app = await startService({
    kafka: { bootstrap: config.bootstrap, prefix: config.prefix, groupId: config.groupId, partitions: config.partitions },
    register: (handlers) =>
      handlers.on('run.order_placed', async (event) => {
        attempts += 1;
        outageEnds ??= performance.now() + config.failForMs;
        if (performance.now() < outageEnds) throw new dist.errors.RetryLaterError(config.retryAfterMs, 'provider answered 503');
        if (handledAt.has(event.id)) handledTwice += 1;
        const i = seq.get(event.id)!;
        if ((lastOfRun.get(event.runId) ?? -1) > i) outOfOrder += 1;
        lastOfRun.set(event.runId, i);
        handledAt.set(event.id, performance.now());
        if (handledAt.size === events.length) allHandled();
      }),
  });
  await untilKafkaReady(app);
  const publisher = app.get(dist.publisher.KafkaEventPublisher);
  const topic = `${config.prefix}.run.events`;
  await publisher.publishBatch(events.map((value) => ({ topic, value })));
  // What is not handled two minutes after the outage was dead-lettered (or lost): reported, not thrown.
  const given = new Promise<void>((resolve) => setTimeout(resolve, config.failForMs + 120_000).unref());
  await Promise.race([done, given]);
  await stopService(app);
  return { handled: handledAt.size, unhandled: events.length - handledAt.size, handledTwice, outOfOrder, drainMs: Math.max(...handledAt.values()) - outageEnds!, attempts };
}

async function failingRun(config: FailingRunConfig): Promise<FailingRunResult> {
  const total = Math.round((config.ratePerSecond * config.failForMs) / 1000);
  const failing: RunEvent = { ...benchEvent(0), runId: FAILING_RUN };
  const events = [failing, ...benchEvents(total, 1)];
  const index = new Map(events.map((event, i) => [event.id, i]));
  const sentAt = new Float64Array(events.length);
  const latencies = new Float64Array(events.length).fill(Number.NaN);
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  let failUntil: number | undefined;
  let failingAttempts = 0;

  const app = await startService({
    kafka: { bootstrap: config.bootstrap, prefix: config.prefix, groupId: config.groupId, partitions: config.partitions },
    // A budget longer than the failure: the run is handled once it recovers, not dead-lettered.
    env: { KAFKA_RETRY_BUDGET_MS: String(config.failForMs * 3) },
    register: (handlers) =>
      handlers.on('run.order_placed', async (event) => {
        if (event.runId === FAILING_RUN) {
          failingAttempts += 1;
          failUntil ??= performance.now() + (config.mode === 'failing' ? config.failForMs : 0);
          if (performance.now() < failUntil) throw new Error('Slack answered 503');
        }
        const i = index.get(event.id)!;
        latencies[i] = performance.now() - sentAt[i]!;
        if (++received === events.length) allReceived();
      }),
  });
  await untilKafkaReady(app);
  const publisher = app.get(dist.publisher.KafkaEventPublisher);
  const topic = `${config.prefix}.run.events`;
  const publish = (batch: RunEvent[]) => publisher.publishBatch(batch.map((value) => ({ topic, value })));

  // The failing run's event first, then the others at a steady rate while it fails.
  sentAt[0] = performance.now();
  await publish([failing]);
  while (failUntil === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
  let failure: unknown;
  let sent = 1;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(events.length, 1 + Math.floor(((performance.now() - started) * config.ratePerSecond) / 1000));
      if (due <= sent) return;
      const now = performance.now();
      for (let i = sent; i < due; i += 1) sentAt[i] = now;
      publish(events.slice(sent, due)).catch((error: unknown) => (failure ??= error));
      sent = due;
      if (sent === events.length) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`only ${received} of ${events.length} events arrived`)), config.failForMs * 2 + 30_000).unref(),
  );
  await Promise.race([done, timeout]);
  await stopService(app);
  if (failure) throw failure;

  const failingPartition = partitionOf(FAILING_RUN, config.partitions);
  const same: number[] = [];
  const others: number[] = [];
  events.forEach((event, i) => {
    if (i === 0) return;
    (partitionOf(event.runId, config.partitions) === failingPartition ? same : others).push(latencies[i]!);
  });
  return {
    mode: config.mode,
    samePartition: stats(same),
    otherPartitions: stats(others),
    failingAttempts,
    failingHandledAfterMs: latencies[0]!,
  };
}

runAsWorker<FailingRunConfig | OutageConfig, FailingRunResult | OutageResult>((config) => ('mode' in config ? failingRun(config) : outage(config)));
