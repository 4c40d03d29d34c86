import { Injectable } from '@nestjs/common';
import { KafkaMetrics } from './kafka-metrics';

/** What the Kafka clients last reported about themselves, for health and metrics. */
@Injectable()
export class KafkaStatus {
  producerConnected = false;
  consumerInGroup = false;
  /** Set when the consumer crashed and kafkajs will not restart it. */
  consumerFailure?: string;

  constructor(private readonly metrics: KafkaMetrics) {}

  setProducerConnected(connected: boolean): void {
    this.producerConnected = connected;
    this.metrics.producerConnected.set(connected ? 1 : 0);
  }

  setConsumerInGroup(inGroup: boolean): void {
    this.consumerInGroup = inGroup;
    this.metrics.consumerInGroup.set(inGroup ? 1 : 0);
  }
}
