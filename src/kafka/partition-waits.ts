import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppLogger } from '../runtime/logger';
import { KafkaMetrics } from './kafka-metrics';

/** Why a partition is paused: an event waits for its next attempt, for a dependency's outage to end, or for a refused dead letter to be written. */
export type PauseReason = 'retry' | 'outage' | 'dead_letter_refused';

/** The reasons from the least to the most pressing: a partition is counted under its most pressing one. */
const BY_PRESSURE: readonly PauseReason[] = ['retry', 'outage', 'dead_letter_refused'];

/** What the pause of a partition needs from kafkajs' EachBatchPayload. */
export interface PausablePayload {
  batch: { topic: string; partition: number };
  pause(): () => void;
}

/** One event that waits, its partition paused, until it is due. `T` is what its feature keeps of it (retry state). */
export interface Wait<T> {
  reason: PauseReason;
  /** performance.now() from which the event may be attempted again; Infinity: until woken. */
  dueAt: number;
  /** performance.now() when the event began to wait, for the oldest-waiting gauge. */
  readonly since: number;
  state: T;
}

/**
 * A partition's memory while it has waited: the events that wait, by
 * offset, and the offsets settled above the committed one (they come back
 * after the resume and are passed over).
 */
export class PartitionHold<T> {
  readonly waits = new Map<string, Wait<T>>();
  readonly settled = new Set<string>();
  /** kafkajs' resume for the partition, while this holds it paused. */
  resume?: () => void;
  timer?: NodeJS.Timeout;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The most pressing reason among the waiting events; undefined when none waits. */
  get reason(): PauseReason | undefined {
    let reason: PauseReason | undefined;
    for (const wait of this.waits.values()) {
      if (reason === undefined || BY_PRESSURE.indexOf(wait.reason) > BY_PRESSURE.indexOf(reason)) reason = wait.reason;
    }
    return reason;
  }

  /**
   * During an outage, the offset of the partition's oldest waiting event:
   * after a resume only it is attempted, and the events above it come back
   * once it succeeds. Undefined when no waiting event is in an outage.
   */
  probeOffset(): number | undefined {
    let oldest: number | undefined;
    let outage = false;
    for (const [offset, wait] of this.waits) {
      outage ||= wait.reason === 'outage';
      if (oldest === undefined || Number(offset) < oldest) oldest = Number(offset);
    }
    return outage ? oldest : undefined;
  }

  /** When the partition resumes: when its earliest waiting event is due, or during an outage when its oldest one is. */
  dueAt(): number {
    const probe = this.probeOffset();
    let dueAt = Infinity;
    for (const [offset, wait] of this.waits) if (probe === undefined || Number(offset) === probe) dueAt = Math.min(dueAt, wait.dueAt);
    return dueAt;
  }

  /** Forgets what lies below the first offset fetched: the group committed past it (this member or another before it). */
  forgetBelow(firstOffset: number): void {
    for (const offset of this.settled) if (Number(offset) < firstOffset) this.settled.delete(offset);
    for (const offset of this.waits.keys()) if (Number(offset) < firstOffset) this.waits.delete(offset);
  }
}

/**
 * Partitions paused while one of their events waits, one mechanism for
 * every reason: the event's batch returns without it (the other runs of the
 * batch go on to its end), kafkajs goes on fetching the other partitions,
 * and the partition resumes when its earliest waiting event is due. The
 * event then comes back from kafkajs (which fetches a partition from its
 * resolved offset) with its wait, and the events above it that were settled
 * are passed over by `settled`.
 *
 * kafkajs has no callback for a revoked partition, and a pause survives a
 * rebalance: `keepOnly()`, called with each new assignment, resumes and
 * forgets the partitions this member lost. A consumer restarted after a
 * crash has lost its pauses: an event that comes back before it is due is
 * paused again by its feature.
 */
@Injectable()
export class PartitionWaits<T = unknown> implements OnModuleDestroy {
  private readonly holds = new Map<string, Map<number, PartitionHold<T>>>();
  private readonly log: Logger;

  constructor(metrics: KafkaMetrics, logger: AppLogger) {
    this.log = logger.child('PartitionWaits');
    metrics.observePauses(this);
  }

  /** The partition's hold, if it has one (looked up once per batch). */
  find(topic: string, partition: number): PartitionHold<T> | undefined {
    return this.holds.get(topic)?.get(partition);
  }

  /**
   * Makes the event at `offset` wait and pauses its partition until the
   * earliest waiting event of it is due. Pausing again an already paused
   * partition is harmless: after a consumer restart it is how the pause comes back.
   */
  wait(payload: PausablePayload, offset: string, wait: Wait<T>, context: Record<string, unknown> = {}): void {
    const { topic, partition } = payload.batch;
    const hold = this.holdOf(topic, partition);
    hold.waits.set(offset, wait);
    const wasPaused = hold.resume !== undefined;
    hold.resume = payload.pause();
    if (!wasPaused) {
      this.log.warn({ topic, partition, offset: Number(offset), reason: wait.reason, resumeInMs: this.dueInMs(wait.dueAt), ...context }, 'partition paused');
    }
    this.arm(hold);
  }

  /** Makes a waiting event due now (its dead letter was written, its abandoned attempt settled): the partition resumes. */
  wake(topic: string, partition: number, offset: string): void {
    const hold = this.find(topic, partition);
    const wait = hold?.waits.get(offset);
    if (!hold || !wait) return;
    wait.dueAt = performance.now();
    this.arm(hold);
  }

  /** The waiting event at `offset` is settled: it waits no more. */
  done(topic: string, partition: number, offset: string): void {
    const hold = this.find(topic, partition);
    if (!hold?.waits.delete(offset)) return;
    if (hold.waits.size === 0) this.resume(hold);
    else this.arm(hold);
    this.dropIfEmpty(hold);
  }

  /** Offsets settled above the resolved prefix of a batch, passed over when they come back. */
  recordSettled(topic: string, partition: number, offsets: readonly string[]): void {
    const hold = this.holdOf(topic, partition);
    for (const offset of offsets) hold.settled.add(offset);
  }

  /** A batch fetched from `firstOffset`: what lies below it was committed. */
  fetchedFrom(hold: PartitionHold<T>, firstOffset: number): void {
    hold.forgetBelow(firstOffset);
    if (hold.waits.size === 0) this.resume(hold);
    this.dropIfEmpty(hold);
  }

  /** The member's new assignment (`{ topic: partitions }`): partitions no longer in it are resumed and forgotten. */
  keepOnly(assignment: Record<string, number[]>): void {
    for (const [topic, byPartition] of this.holds) {
      const kept = new Set(assignment[topic] ?? []);
      for (const hold of byPartition.values()) {
        if (kept.has(hold.partition)) continue;
        if (hold.waits.size > 0) this.log.info({ topic, partition: hold.partition, waiting: hold.waits.size }, 'partition revoked while paused, its waiting events left to the new owner');
        this.resume(hold, false);
        hold.waits.clear();
        hold.settled.clear();
        this.dropIfEmpty(hold);
      }
    }
  }

  /** Partitions with a waiting event, by topic and most pressing reason (for a gauge read at scrape time). */
  pausedByReason(): Array<{ topic: string; reason: PauseReason; count: number }> {
    const counts = new Map<string, { topic: string; reason: PauseReason; count: number }>();
    for (const hold of this.allHolds()) {
      const reason = hold.reason;
      if (reason === undefined) continue;
      const key = `${hold.topic}\n${reason}`;
      const entry = counts.get(key) ?? { topic: hold.topic, reason, count: 0 };
      entry.count += 1;
      counts.set(key, entry);
    }
    return [...counts.values()];
  }

  /** How long the oldest waiting event has waited, in milliseconds; 0 when none waits. */
  oldestWaitingMs(now = performance.now()): number {
    let oldest = 0;
    for (const hold of this.allHolds()) for (const wait of hold.waits.values()) oldest = Math.max(oldest, now - wait.since);
    return oldest;
  }

  /** On shutdown: no resume timer outlives the consumer (nothing is committed past a waiting event). */
  onModuleDestroy(): void {
    for (const hold of this.allHolds()) clearTimeout(hold.timer);
  }

  private holdOf(topic: string, partition: number): PartitionHold<T> {
    let byPartition = this.holds.get(topic);
    if (!byPartition) this.holds.set(topic, (byPartition = new Map()));
    let hold = byPartition.get(partition);
    if (!hold) byPartition.set(partition, (hold = new PartitionHold<T>(topic, partition)));
    return hold;
  }

  /** (Re)sets the partition's resume timer to its earliest waiting event. */
  private arm(hold: PartitionHold<T>): void {
    clearTimeout(hold.timer);
    hold.timer = undefined;
    if (hold.resume === undefined) return;
    const dueAt = hold.dueAt();
    if (dueAt === Infinity) return;
    // Unreferenced: a waiting event does not keep a stopping process alive.
    hold.timer = setTimeout(() => this.resume(hold), this.dueInMs(dueAt)).unref();
  }

  private resume(hold: PartitionHold<T>, log = true): void {
    clearTimeout(hold.timer);
    hold.timer = undefined;
    const resume = hold.resume;
    if (resume === undefined) return;
    hold.resume = undefined;
    resume();
    if (log) this.log.info({ topic: hold.topic, partition: hold.partition, waiting: hold.waits.size }, 'partition resumed');
  }

  private dropIfEmpty(hold: PartitionHold<T>): void {
    if (hold.waits.size > 0 || hold.settled.size > 0 || hold.resume !== undefined) return;
    const byPartition = this.holds.get(hold.topic);
    byPartition?.delete(hold.partition);
    if (byPartition?.size === 0) this.holds.delete(hold.topic);
  }

  private dueInMs(dueAt: number): number {
    return dueAt === Infinity ? -1 : Math.max(0, Math.ceil(dueAt - performance.now()));
  }

  private *allHolds(): Iterable<PartitionHold<T>> {
    for (const byPartition of this.holds.values()) yield* byPartition.values();
  }
}
