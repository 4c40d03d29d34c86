import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Kafka, Partitioners, Producer, TopicMessages } from 'kafkajs';
import { Logger } from 'pino';
import { AppLogger } from '../runtime/logger';
import { kafkaClientOptions } from './kafka-client';
import { KafkaMetrics } from './kafka-metrics';
import { KafkaStatus } from './kafka-status';
import { KafkaConfig } from './kafka.config';
import { keepTrying } from './keep-trying';

export class KafkaUnavailableError extends Error {
  override readonly name = 'KafkaUnavailableError';
}

/**
 * The service's one kafkajs producer, for events and dead letters. It
 * connects in the background (the service starts without a broker), counts
 * every message per topic, and on shutdown waits for the sends in flight
 * before it disconnects. Send errors always reach the caller.
 */
@Injectable()
export class KafkaProducer implements OnModuleInit, OnModuleDestroy {
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private producer?: Producer;
  private connecting?: Promise<boolean>;

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
    const producer = new Kafka(kafkaClientOptions(this.config, this.log)).producer({
      // The Java client's murmur2 partitioner: the same key lands on the same partition from any client.
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Bounded, so a send during an outage fails back to the caller instead of waiting forever.
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    producer.on(producer.events.CONNECT, () => this.status.setProducerConnected(true));
    producer.on(producer.events.DISCONNECT, () => this.status.setProducerConnected(false));
    this.producer = producer;
    this.connecting = keepTrying(() => producer.connect(), {
      signal: this.stopping.signal,
      onFailure: (error, retryInMs) => this.log.warn({ err: error, retryInMs }, 'producer cannot connect, retrying'),
    });
  }

  /** Sends and waits for the acknowledgement of all in-sync replicas. A failure is counted, logged and rethrown. */
  async send(topicMessages: TopicMessages[]): Promise<void> {
    const started = performance.now();
    try {
      await this.sendNow(topicMessages);
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
    if (!this.producer) throw new KafkaUnavailableError('Kafka is not configured (KAFKA_BOOTSTRAP_SERVERS is unset)');
    if (!this.status.producerConnected) throw new KafkaUnavailableError('the producer is not connected to Kafka yet');
    const sending = this.producer.sendBatch({ topicMessages, acks: -1 });
    this.inFlight.add(sending);
    try {
      await sending;
    } finally {
      this.inFlight.delete(sending);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.connecting;
    await Promise.allSettled([...this.inFlight]);
    await this.producer?.disconnect();
  }
}
