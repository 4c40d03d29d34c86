import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Admin, Kafka } from 'kafkajs';
import { Logger } from 'pino';
import { AppLogger } from '../runtime/logger';
import { kafkaClientOptions } from './kafka-client';
import { KafkaConfig } from './kafka.config';
import { TopicRegistry } from './topics';

/** One long-lived admin client: creates the service's topics and answers the health check's broker ping. */
@Injectable()
export class KafkaAdmin implements OnModuleDestroy {
  private readonly log: Logger;
  private admin?: Admin;

  constructor(
    private readonly config: KafkaConfig,
    private readonly topics: TopicRegistry,
    logger: AppLogger,
  ) {
    this.log = logger.child('KafkaAdmin');
  }

  /** Creates the owned topics that are missing, waiting for their leaders. */
  async ensureTopics(): Promise<void> {
    const admin = await this.connected();
    const existing = new Set(await admin.listTopics());
    const missing = this.topics.ownedTopics().filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: this.config.topicPartitions })),
    });
    this.log.info({ topics: missing, partitions: this.config.topicPartitions }, 'created missing topics');
  }

  /** Resolves when a broker answers a metadata request. */
  async ping(): Promise<void> {
    const { brokers } = await (await this.connected()).describeCluster();
    if (brokers.length === 0) throw new Error('cluster has no brokers');
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin?.disconnect();
  }

  private async connected(): Promise<Admin> {
    // No retries of its own: the health check must answer within its timeout, and
    // ensureTopics is retried by the caller's reconnect loop.
    this.admin ??= new Kafka({ ...kafkaClientOptions(this.config, this.log, '-admin'), retry: { retries: 0 } }).admin();
    await this.admin.connect();
    return this.admin;
  }
}
