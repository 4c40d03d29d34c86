import { KafkaConfig as KafkaJsConfig, logLevel, SASLOptions } from 'kafkajs';
import { Logger } from 'pino';
import { KafkaConfig } from './kafka.config';

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
    connectionTimeout: 3000,
    requestTimeout: config.requestTimeoutMs,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...fields } = entry;
        log[LEVELS[level] ?? 'info']({ kafkajs: fields }, message);
      },
  };
}
