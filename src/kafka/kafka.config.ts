import { z } from 'zod';
import { booleanVar, enumVar, integerVar, optionalIntegerVar, optionalText, textVar } from '../runtime/env-schema';
import { configOf, EnvProblem, settingsSlice } from '../runtime/settings';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** kafkajs' rebalance timeout, set explicitly on the consumer: how long a rebalance waits for this member to rejoin. */
export const REBALANCE_TIMEOUT_MS = 60000;

/** Kafka settings: the Kafka module's slice of the settings (kafkaSettings below). */
export class KafkaConfig {
  /** Undefined when KAFKA_BOOTSTRAP_SERVERS is unset: Kafka is then reported down. */
  readonly brokers?: readonly string[];
  readonly clientId!: string;
  readonly topicPrefix!: string;
  readonly consumerGroup!: string;
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  readonly ssl!: boolean;
  readonly topicPartitions!: number;
  /** Replication factor and min.insync.replicas of the topics the service creates; undefined: the broker's default. */
  readonly topicReplicationFactor?: number;
  readonly topicMinInsyncReplicas?: number;
  /** retention.ms of the dead-letter topics the service creates; undefined: the broker's default. */
  readonly deadLetterRetentionMs?: number;
  readonly sessionTimeoutMs!: number;
  /** kafkajs' requestTimeout for every client; also how long a send waits for a replaced producer to connect. */
  readonly requestTimeoutMs!: number;
  /** Retries of one send before it fails back to the caller (kafkajs' idempotent producer needs at least 1). */
  readonly producerRetries!: number;
  /** Handlers running at once in the process, over every partition (events of one run never overlap). */
  readonly maxInFlight!: number;
}

const hostPort = /^[A-Za-z0-9.-]+:(\d{1,5})$/;

const bootstrapServers = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const brokers = raw.split(',').map((entry) => entry.trim());
    const bad = brokers.filter((entry) => {
      const match = hostPort.exec(entry);
      return !match || Number(match[1]) < 1 || Number(match[1]) > 65535;
    });
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a comma-separated list of host:port, bad entries: ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
      });
      return z.NEVER;
    }
    return brokers;
  });

const kafkaName = /^[A-Za-z0-9._-]{1,200}$/;

const kafkaEnvSchema = z.object({
  KAFKA_BOOTSTRAP_SERVERS: bootstrapServers,
  KAFKA_CLIENT_ID: textVar('coffeebuddy', kafkaName, 'letters, digits, ".", "_" or "-"'),
  KAFKA_TOPIC_PREFIX: textVar('coffeebuddy', kafkaName, 'letters, digits, ".", "_" or "-"'),
  KAFKA_CONSUMER_GROUP: textVar('coffeebuddy-run-events', kafkaName, 'letters, digits, ".", "_" or "-"'),
  KAFKA_SASL_MECHANISM: enumVar(['none', ...SASL_MECHANISMS], 'none'),
  KAFKA_SASL_USERNAME: optionalText(),
  KAFKA_SASL_PASSWORD: optionalText(),
  KAFKA_SSL: booleanVar(false),
  KAFKA_TOPIC_PARTITIONS: integerVar(1, 1000, 6),
  KAFKA_TOPIC_REPLICATION_FACTOR: optionalIntegerVar(1, 32),
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS: optionalIntegerVar(1, 32),
  // -1 keeps dead letters forever, as Kafka's retention.ms does.
  KAFKA_DLQ_RETENTION_MS: optionalIntegerVar(-1, 2 ** 53 - 1),
  KAFKA_SESSION_TIMEOUT_MS: integerVar(6000, 300000, 30000),
  KAFKA_REQUEST_TIMEOUT_MS: integerVar(100, 300000, 10000),
  KAFKA_PRODUCER_RETRIES: integerVar(1, 20, 5),
  // 16: what one pod may ask at once of a database pool (10-20 connections) and of Slack's rate limits
  // (about 1 call/s per method and workspace, short bursts); README, "Delivery guarantees and their limits".
  KAFKA_MAX_IN_FLIGHT: integerVar(1, 1024, 16),
});

type KafkaEnv = z.output<typeof kafkaEnvSchema>;

/**
 * Rules across variables, on their parsed values (a variable that did not
 * parse is absent: it is reported on its own). SASL is all or nothing.
 */
function kafkaCrossProblems(env: Partial<KafkaEnv>): EnvProblem[] {
  const problems: EnvProblem[] = [];
  const mechanism = env.KAFKA_SASL_MECHANISM;
  const credentials = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const;
  if (mechanism !== undefined && mechanism !== 'none') {
    for (const variable of credentials.filter((name) => env[name] === undefined)) {
      problems.push({ variable, message: `is required when KAFKA_SASL_MECHANISM is ${mechanism}` });
    }
  } else if (mechanism === 'none' && credentials.some((name) => env[name] !== undefined)) {
    problems.push({
      variable: 'KAFKA_SASL_MECHANISM',
      message: `must be set (${SASL_MECHANISMS.join(', ')}) when SASL credentials are given`,
    });
  }
  const { KAFKA_TOPIC_REPLICATION_FACTOR: replication, KAFKA_TOPIC_MIN_INSYNC_REPLICAS: minInsync } = env;
  if (replication !== undefined && minInsync !== undefined && minInsync > replication) {
    problems.push({ variable: 'KAFKA_TOPIC_MIN_INSYNC_REPLICAS', message: 'must not be above KAFKA_TOPIC_REPLICATION_FACTOR' });
  }
  return problems;
}

function toKafkaConfig(env: KafkaEnv): KafkaConfig {
  const mechanism = env.KAFKA_SASL_MECHANISM;
  return configOf(KafkaConfig, {
    brokers: env.KAFKA_BOOTSTRAP_SERVERS,
    clientId: env.KAFKA_CLIENT_ID,
    topicPrefix: env.KAFKA_TOPIC_PREFIX,
    consumerGroup: env.KAFKA_CONSUMER_GROUP,
    sasl:
      mechanism === 'none'
        ? undefined
        : { mechanism, username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' },
    ssl: env.KAFKA_SSL,
    topicPartitions: env.KAFKA_TOPIC_PARTITIONS,
    topicReplicationFactor: env.KAFKA_TOPIC_REPLICATION_FACTOR,
    topicMinInsyncReplicas: env.KAFKA_TOPIC_MIN_INSYNC_REPLICAS,
    deadLetterRetentionMs: env.KAFKA_DLQ_RETENTION_MS,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    requestTimeoutMs: env.KAFKA_REQUEST_TIMEOUT_MS,
    producerRetries: env.KAFKA_PRODUCER_RETRIES,
    maxInFlight: env.KAFKA_MAX_IN_FLIGHT,
  });
}

/** The Kafka module's slice of the settings. */
export const kafkaSettings = settingsSlice({
  env: kafkaEnvSchema.shape,
  secrets: ['KAFKA_SASL_PASSWORD'],
  check: kafkaCrossProblems,
  toConfig: (e) => ({ kafka: toKafkaConfig(e) }),
});
