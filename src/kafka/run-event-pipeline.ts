import { Injectable } from '@nestjs/common';
import { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { Logger } from 'pino';
import { decodeRunEvent, RunEvent, RunEventType } from '../run-events/run-event.schema';
import { AppLogger } from '../runtime/logger';
import { DeadLetterKind, DeadLetterWriter } from './dead-letter-writer';
import { DedupeWindow } from './dedupe-window';
import { KafkaMetrics } from './kafka-metrics';
import { KafkaConfig } from './kafka.config';
import { sleep } from './keep-trying';
import { backoffMs, PermanentEventError } from './retry-policy';

/** Calls the application's handler for one event (the Nest @EventPattern handler). */
export type EventDispatch = (event: RunEvent, message: KafkaMessage, payload: EachBatchPayload) => Promise<void>;

/** Longest wait between two heartbeats while a retry backs off. */
const HEARTBEAT_STEP_MS = 1000;
/**
 * Settled offsets are handed to kafkajs every this many messages (and at the
 * end): kafkajs commits only after the batch, so this changes no guarantee,
 * and it saves a resolveOffset and an isStale call per message.
 */
const RESOLVE_EVERY = 64;

/**
 * What happens to each consumed message, one batch at a time: decode and
 * validate, skip duplicates, dispatch with retries, dead-letter what cannot
 * be handled, and only then resolve its offset (kafkajs commits resolved
 * offsets after the batch). A message whose fate is not settled (shutdown
 * during a retry, dead letter not written) is not resolved and comes back.
 */
@Injectable()
export class RunEventPipeline {
  private readonly log: Logger;
  private readonly seen: DedupeWindow;

  constructor(
    private readonly config: KafkaConfig,
    private readonly metrics: KafkaMetrics,
    private readonly deadLetters: DeadLetterWriter,
    logger: AppLogger,
  ) {
    this.log = logger.child('RunEventPipeline');
    this.seen = new DedupeWindow(config.dedupeWindowSize);
  }

  async processBatch(payload: EachBatchPayload, dispatch: EventDispatch): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    // Per-batch work where it can be: one child logger, counters added once.
    const log = this.log.child({ topic, partition });
    const tally = { handled: 0, duplicate: 0, byType: new Map<RunEventType, number>() };
    let settled: string | undefined;
    let sinceResolve = 0;
    let lastHeartbeat = Date.now();
    try {
      for (const message of batch.messages) {
        if (!isRunning() || (sinceResolve === 0 && isStale())) break;
        const outcome = await this.processMessage(topic, partition, message, payload, dispatch, log);
        if (outcome === 'unsettled') break;
        settled = message.offset;
        if (++sinceResolve === RESOLVE_EVERY) {
          resolveOffset(settled);
          sinceResolve = 0;
        }
        if (outcome === 'duplicate') tally.duplicate += 1;
        else if (outcome !== 'dead_lettered') {
          tally.handled += 1;
          tally.byType.set(outcome, (tally.byType.get(outcome) ?? 0) + 1);
        }
        if (Date.now() - lastHeartbeat >= HEARTBEAT_STEP_MS) {
          await heartbeat();
          lastHeartbeat = Date.now();
        }
      }
    } finally {
      if (settled !== undefined) resolveOffset(settled);
      if (tally.handled > 0) this.metrics.consumed.inc({ topic, outcome: 'handled' }, tally.handled);
      if (tally.duplicate > 0) this.metrics.consumed.inc({ topic, outcome: 'duplicate' }, tally.duplicate);
      for (const [type, count] of tally.byType) this.metrics.runEventsHandled.inc({ type }, count);
      const lastSettled = settled === undefined ? Number(batch.firstOffset() ?? 0) - 1 : Number(settled);
      const lag = Math.max(0, Number(batch.highWatermark) - lastSettled - 1);
      this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
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
    dispatch: EventDispatch,
    log: Logger,
  ): Promise<RunEventType | 'duplicate' | 'dead_lettered' | 'unsettled'> {
    const offset = Number(message.offset);
    const decoded = decodeRunEvent(message.value, this.config.maxEventBytes);
    if (!decoded.ok) {
      const { kind, message: reason, eventId } = decoded.failure;
      await this.deadLetter(log, topic, partition, message, kind, reason, 1, eventId);
      return 'dead_lettered';
    }
    const event = decoded.event;
    if (this.seen.has(event.id)) {
      log.info({ eventId: event.id, type: event.type, runId: event.runId, offset }, 'duplicate run event skipped');
      return 'duplicate';
    }

    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        await dispatch(event, message, payload);
        break;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const permanent = error instanceof PermanentEventError;
        if (permanent || attempt >= this.config.handlerMaxAttempts) {
          const kind = permanent ? 'handler_permanent_failure' : 'handler_failed';
          await this.deadLetter(log, topic, partition, message, kind, reason, attempt, event.id);
          return 'dead_lettered';
        }
        const retryInMs = backoffMs(attempt, this.config.retryInitialBackoffMs, this.config.retryMaxBackoffMs);
        this.metrics.consumed.inc({ topic, outcome: 'retried' });
        log.warn({ eventId: event.id, type: event.type, reason, attempt, retryInMs, offset }, 'run event retried');
        if (!(await this.waitWithHeartbeats(retryInMs, payload))) return 'unsettled';
      }
    }
    this.metrics.handlingDuration.observe({ topic }, (performance.now() - started) / 1000);
    this.seen.add(event.id);
    log.info({ eventId: event.id, type: event.type, runId: event.runId, offset }, 'run event handled');
    return event.type;
  }

  /** Backs off while heartbeating, so a slow retry keeps the group membership. False when the consumer stops. */
  private async waitWithHeartbeats(ms: number, { heartbeat, isRunning }: EachBatchPayload): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!isRunning()) return false;
      await sleep(Math.min(HEARTBEAT_STEP_MS, until - Date.now()));
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
    await this.deadLetters.write({ topic, partition, message, kind, error, attempts });
    this.metrics.consumed.inc({ topic, outcome: 'dead_lettered' });
    this.metrics.deadLetters.inc({ topic, reason: kind });
    log.warn({ eventId, reason: kind, error, attempts, offset: Number(message.offset) }, 'run event dead-lettered');
  }
}
