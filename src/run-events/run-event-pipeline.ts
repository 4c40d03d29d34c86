import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { Logger } from 'pino';
import { KafkaBatchHandler, TopicHandler } from '../kafka/kafka-batch-handler';
import { brokerErrorType } from '../kafka/kafka-errors';
import { KafkaMetrics } from '../kafka/kafka-metrics';
import { KafkaTracing } from '../kafka/kafka-tracing';
import { KafkaConfig } from '../kafka/kafka.config';
import { InFlightLimit } from '../kafka/in-flight-limit';
import { KeyedBatchRunner, Settlement } from '../kafka/keyed-batch-runner';
import { keepTrying, sleep } from '../kafka/keep-trying';
import { AppLogger } from '../runtime/logger';
import { DeadLetter, DeadLetterKind, DeadLetterWriter } from './dead-letter-writer';
import { DedupeWindow } from './dedupe-window';
import { HandlerAttemptContext, HandlerAttempts, HandlerTimeoutError } from './handler-attempt';
import { PermanentEventError, RetryLaterError } from './run-event-errors';
import { RunEventMetrics } from './run-event-metrics';
import { decodeRunEvent, RunEventType } from './run-event.schema';
import { nextRetryMs, RetryPolicy } from './retry-policy';
import { HANDLER_GRACE_MS, RunEventsConfig } from './run-events.settings';

/** Longest wait between two heartbeats while a retry backs off. */
const HEARTBEAT_STEP_MS = 1000;
/**
 * The settled prefix is handed to kafkajs every this many messages (and at
 * the end): kafkajs commits only after the batch, so this changes no
 * guarantee, and it saves a log flush and a resolveOffset per message.
 */
const RESOLVE_EVERY = 64;
/** Backoff of a refused dead-letter write, retried while its partition is paused. */
const DEAD_LETTER_RETRY = { initialDelayMs: 1000, maxDelayMs: 30_000 };

/** What processMessage made of a message: handled (its event type), skipped, dead-lettered, or not settled. */
type MessageOutcome = RunEventType | 'duplicate' | 'dead_lettered' | 'unsettled';

/** A dead letter the broker did not take: its message stays unsettled and its partition pauses. */
class DeadLetterRefused extends Error {
  constructor(
    readonly letter: DeadLetter,
    readonly eventId: string | undefined,
    readonly refusal: unknown,
  ) {
    super('dead-letter write refused', { cause: refusal });
  }
}

/**
 * What happens to each consumed message, one batch at a time: decode and
 * validate, skip duplicates, dispatch with retries, dead-letter what cannot
 * be handled, and only then resolve its offset (kafkajs commits resolved
 * offsets after the batch). A message whose fate is not settled (shutdown
 * during a retry, dead letter not written) is not resolved and comes back.
 *
 * Within a batch, KeyedBatchRunner runs the events of different runs (Kafka
 * key = runId) concurrently and those of one run one after another, in offset
 * order; all of the above, dedupe included, happens at the head of each run's
 * queue. Only the prefix of the batch below its first unsettled message is
 * resolved, and the batch returns once every message it started is settled.
 *
 * A refused dead-letter write pauses only its partition: the batch starts no
 * further message and returns once those already running have settled (a
 * retry inside eachBatch would hold every partition of the fetch), the
 * write is retried in the background with backoff, and the partition resumes
 * once it is written. The message then comes back and is settled as
 * dead-lettered without being handled again.
 */
@Injectable()
export class RunEventPipeline implements KafkaBatchHandler, OnModuleDestroy {
  private readonly log: Logger;
  private readonly seen: DedupeWindow;
  private readonly stopping = new AbortController();
  private readonly retryPolicy: RetryPolicy;
  /** Per `topic:partition`, the offset whose dead letter was written while the partition was paused. */
  private readonly writtenWhilePaused = new Map<string, string>();
  /** Runs each batch's messages: runs concurrently, each run's events in order, KAFKA_MAX_IN_FLIGHT handlers at most. */
  private readonly runner: KeyedBatchRunner;
  /** Times out and heartbeats handler attempts, one timer for all of them. */
  private readonly attempts: HandlerAttempts;

  constructor(
    private readonly config: RunEventsConfig,
    kafkaConfig: KafkaConfig,
    private readonly metrics: RunEventMetrics,
    private readonly kafkaMetrics: KafkaMetrics,
    private readonly deadLetters: DeadLetterWriter,
    private readonly logger: AppLogger,
    private readonly tracing: KafkaTracing,
  ) {
    this.log = logger.child('RunEventPipeline');
    this.seen = new DedupeWindow(config.dedupeWindowSize);
    this.retryPolicy = {
      budgetMs: config.retryBudgetMs,
      initialBackoffMs: config.retryInitialBackoffMs,
      maxBackoffMs: config.retryMaxBackoffMs,
    };
    this.runner = new KeyedBatchRunner(new InFlightLimit(kafkaConfig.maxInFlight), {
      heartbeatEveryMs: HEARTBEAT_STEP_MS,
      resolveEvery: RESOLVE_EVERY,
      // The lines of settled events leave the process before their offsets can be committed.
      beforeResolve: () => this.logger.written(),
    });
    kafkaMetrics.observeConcurrency(this.runner);
    this.attempts = new HandlerAttempts({ timeoutMs: config.handlerTimeoutMs, graceMs: HANDLER_GRACE_MS, heartbeatEveryMs: HEARTBEAT_STEP_MS });
  }

  onModuleDestroy(): void {
    this.stopping.abort();
  }

  async handleBatch(payload: EachBatchPayload, handler: TopicHandler): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    // Per-batch work where it can be: one child logger, counters added once.
    const log = this.log.child({ topic, partition });
    const tally = { handled: 0, duplicate: 0, byType: new Map<RunEventType, number>() };
    // Set by the first refused dead letter: the partition is paused, and no further message of the batch is started.
    let paused = false;
    let resolvedOffset: string | undefined;
    const counted = (outcome: MessageOutcome): Settlement => {
      if (outcome === 'unsettled') return outcome;
      if (outcome === 'duplicate') tally.duplicate += 1;
      else if (outcome !== 'dead_lettered') {
        tally.handled += 1;
        tally.byType.set(outcome, (tally.byType.get(outcome) ?? 0) + 1);
      }
      return 'settled';
    };
    const refused = (message: KafkaMessage, error: unknown): Settlement => {
      if (!(error instanceof DeadLetterRefused)) throw error;
      if (paused) {
        // A second refusal in the same batch (another run's letter written at the same time): the
        // partition is already paused; this message stays unsettled and is handled again after the resume.
        const type = this.countRefusal(topic, error.refusal);
        log.error({ err: error.refusal, error: type, eventId: error.eventId, offset: Number(message.offset) }, 'dead-letter write refused, partition already paused');
        return 'unsettled';
      }
      this.pauseUntilWritten(error, payload, log);
      paused = true;
      return 'unsettled';
    };
    // Not an async function: a promise chain on the per-batch callbacks above costs less per message.
    const settle = (message: KafkaMessage): Promise<Settlement> => {
      if (paused) return Promise.resolve('unsettled');
      if (this.takeWrittenWhilePaused(topic, partition, message.offset)) return Promise.resolve(counted('dead_lettered'));
      // A consumer span per message only when tracing is on; off, the hot path makes no closure for it.
      const processed = this.tracing.enabled
        ? this.tracing.process(topic, partition, message, () => this.processMessage(topic, partition, message, payload, handler, log))
        : this.processMessage(topic, partition, message, payload, handler, log);
      return processed.then(counted, (error: unknown) => refused(message, error));
    };
    try {
      ({ resolvedOffset } = await this.runner.run(payload, settle));
    } finally {
      if (tally.handled > 0) this.metrics.consumed.inc({ topic, outcome: 'handled' }, tally.handled);
      if (tally.duplicate > 0) this.metrics.consumed.inc({ topic, outcome: 'duplicate' }, tally.duplicate);
      for (const [type, count] of tally.byType) this.metrics.runEventsHandled.inc({ type }, count);
      const lastSettled = resolvedOffset === undefined ? Number(batch.firstOffset() ?? 0) - 1 : Number(resolvedOffset);
      const lag = Math.max(0, Number(batch.highWatermark) - lastSettled - 1);
      this.kafkaMetrics.consumerLag.set({ topic, partition: String(partition) }, lag);
    }
  }

  /**
   * Settles one message: handled (its event type is returned), skipped as a
   * duplicate, or dead-lettered; 'unsettled' when the consumer stops during a retry.
   */
  private async processMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    payload: EachBatchPayload,
    handler: TopicHandler,
    log: Logger,
  ): Promise<MessageOutcome> {
    const offset = Number(message.offset);
    const decoded = decodeRunEvent(message.value, this.config.maxEventBytes);
    if (!decoded.ok) {
      const { kind, message: reason, eventId } = decoded.failure;
      await this.deadLetter(log, topic, partition, message, kind, reason, 1, eventId);
      return 'dead_lettered';
    }
    const event = decoded.event;
    this.tracing.identified(event.id);
    if (this.seen.has(event.id)) {
      log.info({ eventId: event.id, type: event.type, runId: event.runId, offset }, 'duplicate run event skipped');
      return 'duplicate';
    }

    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      // The handler's context carries the attempt's AbortSignal.
      const result = await this.attempts.run(
        (controller) => handler.call(event, new HandlerAttemptContext(handler.contextArgs(message), controller)),
        payload.heartbeat,
      );
      if (result.ok) break;
      const { error, abandoned } = result;
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof HandlerTimeoutError) this.metrics.handlerTimeouts.inc({ topic });
      if (abandoned) {
        this.metrics.handlerAbandoned.inc({ topic });
        log.error({ eventId: event.id, type: event.type, attempt, graceMs: HANDLER_GRACE_MS, offset }, 'run event handler abandoned');
        // Never two attempts of one event at once: wait for this one to settle, within the budget.
        const budgetLeftMs = this.retryPolicy.budgetMs - (performance.now() - started);
        if (!(await this.waitWithHeartbeats(budgetLeftMs, payload, abandoned.done))) return 'unsettled';
      }
      const permanent = error instanceof PermanentEventError;
      const retryInMs =
        permanent || (abandoned && !abandoned.settled)
          ? undefined
          : nextRetryMs(this.retryPolicy, {
              attempt,
              elapsedMs: performance.now() - started,
              retryAfterMs: error instanceof RetryLaterError ? error.retryAfterMs : undefined,
            });
      if (retryInMs === undefined) {
        const kind = permanent ? 'handler_permanent_failure' : 'handler_failed';
        // Not added to the dedupe window: a letter copied back to the topic is handled.
        await this.deadLetter(log, topic, partition, message, kind, reason, attempt, event.id);
        return 'dead_lettered';
      }
      this.metrics.consumed.inc({ topic, outcome: 'retried' });
      this.tracing.retried(error, attempt, retryInMs);
      log.warn({ eventId: event.id, type: event.type, reason, attempt, retryInMs, offset }, 'run event retried');
      if (!(await this.waitWithHeartbeats(retryInMs, payload))) return 'unsettled';
    }
    this.metrics.handlingDuration.observe({ topic }, (performance.now() - started) / 1000);
    this.seen.add(event.id);
    log.info({ eventId: event.id, type: event.type, runId: event.runId, offset }, 'run event handled');
    return event.type;
  }

  /**
   * Waits `ms` while heartbeating, so a slow retry keeps the group membership;
   * less when `until` settles first. False when the consumer stops.
   */
  private async waitWithHeartbeats(ms: number, { heartbeat, isRunning }: EachBatchPayload, until?: Promise<void>): Promise<boolean> {
    // The monotonic clock the retry budget is counted on.
    const deadline = performance.now() + ms;
    let done = false;
    void until?.then(() => (done = true));
    while (performance.now() < deadline && !done) {
      if (!isRunning()) return false;
      const step = sleep(Math.ceil(Math.min(HEARTBEAT_STEP_MS, deadline - performance.now())));
      await (until ? Promise.race([step, until]) : step);
      await heartbeat();
    }
    return isRunning();
  }

  private async deadLetter(
    log: Logger,
    topic: string,
    partition: number,
    message: KafkaMessage,
    kind: DeadLetterKind,
    error: string,
    attempts: number,
    eventId?: string,
  ): Promise<void> {
    const letter: DeadLetter = { topic, partition, message, kind, error, attempts };
    try {
      await this.deadLetters.write(letter);
    } catch (refusal) {
      throw new DeadLetterRefused(letter, eventId, refusal);
    }
    this.recordDeadLetter(log, letter, eventId);
  }

  private recordDeadLetter(log: Logger, { topic, message, kind, error, attempts }: DeadLetter, eventId?: string): void {
    this.metrics.consumed.inc({ topic, outcome: 'dead_lettered' });
    this.metrics.deadLetters.inc({ topic, reason: kind });
    this.tracing.deadLettered(kind, error, attempts);
    log.warn({ eventId, reason: kind, error, attempts, offset: Number(message.offset) }, 'run event dead-lettered');
  }

  /**
   * Pauses the letter's partition and retries the write with backoff until it
   * is accepted, then resumes. Every refusal is counted; a line is logged when
   * the partition is paused, when the refusal changes, and when it resumes.
   */
  private pauseUntilWritten({ letter, eventId, refusal }: DeadLetterRefused, { pause }: EachBatchPayload, log: Logger): void {
    const { topic, partition, message } = letter;
    const resumePartition = pause();
    this.metrics.pausedPartitions.inc({ topic });
    const resume = () => {
      this.metrics.pausedPartitions.dec({ topic });
      resumePartition();
    };
    const offset = Number(message.offset);
    let refusedWith = this.countRefusal(topic, refusal);
    log.error({ err: refusal, error: refusedWith, eventId, offset }, 'dead-letter write refused, partition paused');
    void keepTrying(
      async () => {
        await this.deadLetters.write(letter);
        this.writtenWhilePaused.set(`${topic}:${partition}`, message.offset);
        this.recordDeadLetter(log, letter, eventId);
        log.info({ eventId, offset }, 'dead-letter write accepted, partition resumed');
      },
      {
        ...DEAD_LETTER_RETRY,
        signal: this.stopping.signal,
        onFailure: (error, retryInMs) => {
          const type = this.countRefusal(topic, error);
          if (type !== refusedWith) log.error({ err: error, error: type, eventId, offset, retryInMs }, 'dead-letter write still refused');
          refusedWith = type;
        },
      },
    ).finally(resume);
  }

  private countRefusal(topic: string, error: unknown): string {
    const type = brokerErrorType(error) ?? (error instanceof Error ? error.name : 'Error');
    this.metrics.deadLetterRefusals.inc({ topic, error: type });
    return type;
  }

  /** True once for the message whose dead letter was written while its partition was paused. */
  private takeWrittenWhilePaused(topic: string, partition: number, offset: string): boolean {
    if (this.writtenWhilePaused.size === 0) return false;
    const key = `${topic}:${partition}`;
    if (this.writtenWhilePaused.get(key) !== offset) return false;
    this.writtenWhilePaused.delete(key);
    return true;
  }
}
