import { Injectable } from '@nestjs/common';
import { KafkaMetrics } from './kafka-metrics';

/**
 * What the Kafka clients last reported about themselves, for health and
 * metrics. Read-only outside: only the producer and the server report, through
 * these methods, which keep the gauges in step.
 */
@Injectable()
export class KafkaStatus {
  private producerIsConnected = false;
  private consumerIsInGroup = false;
  private consumerFailureReason?: string;

  constructor(private readonly metrics: KafkaMetrics) {}

  get producerConnected(): boolean {
    return this.producerIsConnected;
  }

  get consumerInGroup(): boolean {
    return this.consumerIsInGroup;
  }

  /** Set when the consumer crashed and kafkajs will not restart it. */
  get consumerFailure(): string | undefined {
    return this.consumerFailureReason;
  }

  setProducerConnected(connected: boolean): void {
    this.producerIsConnected = connected;
    this.metrics.producerConnected.set(connected ? 1 : 0);
  }

  setConsumerInGroup(inGroup: boolean): void {
    this.consumerIsInGroup = inGroup;
    this.metrics.consumerInGroup.set(inGroup ? 1 : 0);
  }

  /** The consumer crashed and kafkajs will not restart it. */
  setConsumerFailed(reason: string): void {
    this.consumerFailureReason = reason;
  }
}
