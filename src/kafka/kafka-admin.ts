import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Admin, ConfigResourceTypes, ITopicConfig, Kafka } from 'kafkajs';
import { Logger } from 'pino';
import { AppLogger } from '../runtime/logger';
import { ADMIN_RETRIES, kafkaClientOptions } from './kafka-client';
import { KafkaConfig } from './kafka.config';
import { OwnedTopic, TopicRegistry } from './topics';

/**
 * Room a dead-letter topic keeps above its source topic's max.message.bytes,
 * for the dlq.* headers (the error message is cut at 1,000 characters).
 */
export const DEAD_LETTER_HEADROOM_BYTES = 64 * 1024;

/** retention.ms as a number to compare; -1 (keep forever) is the longest. */
const retention = (ms: number) => (ms < 0 ? Infinity : ms);

/** One long-lived admin client: creates the service's topics and answers the health check's broker ping. */
@Injectable()
export class KafkaAdmin implements OnModuleDestroy {
  private readonly log: Logger;
  private admin?: Admin;
  private existingChecked = false;

  constructor(
    private readonly config: KafkaConfig,
    private readonly topics: TopicRegistry,
    logger: AppLogger,
  ) {
    this.log = logger.child('KafkaAdmin');
  }

  /**
   * Creates the owned topics that are missing, waiting for their leaders, each
   * dead-letter topic with a max.message.bytes above its source's, so that a
   * letter with its headers fits. Existing
   * topics weaker than configured get one warning and are never altered.
   */
  async ensureTopics(): Promise<void> {
    const admin = await this.connected();
    const existing = new Set(await admin.listTopics());
    const owned = this.topics.ownedTopics();
    if (!this.existingChecked) {
      await this.warnAboutWeakerTopics(admin, owned.filter(({ name }) => existing.has(name)));
      this.existingChecked = true;
    }
    const missing = owned.filter(({ name }) => !existing.has(name));
    if (missing.length === 0) return;
    const sourceBytes = await this.maxMessageBytes(
      admin,
      missing.flatMap(({ deadLetterOf }) => (deadLetterOf ? [deadLetterOf] : [])),
      existing,
    );
    await this.create(
      admin,
      missing.map(({ name, deadLetterOf }) => ({
        topic: name,
        configEntries: deadLetterOf
          ? [
              { name: 'max.message.bytes', value: String(sourceBytes.get(deadLetterOf)! + DEAD_LETTER_HEADROOM_BYTES) },
              ...(this.config.deadLetterRetentionMs === undefined
                ? []
                : [{ name: 'retention.ms', value: String(this.config.deadLetterRetentionMs) }]),
            ]
          : [],
      })),
    );
    this.log.info(
      {
        topics: missing.map(({ name }) => name),
        partitions: this.config.topicPartitions,
        replicationFactor: this.config.topicReplicationFactor ?? 'broker default',
        minInsyncReplicas: this.config.topicMinInsyncReplicas ?? 'broker default',
      },
      'created missing topics',
    );
  }

  /** Resolves when a broker answers a metadata request. */
  async ping(): Promise<void> {
    const { brokers } = await (await this.connected()).describeCluster();
    if (brokers.length === 0) throw new Error('cluster has no brokers');
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin?.disconnect();
  }

  /** Creates topics with the configured partitions, replication factor and min.insync.replicas. */
  private async create(admin: Admin, topics: ITopicConfig[]): Promise<void> {
    if (topics.length === 0) return;
    const { topicReplicationFactor, topicMinInsyncReplicas } = this.config;
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({
        ...topic,
        numPartitions: this.config.topicPartitions,
        // -1: the broker's default.replication.factor.
        replicationFactor: topicReplicationFactor ?? -1,
        configEntries: [
          ...(topic.configEntries ?? []),
          ...(topicMinInsyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(topicMinInsyncReplicas) }]),
        ],
      })),
    });
  }

  /** One warning per existing topic with a lower replication factor, min.insync.replicas or retention than configured. */
  private async warnAboutWeakerTopics(admin: Admin, topics: OwnedTopic[]): Promise<void> {
    const { topicReplicationFactor, topicMinInsyncReplicas, deadLetterRetentionMs } = this.config;
    if (topics.length === 0) return;
    if (topicReplicationFactor === undefined && topicMinInsyncReplicas === undefined && deadLetterRetentionMs === undefined) return;
    const names = topics.map(({ name }) => name);
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: names });
    const minInsync = await this.configValues(admin, names, 'min.insync.replicas');
    const retentionMs = await this.configValues(admin, names, 'retention.ms');
    for (const { name, deadLetterOf } of topics) {
      const replicas = Math.min(...metadata.find((topic) => topic.name === name)!.partitions.map((p) => p.replicas.length));
      const weaker: Record<string, { actual: number; configured: number }> = {};
      if (topicReplicationFactor !== undefined && replicas < topicReplicationFactor) {
        weaker.replicationFactor = { actual: replicas, configured: topicReplicationFactor };
      }
      if (topicMinInsyncReplicas !== undefined && minInsync.get(name)! < topicMinInsyncReplicas) {
        weaker.minInsyncReplicas = { actual: minInsync.get(name)!, configured: topicMinInsyncReplicas };
      }
      if (deadLetterOf && deadLetterRetentionMs !== undefined && retention(retentionMs.get(name)!) < retention(deadLetterRetentionMs)) {
        weaker.retentionMs = { actual: retentionMs.get(name)!, configured: deadLetterRetentionMs };
      }
      if (Object.keys(weaker).length > 0) {
        this.log.warn({ topic: name, weaker }, 'existing topic is weaker than configured; it is not altered');
      }
    }
  }

  /**
   * The max.message.bytes of each source topic: its own when it exists, else
   * the broker's message.max.bytes, which a topic created without it gets.
   */
  private async maxMessageBytes(admin: Admin, sources: string[], existing: Set<string>): Promise<Map<string, number>> {
    const sizes = await this.configValues(admin, sources.filter((topic) => existing.has(topic)), 'max.message.bytes');
    const created = sources.filter((topic) => !existing.has(topic));
    if (created.length > 0) {
      const { brokers } = await admin.describeCluster();
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: String(brokers[0].nodeId), configNames: ['message.max.bytes'] }],
      });
      const brokerDefault = Number(resources[0].configEntries.find((entry) => entry.configName === 'message.max.bytes')!.configValue);
      for (const topic of created) sizes.set(topic, brokerDefault);
    }
    return sizes;
  }

  /** One numeric topic config (its effective value, broker default included) for each topic. */
  private async configValues(admin: Admin, topics: string[], configName: string): Promise<Map<string, number>> {
    if (topics.length === 0) return new Map();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [configName] })),
    });
    return new Map(
      resources.map(({ resourceName, configEntries }) => [
        resourceName,
        Number(configEntries.find((entry) => entry.configName === configName)!.configValue),
      ]),
    );
  }

  private async connected(): Promise<Admin> {
    // No retries of its own: the health check must answer within its timeout, and
    // ensureTopics is retried by the caller's reconnect loop.
    this.admin ??= new Kafka({ ...kafkaClientOptions(this.config, this.log, '-admin'), retry: { retries: ADMIN_RETRIES } }).admin();
    await this.admin.connect();
    return this.admin;
  }
}
