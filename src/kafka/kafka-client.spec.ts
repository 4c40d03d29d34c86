import { logLevel } from 'kafkajs';
import { AppLogger } from '../runtime/logger';
import { parseSettings } from '../settings';
import { IDEMPOTENT_RETRIES_NOTICE, kafkaClientOptions } from './kafka-client';

/** Passes one kafkajs log entry through the client options' logCreator and returns the lines written. */
function logThroughKafkajs(level: logLevel, message: string, fields: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const logger = new AppLogger({ level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(line) });
  const options = kafkaClientOptions(parseSettings({ KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092' }).kafka, logger.child('Kafka'));
  const log = options.logCreator!(logLevel.WARN);
  log({ namespace: 'Connection', level, label: 'x', log: { message, timestamp: '2026-12-03T00:00:00.000Z', logger: 'kafkajs', ...fields } });
  return lines.map((line) => JSON.parse(line));
}

describe('kafkajs log lines through the service logger', () => {
  it('logs a protocol error kafkajs retries by itself at debug, not error', () => {
    for (const error of ["The coordinator is loading and hence can't process requests for this group", 'The group coordinator is not available']) {
      const [line] = logThroughKafkajs(logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', { error });
      expect(line).toMatchObject({ level: 'debug', msg: 'Response GroupCoordinator(key: 10, version: 2)', kafkajs: { error } });
    }
  });

  it('keeps an error kafkajs does not retry at error', () => {
    const error = 'Not authorized to access topics: [Topic authorization failed]';
    const [line] = logThroughKafkajs(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', { error });
    expect(line).toMatchObject({ level: 'error', kafkajs: { error } });
  });

  it('keeps kafkajs warnings at warn, except the idempotent producer notice, dropped by its exact text', () => {
    expect(logThroughKafkajs(logLevel.WARN, IDEMPOTENT_RETRIES_NOTICE)).toEqual([]);
    const [line] = logThroughKafkajs(logLevel.WARN, `${IDEMPOTENT_RETRIES_NOTICE}!`);
    expect(line).toMatchObject({ level: 'warn', msg: `${IDEMPOTENT_RETRIES_NOTICE}!` });
  });
});
