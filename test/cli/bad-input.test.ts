import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isOneLine, runCliProcess } from '../support/cli-process';
import { isolatedKafkaEnv } from '../support/kafka';
import { REFUSED_PORT } from '../support/ports';
import { tempDir } from '../support/temp-dir';

describe('the CLI given bad input', () => {
  const env = isolatedKafkaEnv();

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['dead-letters', 'purge'], 'unknown command "dead-letters purge"'],
    [['dead-letters', 'show', '0:abc'], '"0:abc" is neither a dead-letter partition:offset (such as 0:42) nor an event id (a UUID)'],
    [['dead-letters', 'show', 'x:1'], '"x:1" is neither a dead-letter partition:offset'],
    [['dead-letters', 'show', 'not-an-id'], '"not-an-id" is neither a dead-letter partition:offset'],
    [['dead-letters', 'list', '--reason', 'oops'], 'unknown reason "oops": expected one of empty_value, too_large'],
    [['dead-letters', 'list', '--since', 'yesterday'], '--since "yesterday" is neither an ISO-8601 time nor a duration'],
    [['dead-letters', 'list', '--limit', '0'], '--limit must be a positive integer (got "0")'],
    [['dead-letters', 'replay', '--force'], "Unknown option '--force'"],
    [['publish', '--sample', 'run.order_placed'], 'publish --sample needs --run RUN_ID'],
    [['publish', '--sample', 'run.exploded', '--run', 'r1'], 'unknown event type "run.exploded"'],
  ])('%j: one line, exit 2, before any broker is contacted', async (args, message) => {
    // An address nobody listens on: a usage error must not wait for a broker.
    const run = await runCliProcess(args, { ...env, KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${REFUSED_PORT}` });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(isOneLine(run.stderr)).toBe(true);
    expect(run.stderr).toContain(message);
  });

  it('names an unreachable broker in one line within seconds, exit 1', async () => {
    const address = `127.0.0.1:${REFUSED_PORT}`;
    for (const args of [['dead-letters', 'list'], ['publish', '--sample', 'run.closed', '--run', 'r1']]) {
      const started = Date.now();
      const run = await runCliProcess(args, { ...env, KAFKA_BOOTSTRAP_SERVERS: address });
      expect(run.code).toBe(1);
      expect(isOneLine(run.stderr)).toBe(true);
      expect(run.stderr).toContain(`cannot reach Kafka at ${address}: `);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  }, 60_000);

  it('refuses a bad configuration with the service message and exit 1', async () => {
    const run = await runCliProcess(['dead-letters', 'list'], {
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-0:9092,kafka-1',
      KAFKA_SASL_PASSWORD: 'do-not-print-me',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Invalid configuration:\n');
    expect(run.stderr).toContain('KAFKA_BOOTSTRAP_SERVERS must be a comma-separated list of host:port, bad entries: "kafka-1"');
    expect(run.stderr).toContain('KAFKA_SASL_MECHANISM must be set');
    expect(run.stderr).not.toContain('do-not-print-me');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an invalid event file in one line without publishing', async () => {
    const dir = tempDir('cli-event-');
    const file = join(dir, 'event.json');
    writeFileSync(file, JSON.stringify({ id: 'nope', type: 'run.closed', version: 1 }));
    const invalid = await runCliProcess(['publish', '--file', file], env);
    expect(invalid.code).toBe(1);
    expect(isOneLine(invalid.stderr)).toBe(true);
    expect(invalid.stderr).toMatch(/^invalid run event \(.*\): id: /);
    writeFileSync(file, '{ not json');
    expect((await runCliProcess(['publish', '--file', file], env)).stderr).toMatch(/is not JSON: /);
    const missing = await runCliProcess(['publish', '--file', join(dir, 'no-such-event.json')], env);
    expect(missing.stderr).toBe(`cannot read ${join(dir, 'no-such-event.json')}: ENOENT\n`);
  });
});
