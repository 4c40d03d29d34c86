import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../settings';
import { cliSettings } from './cli-settings';

describe('cliSettings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-settings-'));
  const file = join(dir, 'local-kafka.json');
  writeFileSync(file, JSON.stringify({ bootstrap: '127.0.0.1:40123', pid: 1 }));

  it('uses the broker npm start recorded when KAFKA_BOOTSTRAP_SERVERS is unset', () => {
    expect(cliSettings({}, file).kafka.brokers).toEqual(['127.0.0.1:40123']);
    expect(cliSettings({ KAFKA_BOOTSTRAP_SERVERS: ' ' }, file).kafka.brokers).toEqual(['127.0.0.1:40123']);
  });

  it('prefers KAFKA_BOOTSTRAP_SERVERS, and has no broker without either', () => {
    expect(cliSettings({ KAFKA_BOOTSTRAP_SERVERS: 'kafka-0:9092' }, file).kafka.brokers).toEqual(['kafka-0:9092']);
    expect(cliSettings({}, join(dir, 'missing.json')).kafka.brokers).toBeUndefined();
  });

  it('validates the rest exactly as the service does', () => {
    expect(() => cliSettings({ KAFKA_SSL: 'sometimes' }, file)).toThrow(ConfigurationError);
    expect(cliSettings({ KAFKA_TOPIC_PREFIX: 'team' }, file).kafka.topicPrefix).toBe('team');
  });
});
