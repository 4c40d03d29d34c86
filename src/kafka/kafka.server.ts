import { Injectable } from '@nestjs/common';
import { ServerKafka } from '@nestjs/microservices';
import { Consumer, Partitioners } from 'kafkajs';
import { Logger } from 'pino';
import { isObservable, lastValueFrom } from 'rxjs';
import { Lifecycle } from '../runtime/lifecycle';
import { AppLogger } from '../runtime/logger';
import { KafkaBatchContext } from './kafka-batch-context';
import { KafkaAdmin } from './kafka-admin';
import { kafkaClientOptions } from './kafka-client';
import { KafkaMetrics } from './kafka-metrics';
import { KafkaStatus } from './kafka-status';
import { PartitionWaits } from './partition-waits';
import { KafkaConfig, REBALANCE_TIMEOUT_MS } from './kafka.config';
import { keepTrying } from './keep-trying';
import { TopicRegistry } from './topics';

/**
 * What one partition may bring in one fetch: kafkajs' default of 1 MiB (its
 * 10 MiB a fetch is replaced below by this times the partitions). kafkajs
 * holds one fetch response per broker until every batch of it is handled, so
 * fetched data held at once is at most this times the partitions a pod owns
 * (plus one record batch above it per partition, which the broker sends
 * whole): about 2,000 events of 500 bytes a partition. Fetches of 256 KiB
 * made four times the fetch rounds, and kafkajs sits idle for each round
 * trip; 1 MiB consumed 37% more a second, and a 100k backlog still peaks
 * within 75% of the pod's memory limit (docs/benchmarks.md).
 */
export const FETCH_MAX_BYTES_PER_PARTITION = 1024 * 1024;

/** Longest time the broker holds a fetch without new data (see the consumer options below). */
export const FETCH_MAX_WAIT_MS = 500;

/** A Nest-wrapped @EventPattern handler, as ServerKafka keeps it. */
type NestHandler = (data: unknown, context: KafkaBatchContext) => unknown;

/** A handler's result, done: an Observable (Nest's error path returns one) is run to its end, and its error thrown. */
const untilComplete = (result: unknown): Promise<void> | void => {
  if (isObservable(result)) return lastValueFrom(result, { defaultValue: undefined }).then(() => undefined);
};

/**
 * The Nest Kafka transport, for any payload, with what the stock ServerKafka lacks:
 * - it starts without a broker and connects in the background;
 * - `@EventPattern(slug)` subscribes to the topic `{prefix}.{slug}`;
 * - each batch goes whole to the topic's @EventPattern handler, one Nest
 *   dispatch per batch (the feature settles each message and resolves
 *   offsets), instead of eachMessage with a parser that swallows JSON errors
 *   and a dispatch per message;
 * - kafkajs events feed metrics, health and liveness.
 * docs/architecture.md lists the ServerKafka members it extends, and why.
 */
@Injectable()
export class KafkaServer extends ServerKafka {
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private connecting?: Promise<boolean>;

  constructor(
    private readonly config: KafkaConfig,
    private readonly topics: TopicRegistry,
    private readonly admin: KafkaAdmin,
    private readonly kafkaStatus: KafkaStatus,
    private readonly metrics: KafkaMetrics,
    private readonly lifecycle: Lifecycle,
    private readonly waits: PartitionWaits,
    logger: AppLogger,
  ) {
    // The log context keeps the name it had before the transport was split from the feature, for log queries.
    const log = logger.child('RunEventsServer');
    super({
      client: kafkaClientOptions(config, log),
      consumer: {
        groupId: config.consumerGroup,
        sessionTimeout: config.sessionTimeoutMs,
        rebalanceTimeout: REBALANCE_TIMEOUT_MS,
        heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
        allowAutoTopicCreation: false,
        maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
        // Room for every partition of the topic: with less, the broker fills the first partitions
        // of the request and the last ones wait (kafkajs does not rotate their order).
        maxBytes: FETCH_MAX_BYTES_PER_PARTITION * config.topicPartitions,
        // The Java client's fetch.max.wait.ms, not kafkajs' 5 s: a partition resumed after a wait
        // is fetched at the next fetch, and with every partition paused kafkajs sleeps this long.
        maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      },
      subscribe: { fromBeginning: true },
      // ServerKafka's own producer (replies, which this service never sends) gets the same
      // partitioner as KafkaProducer; without one, kafkajs warns at every start.
      producer: { createPartitioner: Partitioners.DefaultPartitioner },
      // The group id is used as configured, without Nest's "-server" suffix.
      postfixId: '',
    });
    this.log = log;
  }

  /** Returns at once so HTTP serves; the broker connection is made in the background, retried until it works. */
  override async listen(callback: (error?: unknown) => void): Promise<void> {
    callback();
    const { signal } = this.stopping;
    this.connecting = keepTrying(
      async () => {
        try {
          await this.admin.ensureTopics();
          signal.throwIfAborted();
          this.client = await this.createClient();
          await this.start(() => undefined);
        } catch (error) {
          await this.disconnectClients();
          throw error;
        }
      },
      {
        signal,
        onFailure: (error, retryInMs) => this.log.warn({ err: error, retryInMs }, 'consumer cannot connect, retrying'),
        // A connect abandoned on shutdown may still succeed later: close what it opened.
        onAbandoned: () => this.disconnectClients(),
      },
    );
  }

  /**
   * Stops fetching, lets the batch in flight finish (kafkajs waits for it),
   * commits, leaves the group. A connect still under way is abandoned, not
   * waited for: with the broker unreachable there is nothing to drain.
   */
  override async close(): Promise<void> {
    this.stopping.abort();
    await this.connecting;
    await super.close();
    this.kafkaStatus.setConsumerInGroup(false);
  }

  override async bindEvents(consumer: Consumer): Promise<void> {
    const handlers = new Map<string, NestHandler>();
    for (const [slug, handler] of this.messageHandlers) handlers.set(this.topics.resolve(String(slug)), handler);
    await consumer.subscribe({ topics: [...handlers.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      // Workers over batches already fetched: it sets how many partitions are handled at once, not how much is held.
      partitionsConsumedConcurrently: this.config.topicPartitions,
      eachBatch: (payload) => {
        const handler = handlers.get(payload.batch.topic)!;
        return Promise.resolve(handler(payload, new KafkaBatchContext([payload]))).then(untilComplete);
      },
    });
  }

  protected override registerConsumerEventListeners(): void {
    super.registerConsumerEventListeners();
    const consumer = this.consumer!;
    const { GROUP_JOIN, REBALANCING, STOP, DISCONNECT, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, ({ payload }) => {
      this.kafkaStatus.setConsumerInGroup(true);
      // Partitions may have moved: drop the lag of partitions this member no longer owns.
      this.metrics.consumerLag.reset();
      // kafkajs says nothing of revoked partitions: those paused here and now gone are resumed and forgotten.
      this.waits.keepOnly(payload.memberAssignment);
      this.log.info({ memberId: payload.memberId, assignment: payload.memberAssignment }, 'consumer joined its group');
    });
    consumer.on(REBALANCING, () => {
      this.metrics.rebalances.inc();
      this.log.info('consumer group rebalancing');
    });
    consumer.on(STOP, () => this.kafkaStatus.setConsumerInGroup(false));
    consumer.on(DISCONNECT, () => this.kafkaStatus.setConsumerInGroup(false));
    consumer.on(CRASH, ({ payload }) => {
      this.kafkaStatus.setConsumerInGroup(false);
      this.metrics.consumerCrashes.inc({ restart: String(payload.restart) });
      // A retriable protocol error (e.g. the group coordinator still loading on a new cluster) that
      // kafkajs restarts from is part of a normal start: info. Any other crash is an error.
      const recovering = payload.restart && (payload.error as { retriable?: boolean }).retriable === true && payload.error.name === 'KafkaJSProtocolError';
      this.log[recovering ? 'info' : 'error']({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      if (!payload.restart) {
        this.kafkaStatus.setConsumerFailed(payload.error.message);
        this.lifecycle.markBroken('kafka-consumer', `crashed and will not restart: ${payload.error.message}`);
      }
    });
  }

  private async disconnectClients(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect()]);
    this.consumer = null;
    this.producer = null;
    this.client = null;
  }
}
