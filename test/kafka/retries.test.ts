import { Kafka, KafkaMessage, Partitioners } from 'kafkajs';
import { DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { HandlerTimeoutError } from '../../src/run-events/handler-attempt';
import { RetryLaterError } from '../../src/run-events/run-event-errors';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEvent } from '../../src/run-events/run-event.schema';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { committedOffsets, isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw, readTopic } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp, TestAppOptions } from '../support/test-app';
import { waitFor } from '../support/wait';

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();
const metric = (service: TestApp, series: string) => metricValue(service.url, series);
const timeOf = (line: Record<string, unknown>) => Date.parse(String(line.time));
/**
 * The service counts the budget on the monotonic clock, the test on the wall
 * clock (Date.now(), log times): they round differently and may drift apart by
 * a few milliseconds over seconds on a virtual machine.
 */
const CLOCK_MS = 10;
const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const started: TestApp[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) await service.close();
});

/** The app on a topic and group of its own; the consumer has joined its group when this returns. */
async function start(env: Record<string, string | undefined>, override?: TestAppOptions['override']) {
  const service = await startTestApp({ env, override });
  started.push(service);
  await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group', 30000);
  const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
  return { service, topic };
}

async function startWithRecorder(env: Record<string, string | undefined>, handlers = new RecordingHandlers()) {
  const started = await start(env, (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers));
  return { ...started, handlers };
}

const send = (topic: string, events: RunEvent[]) => produceRaw(topic, events.map((e) => ({ key: e.runId, value: JSON.stringify(e) })));

/** Group joins, rebalances and consumer restarts seen so far, from the log lines and the metric. */
async function membership(service: TestApp) {
  return {
    joinedAs: service.logs.withMessage('consumer joined its group').map((line) => line.memberId),
    rebalancing: service.logs.withMessage('consumer group rebalancing').length,
    crashes: service.logs.withMessage('consumer crashed').length,
    rebalances: await metric(service, 'coffeebuddy_kafka_consumer_rebalances_total'),
  };
}

/**
 * Sends one event and waits until it is handled, so the group has settled
 * (joined, offsets fetched, consuming) before a test counts rebalances.
 */
async function settled(service: TestApp, topic: string, isHandled: (id: string) => boolean) {
  const warmUp = orderPlaced('run-warm-up', 0);
  await send(topic, [warmUp]);
  await waitFor(() => isHandled(warmUp.id), 'a first event handled', 30000);
  return membership(service);
}

async function topicSize(topic: string): Promise<number> {
  const admin: ReturnType<Kafka['admin']> = kafkaClient().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('replaying a dead letter', () => {
  it('handles a dead-lettered event copied back to its topic once the handler is fixed, instead of skipping it as a duplicate', async () => {
    const { service, handlers, topic } = await startWithRecorder({ ...isolatedKafkaEnv(), KAFKA_RETRY_BUDGET_MS: '300' });
    const event = orderPlaced('run-replay', 1);
    handlers.failWith(event.id, () => new Error('slack unavailable'));
    await send(topic, [event]);
    const [letter] = await readTopic(deadLetterTopic(topic), 1);
    expect(header(letter, DLQ_HEADERS.kind)).toBe('handler_failed');
    expect(handlers.handledIds()).toEqual([]);

    // The runbook: fix the handler, then copy the letter back to the original topic.
    handlers.failWith(event.id, () => undefined);
    await produceRaw(topic, [{ key: letter.key!.toString(), value: letter.value! }]);

    await waitFor(() => handlers.handledIds().includes(event.id), 'the replayed event to be handled', 30000);
    expect(service.logs.withMessage('duplicate run event skipped')).toHaveLength(0);
    expect(service.logs.withMessage('run event handled')).toEqual([expect.objectContaining({ eventId: event.id })]);
  }, 120000);
});

describe('the handler timeout', () => {
  it('keeps the group membership, with no rebalance, while one handler runs longer than the session timeout', async () => {
    const { service, topic } = await start({ ...isolatedKafkaEnv(), KAFKA_HANDLER_TIMEOUT_MS: '30000' });
    const slow = orderPlaced('run-slow-handler', 1);
    const next = orderPlaced('run-slow-handler', 2);
    const handled: string[] = [];
    // 10 s of work against a 6 s session timeout: only heartbeats sent during the attempt keep the member alive.
    service.app.get(RunEventHandlers).on('run.order_placed', async (event) => {
      if (event.id === slow.id) await work(10000);
      handled.push(event.id);
    });
    const before = await settled(service, topic, (id) => handled.includes(id));
    await send(topic, [slow, next]);

    await waitFor(() => handled.includes(next.id), 'both events handled after the slow one', 45000);
    expect(handled.slice(1)).toEqual([slow.id, next.id]);
    expect(await membership(service)).toEqual(before);
    expect(service.logs.withMessage('run event retried')).toHaveLength(0);
    expect(await metric(service, `coffeebuddy_kafka_handler_timeouts_total{topic="${topic}"}`)).toBe(0);
    expect(await metric(service, 'coffeebuddy_kafka_consumer_in_group')).toBe(1);
  }, 150000);

  it('aborts a slow attempt at the timeout, starts the next only after it settled, then dead-letters when the budget is spent', async () => {
    const { service, topic } = await start({
      ...isolatedKafkaEnv(),
      KAFKA_HANDLER_TIMEOUT_MS: '300',
      KAFKA_RETRY_BUDGET_MS: '2000',
    });
    const slow = orderPlaced('run-timeout', 1);
    const next = orderPlaced('run-timeout', 2);
    const attempts: Array<{ begin: number; end?: number; abortReason?: unknown }> = [];
    const handled: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    service.app.get(RunEventHandlers).on('run.order_placed', async (event, { signal }) => {
      if (event.id !== slow.id) return void handled.push(event.id);
      const attempt: (typeof attempts)[number] = { begin: Date.now() };
      attempts.push(attempt);
      mostAtOnce = Math.max(mostAtOnce, ++running);
      try {
        // A handler that stops when told, a little after the signal (within the grace).
        await new Promise<void>((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            attempt.abortReason = signal.reason;
            setTimeout(() => reject(new Error('request aborted')), 100);
          }),
        );
      } finally {
        running -= 1;
        attempt.end = Date.now();
      }
    });
    await send(topic, [slow, next]);

    await waitFor(() => handled.includes(next.id), 'the event after the slow one to be handled', 30000);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(mostAtOnce).toBe(1);
    for (const attempt of attempts) expect(attempt.abortReason).toBeInstanceOf(HandlerTimeoutError);
    for (let i = 1; i < attempts.length; i += 1) expect(attempts[i].begin).toBeGreaterThanOrEqual(attempts[i - 1].end!);

    const [letter] = await readTopic(deadLetterTopic(topic), 1);
    expect(JSON.parse(letter.value!.toString()).id).toBe(slow.id);
    expect(header(letter, DLQ_HEADERS.kind)).toBe('handler_failed');
    expect(header(letter, DLQ_HEADERS.message)).toBe('handler timed out after 300 ms');
    expect(header(letter, DLQ_HEADERS.attempts)).toBe(String(attempts.length));
    const [deadLettered] = service.logs.withMessage('run event dead-lettered');
    expect(timeOf(deadLettered) - attempts[0].begin).toBeGreaterThanOrEqual(2000 - CLOCK_MS);
    expect(await metric(service, `coffeebuddy_kafka_handler_timeouts_total{topic="${topic}"}`)).toBe(attempts.length);
    expect(await metric(service, `coffeebuddy_kafka_handler_abandoned_total{topic="${topic}"}`)).toBe(0);
  }, 120000);

  it('times out a handler that never resolves, abandons it without a second attempt, dead-letters it, and the partition goes on', async () => {
    const { service, topic } = await start({
      ...isolatedKafkaEnv(),
      KAFKA_HANDLER_TIMEOUT_MS: '300',
      KAFKA_RETRY_BUDGET_MS: '3000',
    });
    const hung = orderPlaced('run-hung', 1);
    const next = orderPlaced('run-hung', 2);
    const hungStarts: number[] = [];
    const handled: string[] = [];
    service.app.get(RunEventHandlers).on('run.order_placed', (event) => {
      if (event.id !== hung.id) return void handled.push(event.id);
      hungStarts.push(Date.now());
      return new Promise<void>(() => undefined); // ignores its signal and never settles
    });
    await send(topic, [hung, next]);

    await waitFor(() => handled.includes(next.id), 'the event after the hung one to be handled', 30000);
    expect(hungStarts).toHaveLength(1);
    const [abandoned] = service.logs.withMessage('run event handler abandoned');
    expect(abandoned).toMatchObject({ eventId: hung.id, attempt: 1, graceMs: 1000, topic, level: "error" });
    const [deadLettered] = service.logs.withMessage('run event dead-lettered');
    expect(deadLettered).toMatchObject({ eventId: hung.id, reason: 'handler_failed', attempts: 1 });
    expect(timeOf(deadLettered) - hungStarts[0]).toBeGreaterThanOrEqual(3000 - CLOCK_MS);
    const [letter] = await readTopic(deadLetterTopic(topic), 1);
    expect(header(letter, DLQ_HEADERS.message)).toBe('handler timed out after 300 ms');
    expect(await metric(service, `coffeebuddy_kafka_handler_timeouts_total{topic="${topic}"}`)).toBe(1);
    expect(await metric(service, `coffeebuddy_kafka_handler_abandoned_total{topic="${topic}"}`)).toBe(1);
  }, 120000);
});

describe('retry later', () => {
  it("waits as long as the handler's RetryLaterError asks, cut to the end of the retry budget", async () => {
    const handlers = new RecordingHandlers();
    const { service, topic } = await startWithRecorder({ ...isolatedKafkaEnv(), KAFKA_RETRY_BUDGET_MS: '3000' }, handlers);
    const limited = orderPlaced('run-rate-limited', 1);
    const overBudget = orderPlaced('run-rate-limited', 2);
    handlers.failWith(limited.id, (attempt) => (attempt === 1 ? new RetryLaterError(1500, 'slack answered 429') : undefined));
    handlers.failWith(overBudget.id, () => new RetryLaterError(60000, 'slack answered 429'));
    await send(topic, [limited, overBudget]);
    // Other runs succeed meanwhile: the 429s are this run's own trouble, not an outage, and spend the budget.
    for (let seq = 0; service.logs.withMessage('run event dead-lettered').length === 0; seq += 1) {
      await send(topic, [orderPlaced('run-busy', seq)]);
      await waitFor(() => handlers.handledIds().length >= seq + 1, 'the busy run handled', 30000);
    }

    const [letter] = await readTopic(deadLetterTopic(topic), 1, 30000);
    expect(JSON.parse(letter.value!.toString()).id).toBe(overBudget.id);
    expect(handlers.handledIds().filter((id) => id === limited.id || id === overBudget.id)).toEqual([limited.id]);
    const [first, second] = handlers.startedAt.get(limited.id)!;
    expect(second - first).toBeGreaterThanOrEqual(1500);

    const retried = service.logs.withMessage('run event retried');
    expect(retried.map((line) => [line.eventId, line.reason])).toEqual([
      [limited.id, 'slack answered 429'],
      [overBudget.id, 'slack answered 429'],
    ]);
    expect(retried[0].retryInMs).toBe(1500);
    // Asked for 60 s, given what was left of its 3 s budget, then one last attempt.
    expect(retried[1].retryInMs).toBeGreaterThan(2000);
    expect(retried[1].retryInMs).toBeLessThanOrEqual(3000);
    expect(handlers.attempts.get(overBudget.id)).toBe(2);
  }, 90000);
});

describe('the retry budget with the default settings', () => {
  it('dead-letters an always failing event only after 30 s of failures, having reached the 10 s maximum backoff', async () => {
    const defaults = {
      KAFKA_RETRY_INITIAL_BACKOFF_MS: undefined,
      KAFKA_RETRY_MAX_BACKOFF_MS: undefined,
      KAFKA_RETRY_BUDGET_MS: undefined,
      KAFKA_HANDLER_TIMEOUT_MS: undefined,
    };
    const { service, handlers, topic } = await startWithRecorder({ ...isolatedKafkaEnv(), ...defaults });
    const event = orderPlaced('run-budget', 1);
    handlers.failWith(event.id, () => new Error('downstream down'));
    await send(topic, [event]);

    const [letter] = await readTopic(deadLetterTopic(topic), 1, 50000);
    const attempts = handlers.startedAt.get(event.id)!;
    const [deadLettered] = service.logs.withMessage('run event dead-lettered');
    expect(timeOf(deadLettered) - attempts[0]).toBeGreaterThanOrEqual(30000 - CLOCK_MS);
    expect(attempts[attempts.length - 1] - attempts[0]).toBeGreaterThanOrEqual(30000 - CLOCK_MS);
    expect(header(letter, DLQ_HEADERS.attempts)).toBe(String(attempts.length));
    const waits = service.logs.withMessage('run event retried').map((line) => line.retryInMs);
    expect(waits.slice(0, 7)).toEqual([200, 400, 800, 1600, 3200, 6400, 10000]);
  }, 120000);
});

describe('stopping the consumer', () => {
  it('during a retry backoff leaves the message unsettled: it is not dead-lettered, and comes back to the next consumer', async () => {
    const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_RETRY_INITIAL_BACKOFF_MS: '20000', KAFKA_RETRY_MAX_BACKOFF_MS: '20000' };
    const first = await startWithRecorder(env);
    const event = orderPlaced('run-stopped', 1);
    first.handlers.failWith(event.id, () => new Error('downstream down'));
    await send(first.topic, [event]);
    await waitFor(() => first.service.logs.withMessage('run event retried').length === 1, 'the first failure to back off', 30000);

    const closing = Date.now();
    await first.service.close();
    started.splice(started.indexOf(first.service), 1);
    // The 20 s backoff was cut short, not waited out.
    expect(Date.now() - closing).toBeLessThan(15000);
    expect(first.service.logs.withMessage('run event dead-lettered')).toHaveLength(0);
    expect(await committedOffsets(env.KAFKA_CONSUMER_GROUP, first.topic)).toBe(0);
    expect(await topicSize(deadLetterTopic(first.topic))).toBe(0);

    const second = await startWithRecorder(env);
    await waitFor(() => second.handlers.handledIds().includes(event.id), 'the message to come back to the next consumer', 30000);
    expect(first.handlers.attempts.get(event.id)).toBe(1);
    await waitFor(async () => (await committedOffsets(env.KAFKA_CONSUMER_GROUP, first.topic)) === 1, 'its offset to be committed', 15000);
  }, 180000);

  it('heartbeats between messages of one long batch, so the batch outlasts the session timeout without a rebalance', async () => {
    // 25 events of 400 ms each: a 10 s batch against a 6 s session timeout, each attempt too short for its own heartbeat.
    const handlers = new RecordingHandlers(400);
    const env = isolatedKafkaEnv();
    const { service, topic } = await startWithRecorder(env, handlers);
    const events = Array.from({ length: 25 }, (_, seq) => orderPlaced('run-long-batch', seq));
    const before = await settled(service, topic, (id) => handlers.handledIds().includes(id));
    // One send, one record batch: the consumer fetches all of them at once.
    const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.runId, value: JSON.stringify(e) })) });
    } finally {
      await producer.disconnect();
    }

    await waitFor(() => handlers.handled.length === events.length + 1, 'every event of the batch handled', 30000);
    expect(handlers.handledIds().slice(1)).toEqual(events.map((e) => e.id));
    // An evicted member finds out when it commits after the batch, and rejoins: look only once the batch is committed.
    await waitFor(async () => (await committedOffsets(env.KAFKA_CONSUMER_GROUP, topic)) === events.length + 1, 'the batch committed', 30000);
    expect(await membership(service)).toEqual(before);
    expect(service.logs.withMessage('duplicate run event skipped')).toHaveLength(0);
  }, 150000);
});
