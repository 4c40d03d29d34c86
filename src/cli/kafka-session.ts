import { Kafka } from 'kafkajs';
import pino from 'pino';
import { kafkaClientOptions, RETRY_INITIAL_MS } from '../kafka/kafka-client';
import { KafkaConfig } from '../kafka/kafka.config';
import { CliError } from './cli-error';

/** How long the CLI waits for a broker before it gives up with one line. */
export const BROKER_TIMEOUT_MS = 5000;

/**
 * A kafkajs client for a short-lived command, with the service's client
 * options (SASL, TLS, client id, retries: a fresh cluster's group coordinator
 * takes a few seconds to load). kafkajs' own log lines are dropped: the
 * command reports failures itself.
 */
export function cliKafka(config: KafkaConfig): Kafka {
  return new Kafka(kafkaClientOptions(config, pino({ level: 'silent' }), '-cli'));
}

/** Retries of the first contact: an unreachable broker is reported in seconds. */
export const FIRST_CONTACT_RETRY = { retries: 1, initialRetryTime: RETRY_INITIAL_MS };

export function brokersOf(config: KafkaConfig): string {
  if (!config.brokers) {
    throw new CliError('KAFKA_BOOTSTRAP_SERVERS is not set, and no broker started by `npm start` was found');
  }
  return config.brokers.join(',');
}

export function unreachable(config: KafkaConfig, error: unknown): CliError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CliError(`cannot reach Kafka at ${brokersOf(config)}: ${reason}`);
}
