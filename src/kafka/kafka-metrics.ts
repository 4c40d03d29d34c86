import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the concurrency metrics read at scrape time (KeyedBatchRunner). */
export interface ConcurrencySource {
  readonly inFlight: number;
  waitingByPartition(): Array<{ topic: string; partition: number; waiting: number }>;
  oldestBlockedMs(): number;
}

/** What the pause gauges read at scrape time (PartitionWaits). */
export interface PauseSource {
  pausedByReason(): Array<{ topic: string; reason: string; count: number }>;
  oldestWaitingMs(): number;
}

/** The Kafka clients' own metrics, for any payload: connections, rebalances, crashes, produce outcomes, lag, and the consumer's concurrency. */
@Injectable()
export class KafkaMetrics {
  readonly produced: Counter<'topic'>;
  readonly produceFailures: Counter<'topic'>;
  readonly produceDuration: Histogram<'topic'>;
  readonly producerReplacements: Counter;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly rebalances: Counter;
  readonly consumerCrashes: Counter<'restart'>;
  readonly consumerInGroup: Gauge;
  readonly producerConnected: Gauge;
  readonly handlersInFlight: Gauge;
  readonly eventsWaiting: Gauge<'topic' | 'partition'>;
  readonly oldestBlockedSeconds: Gauge;
  readonly pausedPartitions: Gauge<'topic' | 'reason'>;
  readonly oldestWaitingSeconds: Gauge;
  private concurrency?: ConcurrencySource;
  private pauses?: PauseSource;

  constructor(registry: Registry) {
    const registers = [registry];
    this.produced = new Counter({
      name: 'coffeebuddy_kafka_messages_produced_total',
      help: 'Messages the broker acknowledged, by topic.',
      labelNames: ['topic'],
      registers,
    });
    this.produceFailures = new Counter({
      name: 'coffeebuddy_kafka_produce_failures_total',
      help: 'Messages whose send failed (the error reached the caller), by topic.',
      labelNames: ['topic'],
      registers,
    });
    this.produceDuration = new Histogram({
      name: 'coffeebuddy_kafka_produce_duration_seconds',
      help: 'Time from send to broker acknowledgement, per send call, by topic.',
      labelNames: ['topic'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.producerReplacements = new Counter({
      name: 'coffeebuddy_kafka_producer_replacements_total',
      help: 'Producers thrown away and replaced by a new one (new producer id) after a failed send.',
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'coffeebuddy_kafka_consumer_lag',
      help: 'Messages behind the high watermark after the last batch, by topic and partition.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.rebalances = new Counter({
      name: 'coffeebuddy_kafka_consumer_rebalances_total',
      help: 'Consumer group rebalances this consumer took part in.',
      registers,
    });
    this.consumerCrashes = new Counter({
      name: 'coffeebuddy_kafka_consumer_crashes_total',
      help: 'Consumer crashes, by whether kafkajs restarts the consumer.',
      labelNames: ['restart'],
      registers,
    });
    this.consumerInGroup = new Gauge({
      name: 'coffeebuddy_kafka_consumer_in_group',
      help: 'Whether the consumer is a member of its group (1) or not (0).',
      registers,
    });
    this.producerConnected = new Gauge({
      name: 'coffeebuddy_kafka_producer_connected',
      help: 'Whether the producer is connected to the cluster (1) or not (0).',
      registers,
    });
    const metrics = this;
    this.handlersInFlight = new Gauge({
      name: 'coffeebuddy_kafka_handlers_in_flight',
      help: 'Message handlers running now in this process (at most KAFKA_MAX_IN_FLIGHT).',
      registers,
      collect() {
        this.set(metrics.concurrency?.inFlight ?? 0);
      },
    });
    this.eventsWaiting = new Gauge({
      name: 'coffeebuddy_kafka_events_waiting',
      help: 'Fetched events not started yet (waiting for a handler slot or for an earlier event of their run), by topic and partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const { topic, partition, waiting } of metrics.concurrency?.waitingByPartition() ?? []) {
          this.inc({ topic, partition: String(partition) }, waiting);
        }
      },
    });
    this.oldestBlockedSeconds = new Gauge({
      name: 'coffeebuddy_kafka_oldest_blocked_event_seconds',
      help: 'How long the longest-held event has waited behind a still-running event of its run, or waited itself for its next attempt (its partition paused); 0 when none.',
      registers,
      collect() {
        this.set(Math.max(metrics.concurrency?.oldestBlockedMs() ?? 0, metrics.pauses?.oldestWaitingMs() ?? 0) / 1000);
      },
    });
    this.pausedPartitions = new Gauge({
      name: 'coffeebuddy_kafka_paused_partitions',
      help: 'Partitions paused while one of their events waits, by topic and reason: retry (its next attempt), outage (its dependency is down), dead_letter_refused (its dead letter is not written yet).',
      labelNames: ['topic', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const { topic, reason, count } of metrics.pauses?.pausedByReason() ?? []) this.set({ topic, reason }, count);
      },
    });
    this.oldestWaitingSeconds = new Gauge({
      name: 'coffeebuddy_kafka_oldest_waiting_event_seconds',
      help: 'How long the oldest event waiting for its next attempt (its partition paused) has waited; 0 when none.',
      registers,
      collect() {
        this.set((metrics.pauses?.oldestWaitingMs() ?? 0) / 1000);
      },
    });
  }

  /** Where the concurrency gauges read their values when scraped. */
  observeConcurrency(source: ConcurrencySource): void {
    this.concurrency = source;
  }

  /** Where the pause gauges read their values when scraped. */
  observePauses(source: PauseSource): void {
    this.pauses = source;
  }
}
