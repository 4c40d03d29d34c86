import { setImmediate as nextTurn } from 'node:timers/promises';
import type { KafkaMessage } from 'kafkajs';
import { InFlightLimit } from './in-flight-limit';
import { SettledPrefix } from './settled-prefix';

/** What became of one message: 'settled' (handled, skipped, dead-lettered) or 'unsettled' (it must come back). */
export type Settlement = 'settled' | 'unsettled';

/** The fields of a kafkajs message the runner reads; KafkaMessage fits. */
export interface KeyedMessage {
  readonly offset: string;
  readonly key?: Buffer | null;
}

/** The part of kafkajs' EachBatchPayload the runner uses; an EachBatchPayload is passed as is. */
export interface BatchInput<M extends KeyedMessage> {
  batch: { topic: string; partition: number; messages: M[] };
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export interface BatchOutcome {
  /** Messages whose settle() answered 'settled'. */
  settled: number;
  /** Messages whose settle() answered 'unsettled' (or threw): each stopped its key. */
  unsettled: number;
  /** Messages never started: behind an unsettled one of their key, or the consumer stopped, or the batch went stale. */
  notStarted: number;
  /** The offset handed to resolveOffset last (the end of the settled prefix); undefined when nothing was settled from the start. */
  resolvedOffset?: string;
}

export interface KeyedBatchRunnerOptions<M extends KeyedMessage> {
  /** The ordering key of a message; null keys share one lane per partition. Default: the Kafka key's bytes. */
  keyOf?: (message: M) => string | null;
  /** Longest time between two heartbeat() calls made between messages. Default 1000 ms. */
  heartbeatEveryMs?: number;
  /** The settled prefix is handed to resolveOffset each time it grew by this many messages, and at the end. Default 64. */
  resolveEvery?: number;
  /** Awaited before each resolveOffset (e.g. until the log lines of the settled messages are written). */
  beforeResolve?: () => Promise<void>;
  /** Told, once the batch is over, the offsets settled above its resolved prefix: they come back, and need not be handled again. */
  settledAbove?: (topic: string, partition: number, offsets: string[]) => void;
}

/** Longest run of already-resolved promises before the runner lets timers and I/O through. */
const YIELD_AFTER_MS = 10;
/** Longest time a batch goes on starting messages after a seek made it stale. */
const STALE_CHECK_EVERY_MS = 1;

/**
 * The Kafka key's bytes as a string (latin1 maps byte to character one to
 * one, so distinct keys stay distinct). A message without a key gets null:
 * all of a partition's keyless messages form one lane, in offset order. The
 * producer gave them no key to order by, only the partition's order, and one
 * lane keeps exactly that order (what a partition consumed one message at a
 * time gave them) while they still run beside the keyed lanes.
 */
export function kafkaKey(message: KeyedMessage): string | null {
  return message.key == null ? null : message.key.toString('latin1');
}

/** The messages of one key in a batch, in offset order, and where that lane stands. */
interface Lane {
  readonly indices: number[];
  /** Position in `indices` of the next message to start. */
  next: number;
  /** performance.now() when the running message started; 0 when none runs. */
  runningSince: number;
}

class RunningBatch {
  waiting: number;
  settled = 0;
  unsettled = 0;
  failure: { error: unknown } | undefined;
  lastHeartbeat = performance.now();
  /** The last answer of kafkajs' isStale(), and when it was asked (performance.now(); 0: never). */
  stale = false;
  staleCheckedAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly lanes: Lane[],
    messageCount: number,
  ) {
    this.waiting = messageCount;
  }
}

/**
 * Runs one kafkajs batch (one partition) inside eachBatch: messages of
 * different keys concurrently, messages of one key one after another in
 * offset order, and never more handlers at once in the process than the
 * shared InFlightLimit allows. It returns only when every message it started
 * has settled, so kafkajs, which waits for eachBatch before a rebalance,
 * never hands a partition over while one of its handlers still runs.
 *
 * Offsets: only the settled prefix of the batch is resolved. A message that
 * comes back 'unsettled' stops the rest of its key in this batch, and
 * nothing at or above its offset is resolved; other keys go on to the end of
 * the batch. Their messages above it are delivered again with it: the
 * `settledAbove` option is told their offsets, so the caller passes them over.
 *
 * It does not heartbeat during a settle() (the caller does, e.g. during a
 * retry's backoff); it heartbeats between messages at most every
 * `heartbeatEveryMs`, and never keeps the event loop for more than about
 * YIELD_AFTER_MS when settle() answers without waiting.
 */
export class KeyedBatchRunner<M extends KeyedMessage = KafkaMessage> {
  private readonly active = new Set<RunningBatch>();
  private readonly keyOf: (message: M) => string | null;
  private readonly heartbeatEveryMs: number;
  private readonly resolveEvery: number;
  private readonly beforeResolve?: () => Promise<void>;
  private readonly settledAbove?: (topic: string, partition: number, offsets: string[]) => void;
  private lastTurn = performance.now();

  constructor(
    private readonly limit: InFlightLimit,
    options: KeyedBatchRunnerOptions<M> = {},
  ) {
    this.keyOf = options.keyOf ?? kafkaKey;
    this.heartbeatEveryMs = options.heartbeatEveryMs ?? 1000;
    this.resolveEvery = options.resolveEvery ?? 64;
    this.beforeResolve = options.beforeResolve;
    this.settledAbove = options.settledAbove;
  }

  /** Handlers running now, over every batch of the process. */
  get inFlight(): number {
    return this.limit.inFlight;
  }

  /** Messages of the running batches not started yet, per partition (for a gauge read at scrape time). */
  waitingByPartition(): Array<{ topic: string; partition: number; waiting: number }> {
    return [...this.active].map(({ topic, partition, waiting }) => ({ topic, partition, waiting }));
  }

  /**
   * How long, in milliseconds, the longest-held message has waited behind a
   * still-running message of its key (counted from when that one started,
   * so ordinary queueing for a handler slot is not counted); 0 when none.
   * A large value means a key is retrying while its later events wait.
   */
  oldestBlockedMs(now = performance.now()): number {
    let oldest = 0;
    for (const batch of this.active) {
      for (const lane of batch.lanes) {
        if (lane.runningSince > 0 && lane.next < lane.indices.length) oldest = Math.max(oldest, now - lane.runningSince);
      }
    }
    return oldest;
  }

  async run(input: BatchInput<M>, settle: (message: M) => Promise<Settlement>): Promise<BatchOutcome> {
    const { topic, partition, messages } = input.batch;
    const prefix = new SettledPrefix(messages.map((message) => message.offset));
    const batch = new RunningBatch(topic, partition, this.lanesOf(messages), messages.length);
    // `claimed`: the prefix a resolve is under way for; `resolvedLength`: the prefix handed to kafkajs.
    let claimed = 0;
    let resolvedLength = 0;
    const resolve = async () => {
      const length = prefix.length;
      if (length <= claimed) return;
      claimed = length;
      const offset = prefix.lastOffset!;
      await this.beforeResolve?.();
      // Two resolves may overlap: a later one may finish first, and an offset never moves back.
      if (length <= resolvedLength) return;
      resolvedLength = length;
      input.resolveOffset(offset);
    };
    const mayStart = () => batch.failure === undefined && input.isRunning() && !this.isStale(input, batch);

    const runLane = async (lane: Lane): Promise<void> => {
      try {
        while (lane.next < lane.indices.length && mayStart()) {
          if (!this.limit.tryAcquire()) {
            await this.limit.acquire();
            if (!mayStart()) {
              this.limit.release();
              return;
            }
          }
          const index = lane.indices[lane.next]!;
          lane.next += 1;
          batch.waiting -= 1;
          lane.runningSince = performance.now();
          let outcome: Settlement;
          try {
            outcome = await settle(messages[index]!);
          } catch (error) {
            // settle() should not throw; if it does, the message is unsettled and the batch stops (rethrown below).
            batch.failure ??= { error };
            outcome = 'unsettled';
          } finally {
            lane.runningSince = 0;
            this.limit.release();
          }
          if (outcome !== 'settled') {
            batch.unsettled += 1;
            return;
          }
          batch.settled += 1;
          if (prefix.settle(index) && prefix.length - claimed >= this.resolveEvery) await resolve();
          if (this.mustBreathe(batch)) await this.breathe(input, batch);
        }
      } catch (error) {
        // A heartbeat that throws (a rebalance under way) stops the batch; kafkajs gets the error once the running messages settle.
        batch.failure ??= { error };
      } finally {
        batch.waiting -= lane.indices.length - lane.next;
        lane.next = lane.indices.length;
      }
    };

    this.active.add(batch);
    try {
      await Promise.all(batch.lanes.map(runLane));
    } finally {
      this.active.delete(batch);
      if (batch.settled > prefix.length) this.settledAbove?.(topic, partition, prefix.settledAbove());
      await resolve();
    }
    if (batch.failure) throw batch.failure.error;
    return {
      settled: batch.settled,
      unsettled: batch.unsettled,
      notStarted: messages.length - batch.settled - batch.unsettled,
      resolvedOffset: prefix.lastOffset,
    };
  }

  /** One lane per key, each holding its messages' positions in offset order. */
  private lanesOf(messages: readonly M[]): Lane[] {
    const byKey = new Map<string | null, Lane>();
    messages.forEach((message, index) => {
      const key = this.keyOf(message);
      let lane = byKey.get(key);
      if (!lane) byKey.set(key, (lane = { indices: [], next: 0, runningSince: 0 }));
      lane.indices.push(index);
    });
    return [...byKey.values()];
  }

  /**
   * kafkajs' isStale() (a seek was asked for the partition) builds a string
   * at every call; a seek is asynchronous anyway, so it is asked at most once
   * every STALE_CHECK_EVERY_MS per batch rather than before every message.
   */
  private isStale(input: BatchInput<M>, batch: RunningBatch): boolean {
    if (batch.stale) return true;
    const now = performance.now();
    if (now - batch.staleCheckedAt < STALE_CHECK_EVERY_MS) return false;
    batch.staleCheckedAt = now;
    return (batch.stale = input.isStale());
  }

  /** True when a heartbeat or a turn of the event loop is due (checked without a promise per message). */
  private mustBreathe(batch: RunningBatch): boolean {
    const now = performance.now();
    return now - batch.lastHeartbeat >= this.heartbeatEveryMs || now - this.lastTurn >= YIELD_AFTER_MS;
  }

  /** Between two messages: a heartbeat when one is due, and a turn of the event loop when the runner has kept it too long. */
  private async breathe(input: BatchInput<M>, batch: RunningBatch): Promise<void> {
    const now = performance.now();
    if (now - batch.lastHeartbeat >= this.heartbeatEveryMs) {
      batch.lastHeartbeat = now;
      await input.heartbeat();
    }
    if (now - this.lastTurn >= YIELD_AFTER_MS) {
      this.lastTurn = now;
      await nextTurn();
    }
  }
}
