import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the concurrency metrics read at scrape time (KeyedBatchRunner). */
export interface ConcurrencySource {
  readonly inFlight: number;
  waitingByPartition(): Array<{ topic: string; partition: number; waiting: number }>;
  oldestBlockedMs(): number;
}

export type ConsumeOutcome = 'handled' | 'retried' | 'dead_lettered' | 'duplicate';

/** Every Kafka metric of the service, on the application's registry. */
@Injectable()
export class KafkaMetrics {
  readonly produced: Counter<'topic'>;
  readonly produceFailures: Counter<'topic'>;
  readonly produceDuration: Histogram<'topic'>;
  readonly producerReplacements: Counter;
  readonly consumed: Counter<'topic' | 'outcome'>;
  readonly deadLetters: Counter<'topic' | 'reason'>;
  readonly deadLetterRefusals: Counter<'topic' | 'error'>;
  readonly pausedPartitions: Gauge<'topic'>;
  readonly handlingDuration: Histogram<'topic'>;
  readonly handlerTimeouts: Counter<'topic'>;
  readonly handlerAbandoned: Counter<'topic'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly rebalances: Counter;
  readonly consumerCrashes: Counter<'restart'>;
  readonly consumerInGroup: Gauge;
  readonly producerConnected: Gauge;
  readonly runEventsHandled: Counter<'type'>;
  readonly handlersInFlight: Gauge;
  readonly eventsWaiting: Gauge<'topic' | 'partition'>;
  readonly oldestBlockedSeconds: Gauge;
  private concurrency?: ConcurrencySource;

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
    this.consumed = new Counter({
      name: 'coffeebuddy_kafka_messages_consumed_total',
      help: 'Consumed messages by outcome: handled, retried (one per retry), dead_lettered, duplicate.',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'coffeebuddy_kafka_dead_letters_total',
      help: 'Messages written to a dead-letter topic, by original topic and error kind.',
      labelNames: ['topic', 'reason'],
      registers,
    });
    this.deadLetterRefusals = new Counter({
      name: 'coffeebuddy_kafka_dead_letter_refusals_total',
      help: 'Dead-letter writes that failed (each one pauses or keeps paused its partition), by original topic and broker error.',
      labelNames: ['topic', 'error'],
      registers,
    });
    this.pausedPartitions = new Gauge({
      name: 'coffeebuddy_kafka_paused_partitions',
      help: 'Partitions paused until a refused dead-letter write is accepted, by topic.',
      labelNames: ['topic'],
      registers,
    });
    this.handlingDuration = new Histogram({
      name: 'coffeebuddy_kafka_handling_duration_seconds',
      help: 'Time to handle one consumed message, retries included, by topic.',
      labelNames: ['topic'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.handlerTimeouts = new Counter({
      name: 'coffeebuddy_kafka_handler_timeouts_total',
      help: 'Handler attempts that ran past KAFKA_HANDLER_TIMEOUT_MS (their AbortSignal fired), by topic.',
      labelNames: ['topic'],
      registers,
    });
    this.handlerAbandoned = new Counter({
      name: 'coffeebuddy_kafka_handler_abandoned_total',
      help: 'Timed-out handler attempts still running after their grace (they ignore their AbortSignal), by topic.',
      labelNames: ['topic'],
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
    this.runEventsHandled = new Counter({
      name: 'coffeebuddy_run_events_handled_total',
      help: 'Run events handled successfully, by event type.',
      labelNames: ['type'],
      registers,
    });
    const metrics = this;
    this.handlersInFlight = new Gauge({
      name: 'coffeebuddy_kafka_handlers_in_flight',
      help: 'Run-event handlers running now in this process (at most KAFKA_MAX_IN_FLIGHT).',
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
      help: 'How long the longest-held event has waited behind a still-running (e.g. retrying) event of its run; 0 when none.',
      registers,
      collect() {
        this.set((metrics.concurrency?.oldestBlockedMs() ?? 0) / 1000);
      },
    });
  }

  /** Where the concurrency gauges read their values when scraped. */
  observeConcurrency(source: ConcurrencySource): void {
    this.concurrency = source;
  }
}
