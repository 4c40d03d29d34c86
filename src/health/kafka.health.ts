import { Injectable } from '@nestjs/common';
import { KafkaAdmin } from '../kafka/kafka-admin';
import { KafkaStatus } from '../kafka/kafka-status';
import { KafkaConfig } from '../kafka/kafka.config';
import { DependencyCheck } from './dependency-check';

/**
 * Kafka is up when a broker answers (one long-lived admin client, not a new
 * client per probe), the producer is connected and the consumer is in its group.
 */
@Injectable()
export class KafkaHealthIndicator {
  constructor(
    private readonly config: KafkaConfig,
    private readonly status: KafkaStatus,
    private readonly admin: KafkaAdmin,
    private readonly check: DependencyCheck,
  ) {}

  isHealthy() {
    return this.check.run('kafka', async () => {
      if (!this.config.brokers) throw new Error('not configured');
      if (this.status.consumerFailure) throw new Error(`consumer crashed: ${this.status.consumerFailure}`);
      try {
        await this.admin.ping();
      } catch (error) {
        throw new Error(`broker unreachable: ${(error as Error).message}`);
      }
      if (!this.status.producerConnected) throw new Error('producer not connected');
      if (!this.status.consumerInGroup) throw new Error('consumer not in its group');
    });
  }
}
