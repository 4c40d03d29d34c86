import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { DependencyUnavailableError, RetryLaterError } from '../../src/run-events/run-event-errors';
import { DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEvent } from '../../src/run-events/run-event.schema';
import { FaultProxy, PROXY_PORT_WAIT_MS } from '../support/fault-proxy';
import { committedOffsets, isolatedKafkaEnv, orderPlaced, produceRaw, readAll } from '../support/kafka';
import { metricSum } from '../support/metrics';
import { startTestApp, TestApp } from '../support/test-app';
import { testTimeout, waitFor } from '../support/wait';

/** Six partitions, as in production: one run's trouble must stay on its own. */
const PARTITIONS = '6';
const FLOW_MS = 30_000;
/**
 * The service counts waits on the monotonic clock, the test on the wall
 * clock: they may drift apart by a few milliseconds over seconds.
 */
const CLOCK_MS = 10;

interface Attempt {
  event: RunEvent;
  start: number;
  ok: boolean;
}

/**
 * A feature's handler, registered through `handlers.on`: it records every
 * attempt, and fails an event while `failure(event)` returns an error.
 */
class FeatureHandler {
  readonly attempts: Attempt[] = [];
  failure: (event: RunEvent) => Error | undefined = () => undefined;

  register(service: TestApp): void {
    service.app.get(RunEventHandlers).on('run.order_placed', async (event) => {
      const attempt = { event, start: Date.now(), ok: false };
      this.attempts.push(attempt);
      const error = this.failure(event);
      if (error) throw error;
      attempt.ok = true;
    });
  }

  /** Ids of the events handled successfully, in the order their handling succeeded. */
  handledIds(): string[] {
    return this.attempts.filter((a) => a.ok).map((a) => a.event.id);
  }

  attemptsOf(eventId: string): Attempt[] {
    return this.attempts.filter((a) => a.event.id === eventId);
  }
}

const started: TestApp[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) await service.close();
});

async function start(env: Record<string, string>) {
  const service = await startTestApp({ env });
  started.push(service);
  const handler = new FeatureHandler();
  handler.register(service);
  await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group', FLOW_MS);
  const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
  return { service, handler, topic };
}

/** Sends events one by one, keyed by run, and returns the partition each landed on, by event id. */
async function send(topic: string, events: RunEvent[]): Promise<Map<string, number>> {
  const placed = await produceRaw(
    topic,
    events.map((e) => ({ key: e.runId, value: JSON.stringify(e) })),
  );
  return new Map(events.map((e, i) => [e.id, placed[i]!.partition]));
}

const runOf = (runId: string, count: number, from = 0) => Array.from({ length: count }, (_, i) => orderPlaced(runId, from + i));

/** True when every run's handled events came in the order they were produced, each once. */
function inOrderOncePerRun(handledIds: string[], events: RunEvent[]): boolean {
  const position = new Map(handledIds.map((id, i) => [id, i]));
  if (position.size !== handledIds.length) return false;
  const byRun = new Map<string, RunEvent[]>();
  for (const e of events) byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]);
  return [...byRun.values()].every((run) => run.every((e, i) => i === 0 || position.get(e.id)! > position.get(run[i - 1]!.id)!));
}

describe('a run whose handler fails', () => {
  it(
    'pauses only its own partition: runs on the other partitions, produced while it fails, are handled meanwhile; then it is handled once, in order',
    async () => {
      const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: PARTITIONS, KAFKA_RETRY_BUDGET_MS: '120000' };
      const { service, handler, topic } = await start(env);
      let failing = true;
      handler.failure = (event) => (failing && event.runId === 'run-failing' ? new Error('Slack answered 503') : undefined);

      const failingRun = runOf('run-failing', 3);
      const [failingPartition] = [...(await send(topic, failingRun)).values()];
      await waitFor(() => handler.attemptsOf(failingRun[0]!.id).length >= 2, 'the failing run to be retried', FLOW_MS);
      const paused = await waitFor(() => service.logs.withMessage('partition paused')[0], 'the partition paused', FLOW_MS);
      expect(paused).toMatchObject({ partition: failingPartition, reason: 'retry', eventId: failingRun[0]!.id });

      // Other runs, produced after the failure began, on every partition.
      const others = Array.from({ length: 24 }, (_, i) => orderPlaced(`run-other-${i}`, 0));
      const placed = await send(topic, others);
      const elsewhere = others.filter((e) => placed.get(e.id) !== failingPartition);
      expect(new Set(elsewhere.map((e) => placed.get(e.id))).size).toBeGreaterThanOrEqual(3);
      await waitFor(
        () => elsewhere.every((e) => handler.handledIds().includes(e.id)),
        () => `the other partitions' runs handled (${elsewhere.filter((e) => handler.handledIds().includes(e.id)).length} of ${elsewhere.length})`,
        FLOW_MS,
      );
      // All of that while the run still fails: none of its events was handled, and its partition counts as paused.
      expect(handler.handledIds().filter((id) => failingRun.some((e) => e.id === id))).toEqual([]);
      expect(await metricSum(service.url, 'coffeebuddy_kafka_paused_partitions{topic="' + topic + '",reason="retry"}')).toBe(1);
      expect(await metricSum(service.url, 'coffeebuddy_kafka_oldest_waiting_event_seconds')).toBeGreaterThan(0);

      failing = false;
      const all = [...failingRun, ...others];
      await waitFor(() => all.every((e) => handler.handledIds().includes(e.id)), 'every event handled once the run recovers', FLOW_MS);
      expect(inOrderOncePerRun(handler.handledIds(), all)).toBe(true);
      expect(handler.handledIds()).toHaveLength(all.length);
      expect(service.logs.withMessage('partition resumed').length).toBeGreaterThanOrEqual(1);
      await waitFor(async () => (await metricSum(service.url, 'coffeebuddy_kafka_paused_partitions')) === 0, 'no partition paused', FLOW_MS);
      await waitFor(async () => (await committedOffsets(env.KAFKA_CONSUMER_GROUP, topic)) === all.length, 'every offset committed', FLOW_MS);
      expect(await readAll(deadLetterTopic(topic))).toEqual([]);
    },
    testTimeout(FLOW_MS, FLOW_MS, FLOW_MS, FLOW_MS, FLOW_MS),
  );

  it(
    'during an outage of every handler\'s dependency (RetryLaterError), waits past the retry budget, dead-letters nothing, and keeps per-run order',
    async () => {
      const budgetMs = 1000;
      const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: PARTITIONS, KAFKA_RETRY_BUDGET_MS: String(budgetMs) };
      const { service, handler, topic } = await start(env);
      let down = true;
      handler.failure = () => (down ? new RetryLaterError(200) : undefined);

      const events = Array.from({ length: 8 }, (_, run) => runOf(`run-${run}`, 4)).flat();
      const placed = await send(topic, events);
      // The outage lasts until some event has failed for three budgets.
      await waitFor(
        () => {
          const first = handler.attempts[0];
          return first && Date.now() - first.start > 3 * budgetMs && handler.attemptsOf(first.event.id).length >= 3;
        },
        'an event failing for three retry budgets',
        FLOW_MS,
      );
      expect(await metricSum(service.url, `coffeebuddy_kafka_paused_partitions{topic="${topic}",reason="outage"}`)).toBeGreaterThanOrEqual(1);
      // An event's first transient failure spends its budget; every later one, with nothing succeeding, is the outage.
      const retried = service.logs.withMessage('run event retried');
      expect(retried.filter((line) => line.attempt === 1).every((line) => line.outage === false)).toBe(true);
      expect(retried.filter((line) => Number(line.attempt) > 1).every((line) => line.outage === true)).toBe(true);
      expect(retried.filter((line) => Number(line.attempt) > 1).length).toBeGreaterThan(0);
      // From now on, each paused partition tries again only its oldest waiting event, not every event behind it.
      const from = handler.attempts.length;
      await waitFor(() => handler.attempts.length >= from + 12, 'more attempts during the outage', FLOW_MS);
      const triedByPartition = new Map<number, Set<string>>();
      for (const { event } of handler.attempts.slice(from)) {
        const partition = placed.get(event.id)!;
        triedByPartition.set(partition, (triedByPartition.get(partition) ?? new Set()).add(event.id));
      }
      expect([...triedByPartition.values()].every((ids) => ids.size === 1)).toBe(true);

      down = false;
      await waitFor(() => events.every((e) => handler.handledIds().includes(e.id)), 'every event handled after the outage', FLOW_MS);
      expect(inOrderOncePerRun(handler.handledIds(), events)).toBe(true);
      await waitFor(async () => (await committedOffsets(env.KAFKA_CONSUMER_GROUP, topic)) === events.length, 'every offset committed', FLOW_MS);
      expect(await readAll(deadLetterTopic(topic))).toEqual([]);
      expect(await metricSum(service.url, 'coffeebuddy_kafka_dead_letters_total')).toBe(0);
    },
    testTimeout(FLOW_MS, FLOW_MS, FLOW_MS, FLOW_MS),
  );

  it(
    'dead-letters an event whose dependency stays unavailable past the outage limit, not at the retry budget',
    async () => {
      const budgetMs = 300;
      const outageLimitMs = 2500;
      const env: Record<string, string> = {
        ...isolatedKafkaEnv(),
        KAFKA_RETRY_BUDGET_MS: String(budgetMs),
        KAFKA_RETRY_OUTAGE_LIMIT_MS: String(outageLimitMs),
      };
      const { service, handler, topic } = await start(env);
      // No delay given: the waits are the usual backoff (20 ms doubling to 100 ms here).
      handler.failure = () => new DependencyUnavailableError('the database answers 503');
      const [event] = runOf('run-database-down', 1);
      await send(topic, [event!]);

      const [letter] = await waitFor(async () => {
        const letters = await readAll(deadLetterTopic(topic));
        return letters.length > 0 && letters;
      }, 'the dead letter', FLOW_MS);
      const attempts = handler.attemptsOf(event!.id);
      // Past the outage limit (the first failure's wait is the budget's), far past the budget.
      expect(attempts[attempts.length - 1]!.start - attempts[0]!.start).toBeGreaterThanOrEqual(outageLimitMs - CLOCK_MS);
      expect(letter!.headers?.[DLQ_HEADERS.kind]?.toString()).toBe('handler_failed');
      expect(letter!.headers?.[DLQ_HEADERS.message]?.toString()).toBe('the database answers 503');
      const retried = service.logs.withMessage('run event retried');
      expect(retried.slice(1).every((line) => line.outage === true)).toBe(true);
      expect(retried.slice(1).every((line) => Number(line.retryInMs) <= 100)).toBe(true);
    },
    testTimeout(FLOW_MS, FLOW_MS),
  );

  it(
    'throwing RetryLaterError while other runs succeed: it spends the ordinary retry budget and is dead-lettered when it runs out',
    async () => {
      const budgetMs = 1500;
      const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: PARTITIONS, KAFKA_RETRY_BUDGET_MS: String(budgetMs) };
      const { service, handler, topic } = await start(env);
      handler.failure = (event) => (event.runId === 'run-rate-limited' ? new RetryLaterError(100) : undefined);

      const [limited, after] = runOf('run-rate-limited', 2);
      await send(topic, [limited!, after!]);
      // Other runs keep succeeding meanwhile.
      let seq = 0;
      while (service.logs.withMessage('run event dead-lettered').length === 0) {
        await send(topic, [orderPlaced(`run-busy-${seq % 5}`, seq)]);
        seq += 1;
        await waitFor(() => handler.handledIds().length >= seq, 'the busy runs to be handled', FLOW_MS);
      }
      const [letter] = service.logs.withMessage('run event dead-lettered');
      expect(letter).toMatchObject({ eventId: limited!.id, reason: 'handler_failed' });
      const attempts = handler.attemptsOf(limited!.id);
      expect(attempts[attempts.length - 1]!.start - attempts[0]!.start).toBeGreaterThanOrEqual(budgetMs - 200 - CLOCK_MS);
      const [dead] = await readAll(deadLetterTopic(topic));
      expect(JSON.parse(dead!.value!.toString()).id).toBe(limited!.id);
      // The run goes on after its dead letter; it is never attempted once its letter is written.
      handler.failure = () => undefined;
      await waitFor(() => handler.handledIds().includes(after!.id), 'the run\'s next event handled', FLOW_MS);
      expect(handler.handledIds()).not.toContain(limited!.id);
    },
    testTimeout(FLOW_MS * 3),
  );

  it(
    'comes back early after kafkajs restarted its crashed consumer (the pause lost with it), and is not attempted before its time',
    async () => {
      const proxy = await FaultProxy.forSuiteBroker();
      const retryAfterMs = 25_000;
      const env = {
        ...isolatedKafkaEnv(`127.0.0.1:${proxy.port}`),
        KAFKA_TOPIC_PARTITIONS: PARTITIONS,
        KAFKA_RETRY_BUDGET_MS: '120000',
      };
      try {
        const { service, handler, topic } = await start(env);
        const [waiting] = runOf('run-waiting', 1);
        handler.failure = (event) => (event.id === waiting!.id && handler.attemptsOf(event.id).length === 1 ? new RetryLaterError(retryAfterMs) : undefined);
        // A success first, so the failure is this run's own trouble, not an outage.
        await send(topic, [orderPlaced('run-first', 0)]);
        await waitFor(() => handler.handledIds().length === 1, 'a first event handled', FLOW_MS);
        await send(topic, [waiting!]);
        await waitFor(() => service.logs.withMessage('partition paused')[0], 'the partition paused', FLOW_MS);
        const failedAt = handler.attemptsOf(waiting!.id)[0]!.start;

        // The broker goes away until the consumer has crashed and kafkajs restarts it.
        proxy.refuseConnections();
        await waitFor(() => service.logs.withMessage('consumer crashed').some((line) => line.restart === true), 'a consumer crash kafkajs restarts from', FLOW_MS);
        const joins = service.logs.withMessage('consumer joined its group').length;
        proxy.pass();
        await waitFor(() => service.logs.withMessage('consumer joined its group').length > joins, 'the restarted consumer to join', FLOW_MS);
        // The restart came before the event was due, so the test shows something.
        expect(Date.now()).toBeLessThan(failedAt + retryAfterMs);
        await waitFor(() => handler.handledIds().includes(waiting!.id), 'the waiting event handled once due', retryAfterMs + FLOW_MS);
        const attempts = handler.attemptsOf(waiting!.id);
        expect(attempts).toHaveLength(2);
        expect(attempts[1]!.start - failedAt).toBeGreaterThanOrEqual(retryAfterMs - CLOCK_MS);
        await service.close();
      } finally {
        await proxy.close();
      }
    },
    testTimeout(PROXY_PORT_WAIT_MS, FLOW_MS, FLOW_MS, FLOW_MS, FLOW_MS, 25_000 + FLOW_MS),
  );
});
