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

// kafkajs' table of Kafka protocol errors (code, message, retriable); it is not in kafkajs' typed API.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { errorCodes } = require('kafkajs/src/protocol/error') as { errorCodes: Array<{ message: string; retriable: boolean }> };

/**
 * Protocol errors that Kafka marks retriable, such as "the coordinator is loading" on a new
 * cluster or "not leader" during an election: kafkajs retries them by itself, yet logs every
 * failed response at ERROR first. Those lines go to debug. A failure that persists ends
 * kafkajs' retries with an error that reaches our code, which logs it ("consumer crashed",
 * "producer cannot connect, retrying", "publish failed").
 */
const RETRIED_BY_KAFKAJS = new Set(errorCodes.filter((code) => code.retriable).map((code) => code.message));

/**
 * kafkajs prints this at every start of an idempotent producer whose retries are bounded. It
 * describes the configuration, not an event, so it leaves an operator nothing to act on; the
 * bound is deliberate (a send during an outage fails back to its caller, see kafka-producer.ts).
 * Dropped by its exact text, so any other kafkajs warning still shows.
 */
export const IDEMPOTENT_RETRIES_NOTICE = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

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
        if (message === IDEMPOTENT_RETRIES_NOTICE) return;
        // A consumer that crashed on such an error restarts by itself ("Crash: …", then "Restarting the
        // consumer in …"); RunEventsServer logs every crash, at error unless it is one of these.
        const retried =
          level === logLevel.ERROR &&
          (RETRIED_BY_KAFKAJS.has(String(fields.error)) ||
            RETRIED_BY_KAFKAJS.has(message.replace(/^Crash: KafkaJSProtocolError: /, '')) ||
            message.startsWith('Restarting the consumer in '));
        log[retried ? 'debug' : (LEVELS[level] ?? 'info')]({ kafkajs: fields }, message);
      },
  };
}
