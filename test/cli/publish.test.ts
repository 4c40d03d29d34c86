import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { runCliProcess } from '../support/cli-process';
import { isolatedKafkaEnv, orderPlaced } from '../support/kafka';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { tempDir } from '../support/temp-dir';
import { waitFor } from '../support/wait';

let service: TestApp | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

describe('publish', () => {
  it('publishes a sample and the events of a file through the service publisher, and the service handles them', async () => {
    const env = isolatedKafkaEnv();
    const handlers = new RecordingHandlers();
    service = await startTestApp({ env, override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers) });
    await waitFor(() => service!.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group');

    const sample = await runCliProcess(['publish', '--sample', 'run.created', '--run', 'run-cli-1'], env);
    expect(sample.stderr).toBe('');
    expect(sample.code).toBe(0);
    const [, id] = /^published run\.created (\S+) \(run run-cli-1\) to \S+\.run\.events\n$/.exec(sample.stdout)!;
    await waitFor(() => handlers.handledIds().includes(id), 'the sample event handled');
    expect(service.logs.withMessage('run event handled')).toContainEqual(
      expect.objectContaining({ eventId: id, type: 'run.created', runId: 'run-cli-1' }),
    );

    const events = [orderPlaced('run-cli-2', 1), orderPlaced('run-cli-2', 2)];
    const file = join(tempDir('cli-events-'), 'events.json');
    writeFileSync(file, JSON.stringify(events));
    const fromFile = await runCliProcess(['publish', '--file', file], env);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout.trim().split('\n')).toHaveLength(2);
    await waitFor(() => events.every((event) => handlers.handledIds().includes(event.id)), 'both events of the file handled');
    // Keyed by run id like the service's own events: one run, one partition, in order.
    expect(handlers.handledIds().filter((handled) => events.some((e) => e.id === handled))).toEqual(events.map((e) => e.id));
  }, 90_000);
});
