import { Injectable } from '@nestjs/common';
import { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { Logger } from 'pino';
import { decodeRunEvent, RunEvent } from '../run-events/run-event.schema';
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
    let lastResolved = Number(batch.firstOffset() ?? 0) - 1;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const settled = await this.processMessage(batch.topic, batch.partition, message, payload, dispatch);
      if (!settled) break;
      resolveOffset(message.offset);
      lastResolved = Number(message.offset);
      await heartbeat();
    }
    const lag = Math.max(0, Number(batch.highWatermark) - lastResolved - 1);
    this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, lag);
  }

  /** Resolves true once the message was handled, skipped as a duplicate or dead-lettered. */
  private async processMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    payload: EachBatchPayload,
    dispatch: EventDispatch,
  ): Promise<boolean> {
    const where = { topic, partition, offset: Number(message.offset) };
    const decoded = decodeRunEvent(message.value, this.config.maxEventBytes);
    if (!decoded.ok) {
      const { kind, message: reason, eventId } = decoded.failure;
      await this.deadLetter(where, message, kind, reason, 1, eventId);
      return true;
    }
    const event = decoded.event;
    if (this.seen.has(event.id)) {
      this.metrics.consumed.inc({ topic, outcome: 'duplicate' });
      this.log.info({ eventId: event.id, type: event.type, runId: event.runId, ...where }, 'duplicate run event skipped');
      return true;
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
          await this.deadLetter(where, message, kind, reason, attempt, event.id);
          this.seen.add(event.id);
          return true;
        }
        const retryInMs = backoffMs(attempt, this.config.retryInitialBackoffMs, this.config.retryMaxBackoffMs);
        this.metrics.consumed.inc({ topic, outcome: 'retried' });
        this.log.warn({ eventId: event.id, type: event.type, reason, attempt, retryInMs, ...where }, 'run event retried');
        if (!(await this.waitWithHeartbeats(retryInMs, payload))) return false;
      }
    }
    this.metrics.handlingDuration.observe({ topic }, (performance.now() - started) / 1000);
    this.seen.add(event.id);
    this.metrics.consumed.inc({ topic, outcome: 'handled' });
    this.metrics.runEventsHandled.inc({ type: event.type });
    this.log.info({ eventId: event.id, type: event.type, runId: event.runId, ...where }, 'run event handled');
    return true;
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
    where: { topic: string; partition: number; offset: number },
    message: KafkaMessage,
    kind: DeadLetterKind,
    error: string,
    attempts: number,
    eventId?: string,
  ): Promise<void> {
    await this.deadLetters.write({ topic: where.topic, partition: where.partition, message, kind, error, attempts });
    this.metrics.consumed.inc({ topic: where.topic, outcome: 'dead_lettered' });
    this.metrics.deadLetters.inc({ topic: where.topic, reason: kind });
    this.log.warn({ eventId, reason: kind, error, attempts, ...where }, 'run event dead-lettered');
  }
}
