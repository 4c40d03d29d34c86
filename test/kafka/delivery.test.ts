import { randomUUID } from 'node:crypto';
import { KafkaMessage } from 'kafkajs';
import { DeadLetter, DeadLetterWriter, DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { KafkaProducer } from '../../src/kafka/kafka-producer';
import { PermanentEventError } from '../../src/run-events/run-event-errors';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { isolatedKafkaEnv, orderPlaced, produceRaw, readTopic } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp, TestAppOptions } from '../support/test-app';
import { DEFAULT_WAIT_MS, testTimeout, waitFor } from '../support/wait';

/** Joining the group is one wait; each test adds its own. */
const JOIN_MS = DEFAULT_WAIT_MS;
const READ_MS = DEFAULT_WAIT_MS;

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();

const metric = (service: TestApp, series: string) => metricValue(service.url, series);

/** Long enough for three attempts with backoffs of 20 and 40 ms even on a loaded machine. */
// Room for the first waits (20, 40, 80 ms) each plus a fetch of its resumed partition (up to 500 ms).
const RETRY_BUDGET_MS = 2500;

const started: TestApp[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) await service.close();
});

async function startWithRecorder(env: Record<string, string> = {}, override?: TestAppOptions['override']) {
  const handlers = new RecordingHandlers();
  const service = await startTestApp({
    env: { ...isolatedKafkaEnv(), KAFKA_RETRY_BUDGET_MS: String(RETRY_BUDGET_MS), ...env },
    override: (builder) => (override ? override(builder) : builder).overrideProvider(RunEventHandlers).useValue(handlers),
  });
  started.push(service);
  await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group', JOIN_MS);
  const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
  return { service, handlers, topic };
}

describe('poison messages', () => {
  it('dead-letters non-JSON, schema-invalid, empty and oversized values with their headers, and keeps consuming', async () => {
    const { service, handlers, topic } = await startWithRecorder();
    const good = Array.from({ length: 6 }, (_, seq) => orderPlaced('run-poison', seq));
    const invalid = { ...orderPlaced('run-poison', 99), payload: { orderId: 'o-1' } };
    const bad = [
      { value: Buffer.from('{"id": not json'), kind: 'invalid_json' },
      { value: Buffer.from(JSON.stringify(invalid)), kind: 'schema_invalid' },
      { value: null, kind: 'empty_value' },
      { value: Buffer.alloc(70_000, 'x'), kind: 'too_large' },
    ];
    // Interleaved, on one key so they share a partition: good, bad, good, bad ... good.
    const sequence = good.flatMap((event, i) => [
      { key: 'run-poison', value: Buffer.from(JSON.stringify(event)) },
      ...(bad[i] ? [{ key: 'run-poison', value: bad[i].value }] : []),
    ]);
    const placed = await produceRaw(topic, sequence);

    await waitFor(() => handlers.handled.length >= good.length, 'every good event handled');
    expect(handlers.handledIds()).toEqual(good.map((event) => event.id));

    const letters = await readTopic(deadLetterTopic(topic), bad.length);
    expect(letters).toHaveLength(bad.length);
    bad.forEach((poison, i) => {
      const letter = letters[i];
      const original = placed[sequence.findIndex((m) => m.value === poison.value)];
      expect(letter.value === null ? null : Buffer.from(letter.value)).toEqual(poison.value === null ? null : poison.value);
      expect(letter.key?.toString()).toBe('run-poison');
      expect(header(letter, DLQ_HEADERS.kind)).toBe(poison.kind);
      expect(header(letter, DLQ_HEADERS.message)?.length).toBeGreaterThan(5);
      expect(header(letter, DLQ_HEADERS.topic)).toBe(topic);
      expect(header(letter, DLQ_HEADERS.partition)).toBe(String(original.partition));
      expect(header(letter, DLQ_HEADERS.offset)).toBe(original.baseOffset);
      expect(header(letter, DLQ_HEADERS.attempts)).toBe('1');
    });
    expect(header(letters[1], DLQ_HEADERS.message)).toContain('payload.userId');

    const lines = service.logs.withMessage('run event dead-lettered');
    expect(lines.map((line) => line.reason)).toEqual(bad.map((poison) => poison.kind));
    expect(lines[1]).toMatchObject({ eventId: invalid.id, topic, partition: expect.any(Number), offset: expect.any(Number) });
    expect(lines[0].eventId).toBeUndefined();
    expect(await metric(service, `coffeebuddy_kafka_messages_consumed_total{topic="${topic}",outcome="dead_lettered"}`)).toBe(4);
    expect(await metric(service, `coffeebuddy_kafka_dead_letters_total{topic="${topic}",reason="invalid_json"}`)).toBe(1);
  }, testTimeout(JOIN_MS, DEFAULT_WAIT_MS, READ_MS));
});

describe('handler errors', () => {
  it('retries with backoff until success, dead-letters once the retry budget is spent, and skips retries for permanent errors', async () => {
    const { service, handlers, topic } = await startWithRecorder();
    const flaky = orderPlaced('run-retry', 1);
    const broken = orderPlaced('run-retry', 2);
    const permanent = orderPlaced('run-retry', 3);
    const after = orderPlaced('run-retry', 4);
    handlers.failWith(flaky.id, (attempt) => (attempt <= 2 ? new Error(`flaky failure ${attempt}`) : undefined));
    handlers.failWith(broken.id, () => new Error('always broken'));
    handlers.failWith(permanent.id, () => new PermanentEventError('order refers to a deleted run'));
    await produceRaw(topic, [flaky, broken, permanent, after].map((e) => ({ key: e.runId, value: JSON.stringify(e) })));

    await waitFor(() => handlers.handledIds().includes(after.id), 'the event after the failing ones');
    expect(handlers.handledIds()).toEqual([flaky.id, after.id]);
    expect(handlers.attempts.get(flaky.id)).toBe(3);
    expect(handlers.attempts.get(permanent.id)).toBe(1);
    const brokenAttempts = handlers.attempts.get(broken.id)!;
    expect(brokenAttempts).toBeGreaterThanOrEqual(3);

    const letters = await readTopic(deadLetterTopic(topic), 2);
    expect(letters.map((l) => [JSON.parse(l.value!.toString()).id, header(l, DLQ_HEADERS.kind), header(l, DLQ_HEADERS.attempts)])).toEqual([
      [broken.id, 'handler_failed', String(brokenAttempts)],
      [permanent.id, 'handler_permanent_failure', '1'],
    ]);
    expect(header(letters[0], DLQ_HEADERS.message)).toBe('always broken');
    // The budget is time: the broken event was dead-lettered no sooner than RETRY_BUDGET_MS after its first attempt.
    const deadLettered = service.logs.withMessage('run event dead-lettered');
    expect(deadLettered.map((line) => line.eventId)).toEqual([broken.id, permanent.id]);
    const failingFor = Date.parse(String(deadLettered[0].time)) - handlers.startedAt.get(broken.id)![0];
    // Less a few ms: the service counts on the monotonic clock, this test on the wall clock.
    expect(failingFor).toBeGreaterThanOrEqual(RETRY_BUDGET_MS - 10);

    const retried = service.logs.withMessage('run event retried');
    expect(retried.filter((line) => line.eventId === flaky.id).map((line) => [line.reason, line.retryInMs])).toEqual([
      ['flaky failure 1', 20],
      ['flaky failure 2', 40],
    ]);
    const brokenRetries = retried.filter((line) => line.eventId === broken.id);
    expect(brokenRetries).toHaveLength(brokenAttempts - 1);
    expect(brokenRetries.every((line) => line.reason === 'always broken')).toBe(true);
    // Doubling from 20 ms up to the 100 ms maximum; the last wait may be cut to the end of the budget.
    expect(brokenRetries.slice(0, 3).map((line) => line.retryInMs)).toEqual([20, 40, 80]);
    expect(brokenRetries.slice(3, -1).every((line) => line.retryInMs === 100)).toBe(true);
    expect(await metric(service, `coffeebuddy_kafka_messages_consumed_total{topic="${topic}",outcome="retried"}`)).toBe(2 + brokenAttempts - 1);
  }, testTimeout(JOIN_MS, DEFAULT_WAIT_MS, READ_MS));

  it('keeps its group membership while a retry waits longer than the session timeout', async () => {
    const { service, handlers, topic } = await startWithRecorder({
      KAFKA_RETRY_INITIAL_BACKOFF_MS: '8000',
      KAFKA_RETRY_MAX_BACKOFF_MS: '8000',
      KAFKA_RETRY_BUDGET_MS: '30000',
    });
    const event = orderPlaced('run-slow', 1);
    handlers.failWith(event.id, (attempt) => (attempt === 1 ? new Error('downstream busy') : undefined));
    const rebalancesBefore = service.logs.withMessage('consumer group rebalancing').length;
    await produceRaw(topic, [{ key: event.runId, value: JSON.stringify(event) }]);
    await waitFor(() => handlers.handledIds().includes(event.id), 'the event handled after its retry', 30000);
    expect(handlers.attempts.get(event.id)).toBe(2);
    expect(service.logs.withMessage('consumer group rebalancing')).toHaveLength(rebalancesBefore);
    expect(service.logs.withMessage('consumer crashed')).toHaveLength(0);
    expect(await metric(service, 'coffeebuddy_kafka_consumer_in_group')).toBe(1);
  }, testTimeout(JOIN_MS, 30000));
});

describe('duplicates', () => {
  it('handles an event id published twice once, and counts the duplicate', async () => {
    const { service, handlers, topic } = await startWithRecorder();
    const event = orderPlaced('run-dup', 1);
    const next = orderPlaced('run-dup', 2);
    await produceRaw(topic, [event, event, next].map((e) => ({ key: e.runId, value: JSON.stringify(e) })));
    await waitFor(() => handlers.handledIds().includes(next.id), 'the event after the duplicate');
    expect(handlers.handledIds()).toEqual([event.id, next.id]);
    // Counted when the batch ends.
    await waitFor(
      async () => (await metric(service, `coffeebuddy_kafka_messages_consumed_total{topic="${topic}",outcome="duplicate"}`)) === 1,
      'one duplicate counted',
    );
    expect(service.logs.withMessage('duplicate run event skipped')).toEqual([expect.objectContaining({ eventId: event.id })]);
  }, testTimeout(JOIN_MS, DEFAULT_WAIT_MS, DEFAULT_WAIT_MS));
});

/** Fails the first dead-letter write, then writes for real. */
class FlakyDeadLetterWriter extends DeadLetterWriter {
  writes = 0;
  override async write(letter: DeadLetter): Promise<void> {
    this.writes += 1;
    if (this.writes === 1) throw new Error('dead-letter topic unavailable');
    await super.write(letter);
  }
}

describe('a dead letter that cannot be written', () => {
  it('does not commit the offset: the message comes back and is dead-lettered once', async () => {
    let writer: FlakyDeadLetterWriter | undefined;
    const { service, handlers, topic } = await startWithRecorder({}, (builder) =>
      builder.overrideProvider(DeadLetterWriter).useFactory({
        factory: (producer: KafkaProducer) => (writer = new FlakyDeadLetterWriter(producer)),
        inject: [KafkaProducer],
      }),
    );
    const after = orderPlaced('run-dlq-down', 2);
    const poison = `not json ${randomUUID()}`;
    await produceRaw(topic, [
      { key: 'run-dlq-down', value: poison },
      { key: 'run-dlq-down', value: JSON.stringify(after) },
    ]);
    await waitFor(() => handlers.handledIds().includes(after.id), 'the event after the poison message', 45000);
    expect(writer!.writes).toBe(2);
    const letters = await readTopic(deadLetterTopic(topic), 1);
    expect(letters[0].value!.toString()).toBe(poison);
    expect(handlers.handledIds()).toEqual([after.id]);
    expect(service.logs.withMessage('run event dead-lettered')).toHaveLength(1);
  }, testTimeout(JOIN_MS, 45000, READ_MS));
});
