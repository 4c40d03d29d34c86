import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Kafka, Partitioners, Producer, TopicMessages } from 'kafkajs';
import { Logger } from 'pino';
import { AppLogger } from '../runtime/logger';
import { kafkaClientOptions, RETRY_INITIAL_MS, RETRY_MAX_MS } from './kafka-client';
import { KafkaMetrics } from './kafka-metrics';
import { KafkaStatus } from './kafka-status';
import { KafkaConfig } from './kafka.config';
import { keepTrying, sleep } from './keep-trying';

export class KafkaUnavailableError extends Error {
  override readonly name = 'KafkaUnavailableError';
}

/** One kafkajs producer instance and its connection in the background. */
interface ProducerInstance {
  producer: Producer;
  /** True once connected, false when the connect was abandoned on shutdown. */
  connected: Promise<boolean>;
  /** Set once connect() resolved, producer id included. */
  ready: boolean;
  /** A replacement after a failed send: sends wait for its connection instead of failing at once. */
  replacement: boolean;
}

/**
 * The service's one producer, for events and dead letters. It connects in
 * the background (the service starts without a broker), counts every message
 * per topic, and on shutdown finishes the sends under way before it
 * disconnects. Send errors always reach the caller.
 *
 * Idempotence without silent drops: when a send fails, kafkajs rolls the
 * partition's sequence number back but keeps its producer id, so the next
 * batch can be taken by the broker for a duplicate of one it already wrote,
 * and acknowledged without being written. Therefore sends run one at a time,
 * and after a failed send the kafkajs producer is thrown away and a new one
 * (a new producer id, sequences from zero) is connected before the next send
 * goes out. Sends queued meanwhile wait for it, bounded by the request timeout.
 */
@Injectable()
export class KafkaProducer implements OnModuleInit, OnModuleDestroy {
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private kafka?: Kafka;
  private current?: ProducerInstance;
  /** The tail of the send queue: each send starts after the previous one settled. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: KafkaConfig,
    private readonly metrics: KafkaMetrics,
    private readonly status: KafkaStatus,
    logger: AppLogger,
  ) {
    this.log = logger.child('KafkaProducer');
  }

  onModuleInit(): void {
    if (!this.config.brokers) return;
    this.kafka = new Kafka(kafkaClientOptions(this.config, this.log));
    this.current = this.connectNew(false);
  }

  /** Sends and waits for the acknowledgement of all in-sync replicas. A failure is counted, logged and rethrown. */
  async send(topicMessages: TopicMessages[]): Promise<void> {
    const sending = this.queue.then(() => this.sendNow(topicMessages));
    this.queue = sending.catch(() => undefined);
    const started = performance.now();
    try {
      await sending;
    } catch (error) {
      const topics = topicMessages.map(({ topic, messages }) => {
        this.metrics.produceFailures.inc({ topic }, messages.length);
        return topic;
      });
      this.log.warn({ err: error, topics }, 'publish failed');
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    for (const { topic, messages } of topicMessages) {
      this.metrics.produced.inc({ topic }, messages.length);
      this.metrics.produceDuration.observe({ topic }, seconds);
    }
  }

  private async sendNow(topicMessages: TopicMessages[]): Promise<void> {
    const instance = this.current;
    if (!instance) throw new KafkaUnavailableError('Kafka is not configured (KAFKA_BOOTSTRAP_SERVERS is unset)');
    if (!(await this.isConnected(instance))) {
      if (this.stopping.signal.aborted) {
        throw new KafkaUnavailableError('the service is shutting down and the producer is not connected to Kafka: nothing was sent');
      }
      throw new KafkaUnavailableError(
        instance.replacement
          ? `the producer is reconnecting after a failed send and was not connected within ${this.config.requestTimeoutMs} ms`
          : 'the producer is not connected to Kafka yet',
      );
    }
    try {
      await instance.producer.sendBatch({ topicMessages, acks: -1 });
    } catch (error) {
      this.replace(instance, error);
      throw error;
    }
  }

  /**
   * Whether the instance is connected and has its producer id (kafkajs
   * reports CONNECT before it asked for one). A replacement is waited for, up
   * to the request timeout or shutdown; the first producer is not.
   */
  private async isConnected(instance: ProducerInstance): Promise<boolean> {
    if (!instance.ready && instance.replacement) {
      const waited = new AbortController();
      const stop = () => waited.abort();
      this.stopping.signal.addEventListener('abort', stop, { once: true });
      try {
        await Promise.race([instance.connected, sleep(this.config.requestTimeoutMs, waited.signal)]);
      } finally {
        waited.abort();
        this.stopping.signal.removeEventListener('abort', stop);
      }
    }
    return instance.ready && this.status.producerConnected;
  }

  /** Throws away a producer whose send failed: its rolled-back sequence numbers must never be used again. */
  private replace(failed: ProducerInstance, error: unknown): void {
    failed.ready = false; // no later send goes out on it, even during shutdown when no replacement comes
    if (this.current !== failed || this.stopping.signal.aborted) return;
    this.current = this.connectNew(true);
    this.status.setProducerConnected(false);
    this.metrics.producerReplacements.inc();
    this.log.warn({ err: error }, 'producer replaced after a failed send');
    failed.producer.disconnect().catch((disconnectError: unknown) => {
      this.log.warn({ err: disconnectError }, 'the replaced producer did not disconnect cleanly');
    });
  }

  private connectNew(replacement: boolean): ProducerInstance {
    const producer = this.kafka!.producer({
      // The Java client's murmur2 partitioner: the same key lands on the same partition from any client.
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Bounded, so a send during an outage fails back to the caller instead of waiting forever.
      retry: { retries: this.config.producerRetries, initialRetryTime: RETRY_INITIAL_MS, maxRetryTime: RETRY_MAX_MS },
    });
    const isCurrent = () => this.current?.producer === producer;
    producer.on(producer.events.DISCONNECT, () => {
      if (isCurrent()) this.status.setProducerConnected(false);
    });
    const instance: ProducerInstance = { producer, connected: Promise.resolve(false), ready: false, replacement };
    instance.connected = keepTrying(() => producer.connect(), {
      signal: this.stopping.signal,
      onFailure: (error, retryInMs) => this.log.warn({ err: error, retryInMs }, 'producer cannot connect, retrying'),
      onAbandoned: () => producer.disconnect(),
    });
    void instance.connected.then((connected) => {
      instance.ready = connected;
      // Connected once connect() resolved: kafkajs emits CONNECT before it has a producer id.
      if (connected && isCurrent()) this.status.setProducerConnected(true);
    });
    return instance;
  }

  /**
   * Abandons a pending connect, rejects the sends that wait for one, lets
   * the sends under way finish, then disconnects.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.queue;
    await this.current?.producer.disconnect();
  }
}
