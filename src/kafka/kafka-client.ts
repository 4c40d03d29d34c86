import { KafkaConfig as KafkaJsConfig, logLevel, SASLOptions } from 'kafkajs';
import { Logger } from 'pino';
import { KafkaConfig } from './kafka.config';

/** How long kafkajs waits for a TCP connection to a broker. */
export const CONNECTION_TIMEOUT_MS = 3000;
/** kafkajs' backoff between retries of one request: from this ... */
export const RETRY_INITIAL_MS = 300;
/** ... doubling (with kafkajs' jitter) up to this. */
export const RETRY_MAX_MS = 5000;
/** Retries of one request by the consumer's client before kafkajs gives up on it. */
export const CLIENT_RETRIES = 8;
/** The admin client retries nothing of its own (see KafkaAdmin). */
export const ADMIN_RETRIES = 0;

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs client options from the settings, shared by the producer, the
 * admin client and the Nest consumer, with kafkajs' own log lines sent
 * through the service logger.
 */
export function kafkaClientOptions(config: KafkaConfig, log: Logger, clientIdSuffix = ''): KafkaJsConfig {
  return {
    brokers: [...(config.brokers ?? [])],
    clientId: `${config.clientId}${clientIdSuffix}`,
    ssl: config.ssl,
    sasl: config.sasl ? ({ ...config.sasl } as SASLOptions) : undefined,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: config.requestTimeoutMs,
    retry: { initialRetryTime: RETRY_INITIAL_MS, maxRetryTime: RETRY_MAX_MS, retries: CLIENT_RETRIES },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...fields } = entry;
        log[LEVELS[level] ?? 'info']({ kafkajs: fields }, message);
      },
  };
}
