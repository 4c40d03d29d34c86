import { DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { runCliProcess } from '../support/cli-process';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw, readTopic } from '../support/kafka';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';

let service: TestApp | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Messages in a topic, all partitions together. */
async function topicSize(topic: string): Promise<number> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('dead-letters replay of a handler failure', () => {
  it('sends the letter back once the handler is fixed, where it is handled; a second replay sends nothing', async () => {
    const env = { ...isolatedKafkaEnv(), KAFKA_RETRY_BUDGET_MS: '100' };
    const handlers = new RecordingHandlers();
    service = await startTestApp({ env, override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers) });
    await waitFor(() => service!.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group');
    const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    const event = orderPlaced('run-replay', 1);
    handlers.failWith(event.id, () => new Error('payments service down'));
    await produceRaw(topic, [{ key: event.runId, value: JSON.stringify(event), headers: { 'x-request-id': 'req-7' } }]);
    await waitFor(() => service!.logs.withMessage('run event dead-lettered').length === 1, 'the event dead-lettered');
    const [letter] = await readTopic(deadLetterTopic(topic), 1);
    const failedAttempts = handlers.attempts.get(event.id)!;

    handlers.failWith(event.id, () => undefined);
    const replay = await runCliProcess(['dead-letters', 'replay', '--yes'], env);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('replayed 1 of 1 letter(s)');
    await waitFor(() => handlers.handledIds().includes(event.id), 'the replayed event handled');
    // One more attempt, the replayed copy's: it was not skipped as a duplicate.
    expect(handlers.attempts.get(event.id)).toBe(failedAttempts + 1);
    expect(service.logs.withMessage('duplicate run event skipped')).toHaveLength(0);

    // The copy: same key and value, the original headers without dlq.*, and where it came from.
    const [, copy] = await readTopic(topic, 2);
    expect(copy.key!.toString()).toBe(event.runId);
    expect(copy.value!.toString()).toBe(JSON.stringify(event));
    const headers = Object.fromEntries(Object.entries(copy.headers!).map(([name, value]) => [name, value!.toString()]));
    expect(Object.keys(headers).sort()).toEqual(['dlq.replayed.at', 'dlq.replayed.from', 'x-request-id']);
    expect(headers['x-request-id']).toBe('req-7');
    expect(headers['dlq.replayed.from']).toMatch(new RegExp(`^\\d+:${letter.offset}$`));
    expect(Date.parse(headers['dlq.replayed.at'])).toBeGreaterThan(Date.parse(letter.headers![DLQ_HEADERS.failedAt]!.toString()));

    const again = await runCliProcess(['dead-letters', 'replay', '--yes', '--reason', 'handler_failed'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to replay (1 matching letter(s) already replayed, skipped)');
    expect(await topicSize(topic)).toBe(2);
    const listed = await runCliProcess(['dead-letters', 'list'], env);
    expect(listed.stdout).toContain(`${event.id}  run.order_placed  run-replay  attempts=${failedAttempts}  payments service down  [replayed]`);
  }, 120_000);
});
