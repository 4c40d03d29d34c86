import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { brokerErrorType } from '../kafka/kafka-errors';
import { KafkaMetrics } from '../kafka/kafka-metrics';
import { KafkaTracing } from '../kafka/kafka-tracing';
import { KafkaConfig } from '../kafka/kafka.config';
import { InFlightLimit } from '../kafka/in-flight-limit';
import { KeyedBatchRunner, Settlement } from '../kafka/keyed-batch-runner';
import { keepTrying } from '../kafka/keep-trying';
import { PartitionWaits, Wait } from '../kafka/partition-waits';
import { AppLogger } from '../runtime/logger';
import { DeadLetter, DeadLetterKind, DeadLetterWriter } from './dead-letter-writer';
import { DedupeWindow } from './dedupe-window';
import { AbandonedAttempt, Attempt, HandlerAttempts, HandlerTimeoutError } from './handler-attempt';
import { RunEventHandlers } from './run-event-handlers';
import { PermanentEventError, RetryLaterError } from './run-event-errors';
import { RunEventMetrics } from './run-event-metrics';
import { decodeRunEvent, RunEvent, RunEventType } from './run-event.schema';
import { nextOutageRetryMs, nextRetryMs, RetryPolicy } from './retry-policy';
import { HANDLER_GRACE_MS, RunEventsConfig } from './run-events.settings';

/** Longest time between two heartbeats of a running attempt. */
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

/** What an event that waits carries from one attempt to the next (in memory, by partition and offset). */
interface RetryState {
  attempts: number;
  /** Time of failures that spend the retry budget: their attempts and the waits before them. */
  budgetSpentMs: number;
  /** Time of failures during an outage: spends only the outage limit. */
  outageSpentMs: number;
  /** performance.now() up to which time is counted in one of the two. */
  countedTo: number;
  /** performance.now() when the first attempt began (the handling duration). */
  readonly firstAttemptAt: number;
  /** The process's successful attempts when this event's transient failures began; undefined after any other failure. */
  successesAtTransientStart?: number;
  /** What the last attempt failed with (the dead letter's reason if it is abandoned). */
  lastReason: string;
  /** A timed-out attempt that may still run: no attempt starts beside it. */
  abandoned?: AbandonedAttempt;
  /** A dead letter the broker refused, written in the background. */
  deadLetter?: { written: boolean };
}

type EventWait = Wait<RetryState>;

/**
 * What happens to each consumed message, one batch at a time: decode and
 * validate, skip duplicates, attempt the handler, dead-letter what cannot
 * be handled, and only then resolve its offset (kafkajs commits resolved
 * offsets after the batch).
 *
 * Within a batch, KeyedBatchRunner runs the events of different runs (Kafka
 * key = runId) concurrently and those of one run one after another, in offset
 * order; all of the above, dedupe included, happens at the head of each run's
 * queue. Only the prefix of the batch below its first unsettled message is
 * resolved, and the batch returns once every message it started is settled.
 *
 * An event that must wait (its next attempt after a failure, the end of an
 * outage, a refused dead letter) does not wait inside the batch: it stays
 * unsettled, its run stops there, its partition is paused (PartitionWaits)
 * and the other runs of the batch go on to its end. When it is due the
 * partition resumes, the event comes back with its retry state, and the
 * events above it settled meanwhile are passed over.
 */
@Injectable()
export class RunEventPipeline implements OnModuleDestroy {
  private readonly log: Logger;
  private readonly seen: DedupeWindow;
  private readonly stopping = new AbortController();
  private readonly retryPolicy: RetryPolicy;
  /** Runs each batch's messages: runs concurrently, each run's events in order, KAFKA_MAX_IN_FLIGHT handlers at most. */
  private readonly runner: KeyedBatchRunner;
  /** Times out and heartbeats handler attempts, one timer for all of them. */
  private readonly attempts: HandlerAttempts;
  /** Successful handler attempts in the process: an outage is when it does not move while an event's transient failures go on. */
  private successes = 0;
  /** An attempt of the event's handlers, the attempt as their context (one function for every event). */
  private readonly callHandlers = (attempt: Attempt, event: RunEvent) => this.handlers.handle(event, attempt);
  /** The handling-duration histogram's child per topic, looked up once rather than by label at every event. */
  private readonly handlingDurations = new Map<string, Histogram.Internal<'topic'>>();

  constructor(
    private readonly config: RunEventsConfig,
    kafkaConfig: KafkaConfig,
    private readonly metrics: RunEventMetrics,
    private readonly kafkaMetrics: KafkaMetrics,
    private readonly deadLetters: DeadLetterWriter,
    private readonly logger: AppLogger,
    private readonly tracing: KafkaTracing,
    private readonly waits: PartitionWaits<RetryState>,
    private readonly handlers: RunEventHandlers,
  ) {
    this.log = logger.child('RunEventPipeline');
    this.seen = new DedupeWindow(config.dedupeWindowSize);
    this.retryPolicy = {
      budgetMs: config.retryBudgetMs,
      initialBackoffMs: config.retryInitialBackoffMs,
      maxBackoffMs: config.retryMaxBackoffMs,
      outageLimitMs: config.retryOutageLimitMs,
    };
    this.runner = new KeyedBatchRunner(new InFlightLimit(kafkaConfig.maxInFlight), {
      heartbeatEveryMs: HEARTBEAT_STEP_MS,
      resolveEvery: RESOLVE_EVERY,
      // The lines of settled events leave the process before their offsets can be committed.
      beforeResolve: () => this.logger.written(),
      settledAbove: (topic, partition, offsets) => this.waits.recordSettled(topic, partition, offsets),
    });
    kafkaMetrics.observeConcurrency(this.runner);
    this.attempts = new HandlerAttempts({ timeoutMs: config.handlerTimeoutMs, graceMs: HANDLER_GRACE_MS, heartbeatEveryMs: HEARTBEAT_STEP_MS });
  }

  onModuleDestroy(): void {
    this.stopping.abort();
  }

  async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    // Per-batch work where it can be: one child logger, counters added once, the partition's hold looked up once.
    const log = this.log.child({ topic, partition });
    const tally = { handled: 0, duplicate: 0, byType: new Map<RunEventType, number>() };
    const hold = this.waits.find(topic, partition);
    const firstOffset = batch.firstOffset();
    if (hold && firstOffset !== null) this.waits.fetchedFrom(hold, Number(firstOffset));
    const probe = hold?.probeOffset();
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
    // Not an async function: a promise chain on the per-batch callbacks above costs less per message.
    const settle = (message: KafkaMessage): Promise<Settlement> => {
      let wait: EventWait | undefined;
      if (hold !== undefined) {
        // Settled before its partition paused, and back with the event that waited: passed over.
        if (hold.settled.delete(message.offset)) return Promise.resolve('settled');
        // During an outage only the oldest waiting event is attempted; the events above it come back once it succeeds.
        if (probe !== undefined && Number(message.offset) > probe) return Promise.resolve('unsettled');
        wait = hold.waits.get(message.offset);
      }
      // A consumer span per message only when tracing is on; off, the hot path makes no closure for it.
      const processed = this.tracing.enabled
        ? this.tracing.process(topic, partition, message, () => this.processMessage(topic, partition, message, payload, log, wait))
        : this.processMessage(topic, partition, message, payload, log, wait);
      return processed.then(counted);
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
   * duplicate, or dead-lettered; 'unsettled' when it waits (its partition paused).
   */
  private async processMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    payload: EachBatchPayload,
    log: Logger,
    wait?: EventWait,
  ): Promise<MessageOutcome> {
    const offset = Number(message.offset);
    if (wait !== undefined) {
      if (wait.state.deadLetter?.written) {
        this.waits.done(topic, partition, message.offset);
        return 'dead_lettered';
      }
      // Back before it is due (a consumer restarted after a crash has lost its pauses): it waits again.
      if (wait.state.deadLetter || performance.now() < wait.dueAt) {
        this.waits.wait(payload, message.offset, wait);
        return 'unsettled';
      }
    }
    const decoded = decodeRunEvent(message.value, this.config.maxEventBytes);
    if (!decoded.ok) {
      const { kind, message: reason, eventId } = decoded.failure;
      return this.deadLetter(log, payload, message, { kind, error: reason, attempts: 1, eventId });
    }
    const event = decoded.event;
    this.tracing.identified(event.id);
    if (this.seen.has(event.id)) {
      log.info({ eventId: event.id, type: event.type, runId: event.runId, offset }, 'duplicate run event skipped');
      if (wait !== undefined) this.waits.done(topic, partition, message.offset);
      return 'duplicate';
    }
    const state = wait?.state;
    if (state?.abandoned && !state.abandoned.settled) {
      // Its timed-out attempt still runs after the budget: it is not attempted beside it.
      return this.deadLetter(log, payload, message, { kind: 'handler_failed', error: state.lastReason, attempts: state.attempts, eventId: event.id }, wait);
    }
    const started = performance.now();
    const successesBefore = this.successes;
    // Called from the registry: the attempt is the handler's context (its signal).
    const result = await this.attempts.run(this.callHandlers, event, payload.heartbeat);
    if (!result.ok) return this.attemptFailed(result, event, message, payload, log, wait, { started, successesBefore });
    this.successes += 1;
    if (wait !== undefined) this.waits.done(topic, partition, message.offset);
    this.handlingDurationOf(topic).observe((performance.now() - (state?.firstAttemptAt ?? started)) / 1000);
    this.seen.add(event.id);
    log.info({ eventId: event.id, type: event.type, runId: event.runId, offset }, 'run event handled');
    return event.type;
  }

  /**
   * After a failed attempt: dead-letters the event (a permanent error, or its
   * budget or outage limit spent), or makes it wait for its next attempt.
   * Transient failures (RetryLaterError) while no attempt in the process
   * succeeds are an outage: their time spends only the outage limit.
   */
  private async attemptFailed(
    { error, abandoned }: { error: unknown; abandoned?: AbandonedAttempt },
    event: RunEvent,
    message: KafkaMessage,
    payload: EachBatchPayload,
    log: Logger,
    wait: EventWait | undefined,
    { started, successesBefore }: { started: number; successesBefore: number },
  ): Promise<MessageOutcome> {
    const { topic, partition } = payload.batch;
    const offset = Number(message.offset);
    const now = performance.now();
    const reason = error instanceof Error ? error.message : String(error);
    const state: RetryState = wait?.state ?? { attempts: 0, budgetSpentMs: 0, outageSpentMs: 0, countedTo: started, firstAttemptAt: started, lastReason: reason };
    state.attempts += 1;
    state.lastReason = reason;
    state.abandoned = undefined;
    // An outage: a transient failure again, and no attempt in the process has succeeded since the
    // first one. The time since the last failure is then counted against the outage limit only.
    const transient = error instanceof RetryLaterError;
    const outage = transient && state.successesAtTransientStart === this.successes;
    if (transient) state.successesAtTransientStart ??= successesBefore;
    else state.successesAtTransientStart = undefined;
    if (outage) state.outageSpentMs += now - state.countedTo;
    else state.budgetSpentMs += now - state.countedTo;
    state.countedTo = now;
    const { attempts: attempt } = state;
    if (error instanceof HandlerTimeoutError) this.metrics.handlerTimeouts.inc({ topic });
    const since = wait?.since ?? started;
    if (abandoned && !abandoned.settled) {
      this.metrics.handlerAbandoned.inc({ topic });
      log.error({ eventId: event.id, type: event.type, attempt, graceMs: HANDLER_GRACE_MS, offset }, 'run event handler abandoned');
      // Never two attempts of one event at once: it waits for this one to settle, within the budget.
      const budgetLeftMs = Math.max(0, this.retryPolicy.budgetMs - state.budgetSpentMs);
      state.abandoned = abandoned;
      this.waits.wait(payload, message.offset, { reason: 'retry', dueAt: now + budgetLeftMs, since, state }, { eventId: event.id, runId: event.runId });
      void abandoned.done.then(() => this.waits.wake(topic, partition, message.offset));
      return 'unsettled';
    }
    const permanent = error instanceof PermanentEventError;
    const retryAfterMs = transient ? error.retryAfterMs : undefined;
    const retryInMs = permanent
      ? undefined
      : outage
        ? nextOutageRetryMs(this.retryPolicy, { attempt, outageMs: state.outageSpentMs, retryAfterMs })
        : nextRetryMs(this.retryPolicy, { attempt, elapsedMs: state.budgetSpentMs, retryAfterMs });
    if (retryInMs === undefined) {
      const kind = permanent ? 'handler_permanent_failure' : 'handler_failed';
      // Not added to the dedupe window: a letter copied back to the topic is handled.
      return this.deadLetter(log, payload, message, { kind, error: reason, attempts: attempt, eventId: event.id }, wait);
    }
    this.metrics.consumed.inc({ topic, outcome: 'retried' });
    this.tracing.retried(error, attempt, retryInMs);
    log.warn({ eventId: event.id, type: event.type, reason, attempt, retryInMs, outage, offset }, 'run event retried');
    const waitReason = outage ? 'outage' : 'retry';
    this.waits.wait(payload, message.offset, { reason: waitReason, dueAt: now + retryInMs, since, state }, { eventId: event.id, runId: event.runId });
    return 'unsettled';
  }

  /** Writes the message's dead letter: 'dead_lettered', or 'unsettled' when the broker refuses it (its partition then waits for the write). */
  private async deadLetter(
    log: Logger,
    payload: EachBatchPayload,
    message: KafkaMessage,
    { kind, error, attempts, eventId }: { kind: DeadLetterKind; error: string; attempts: number; eventId?: string },
    wait?: EventWait,
  ): Promise<'dead_lettered' | 'unsettled'> {
    const { topic, partition } = payload.batch;
    const letter: DeadLetter = { topic, partition, message, kind, error, attempts };
    try {
      await this.deadLetters.write(letter);
    } catch (refusal) {
      return this.waitForDeadLetter(letter, eventId, refusal, payload, wait, log);
    }
    this.recordDeadLetter(log, letter, eventId);
    if (wait !== undefined) this.waits.done(topic, partition, message.offset);
    return 'dead_lettered';
  }

  private recordDeadLetter(log: Logger, { topic, message, kind, error, attempts }: DeadLetter, eventId?: string): void {
    this.metrics.consumed.inc({ topic, outcome: 'dead_lettered' });
    this.metrics.deadLetters.inc({ topic, reason: kind });
    this.tracing.deadLettered(kind, error, attempts);
    log.warn({ eventId, reason: kind, error, attempts, offset: Number(message.offset) }, 'run event dead-lettered');
  }

  /**
   * A refused dead letter: its event waits, its partition paused, while the
   * write is retried in the background with backoff; once written, the
   * partition resumes and the event comes back to be settled as
   * dead-lettered without being handled again. A second refusal on a
   * partition already waiting for a letter is counted and logged, and its
   * event comes back after the resume.
   */
  private waitForDeadLetter(
    letter: DeadLetter,
    eventId: string | undefined,
    refusal: unknown,
    payload: EachBatchPayload,
    wait: EventWait | undefined,
    log: Logger,
  ): 'unsettled' {
    const { topic, partition, message } = letter;
    const offset = Number(message.offset);
    const refusedWith = this.countRefusal(topic, refusal);
    const pending = [...(this.waits.find(topic, partition)?.waits.values() ?? [])].some((other) => other.state.deadLetter?.written === false);
    if (pending) {
      log.error({ err: refusal, error: refusedWith, eventId, offset }, 'dead-letter write refused, partition already paused');
      return 'unsettled';
    }
    const now = performance.now();
    const state: RetryState = wait?.state ?? { attempts: 1, budgetSpentMs: 0, outageSpentMs: 0, countedTo: now, firstAttemptAt: now, lastReason: letter.error };
    state.deadLetter = { written: false };
    log.error({ err: refusal, error: refusedWith, eventId, offset }, 'dead-letter write refused, partition paused');
    this.waits.wait(payload, message.offset, { reason: 'dead_letter_refused', dueAt: Infinity, since: wait?.since ?? now, state }, { eventId });
    let lastRefusal = refusedWith;
    void keepTrying(
      async () => {
        await this.deadLetters.write(letter);
        state.deadLetter = { written: true };
        this.recordDeadLetter(log, letter, eventId);
        log.info({ eventId, offset }, 'dead-letter write accepted');
        this.waits.wake(topic, partition, message.offset);
      },
      {
        ...DEAD_LETTER_RETRY,
        signal: this.stopping.signal,
        onFailure: (error, retryInMs) => {
          const type = this.countRefusal(topic, error);
          if (type !== lastRefusal) log.error({ err: error, error: type, eventId, offset, retryInMs }, 'dead-letter write still refused');
          lastRefusal = type;
        },
      },
    );
    return 'unsettled';
  }

  private handlingDurationOf(topic: string): Histogram.Internal<'topic'> {
    let histogram = this.handlingDurations.get(topic);
    if (histogram === undefined) this.handlingDurations.set(topic, (histogram = this.metrics.handlingDuration.labels({ topic })));
    return histogram;
  }

  private countRefusal(topic: string, error: unknown): string {
    const type = brokerErrorType(error) ?? (error instanceof Error ? error.name : 'Error');
    this.metrics.deadLetterRefusals.inc({ topic, error: type });
    return type;
  }
}
