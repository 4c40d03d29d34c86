import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';

/** What became of each consumed run event: handled, retried, duplicate, dead-lettered, and why. */
@Injectable()
export class RunEventMetrics {
  readonly consumed: Counter<'topic' | 'outcome'>;
  readonly deadLetters: Counter<'topic' | 'reason'>;
  readonly deadLetterRefusals: Counter<'topic' | 'error'>;
  readonly handlingDuration: Histogram<'topic'>;
  readonly handlerTimeouts: Counter<'topic'>;
  readonly handlerAbandoned: Counter<'topic'>;
  readonly runEventsHandled: Counter<'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
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
    this.runEventsHandled = new Counter({
      name: 'coffeebuddy_run_events_handled_total',
      help: 'Run events handled successfully, by event type.',
      labelNames: ['type'],
      registers,
    });
  }
}
