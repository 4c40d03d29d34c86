import { RunEvent } from '../../src/run-events/run-event.schema';
import { onCleanup } from '../support/cleanup';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceInChunks } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { testTimeout, waitFor } from '../support/wait';
import { Partitioners } from 'kafkajs';

const JOIN_MS = 60_000;
const MID_STREAM_MS = 30_000;
const DRAIN_EXIT_MS = 30_000;
const KILL_EXIT_MS = 10_000;
const TAKE_OVER_MS = 180_000;
const LINES_MS = 15_000;

/**
 * Real service processes (`node dist/main.js`) in one consumer group, on the
 * suite's broker. Each joins the cleanup registry as soon as it is spawned.
 */
async function spawnReplica(env: Record<string, string>, options: { handlerMs?: number } = {}): Promise<ServiceProcess> {
  const port = await freePort();
  const replica = ServiceProcess.spawn(
    {
      ...env,
      COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
      COFFEEBUDDY_HTTP_PORT: String(port),
      COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: '15000',
    },
    options,
  );
  await replica.waitForLine('consumer joined its group', JOIN_MS);
  return replica;
}

const urlOf = (replica: ServiceProcess) => `http://127.0.0.1:${replica.env.COFFEEBUDDY_HTTP_PORT}`;

const handledIds = (replica: ServiceProcess) => replica.withMessage('run event handled').map((line) => line.eventId as string);

/** True when the group's committed offset of every partition of the topic is at its high watermark. */
async function everyOffsetCommitted(groupId: string, topic: string): Promise<boolean> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return ends.every(({ partition, high }) => committed.partitions.find((p) => p.partition === partition)?.offset === high);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces the events in chunks, spread over time like real traffic, so
 * signals land mid-stream. The cleanup waits for it to end, so a failed test
 * leaves no producer behind.
 */
function stream(topic: string, events: RunEvent[], chunk = 100, pauseMs = 40): Promise<void> {
  const producing = (async () => {
    const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      for (let i = 0; i < events.length; i += chunk) {
        const messages = events.slice(i, i + chunk).map((e) => ({ key: e.runId, value: JSON.stringify(e) }));
        await producer.send({ topic, messages, acks: -1 });
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    } finally {
      await producer.disconnect();
    }
  })();
  onCleanup(`stream of ${events.length} events to ${topic}`, () => producing.catch(() => undefined));
  return producing;
}

describe('several service processes', () => {
  it(
    'drains on SIGTERM mid-stream and exits 0; the next process handles the rest, nothing missing or repeated',
    async () => {
      const env = isolatedKafkaEnv();
      const first = await spawnReplica(env);
      const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
      const events = Array.from({ length: 4000 }, (_, seq) => orderPlaced(`run-${seq % 40}`, seq));
      // The second half is produced only once the first process is gone: it cannot handle everything.
      const [before, after] = [events.slice(0, 2000), events.slice(2000)];
      const producing = stream(topic, before);

      await waitFor(() => handledIds(first).length >= 800, 'the first process to be mid-stream', MID_STREAM_MS);
      first.kill('SIGTERM');
      const exit = await first.waitForExit('SIGTERM', DRAIN_EXIT_MS);
      expect(exit.code).toBe(0);
      expect(first.withMessage('shutdown complete')).toHaveLength(1);
      const byFirst = new Set(handledIds(first));

      const second = await spawnReplica(env);
      await producing;
      await stream(topic, after);
      await waitFor(
        () => byFirst.size + handledIds(second).length >= events.length,
        () => `the second process to handle the rest (${byFirst.size} + ${handledIds(second).length} of ${events.length})`,
        TAKE_OVER_MS,
      );

      const bySecond = handledIds(second);
      // Everything the first process handled was committed during its drain: nothing is handled twice.
      expect(bySecond.filter((id) => byFirst.has(id))).toEqual([]);
      const all = new Set([...byFirst, ...bySecond]);
      expect(events.filter((e) => !all.has(e.id))).toEqual([]);
    },
    testTimeout(JOIN_MS, MID_STREAM_MS, DRAIN_EXIT_MS, JOIN_MS, TAKE_OVER_MS),
  );

  it(
    'shares partitions between three processes; when one is SIGKILLed the others take over, nothing missing',
    async () => {
      const env = isolatedKafkaEnv();
      const group = [await spawnReplica(env), await spawnReplica(env), await spawnReplica(env)];
      const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
      // Every process holds at least one partition before the stream starts.
      await waitFor(
        () =>
          group.every((replica) => {
            const joins = replica.withMessage('consumer joined its group');
            const assignment = joins[joins.length - 1]?.assignment ?? {};
            return Object.values(assignment).some((partitions) => (partitions as number[]).length > 0);
          }),
        'all three processes to hold partitions',
        JOIN_MS,
      );

      const events = Array.from({ length: 6000 }, (_, seq) => orderPlaced(`run-${seq % 60}`, seq));
      const producing = stream(topic, events);
      const [victim, ...survivors] = group;
      await waitFor(() => handledIds(victim).length >= 300, 'the victim to be mid-stream', MID_STREAM_MS);
      victim.kill('SIGKILL');
      expect((await victim.waitForExit('SIGKILL', KILL_EXIT_MS)).signal).toBe('SIGKILL');
      await producing;

      const handledBy = () => [victim, ...survivors].flatMap(handledIds);
      // Wait on the commits, not on the lines: a committed event whose line was lost would never be handled again.
      await waitFor(
        () => everyOffsetCommitted(env.KAFKA_CONSUMER_GROUP, topic),
        () => `the survivors to take over and commit every offset (${new Set(handledBy()).size} of ${events.length} events handled; by survivor: ${survivors.map((r) => handledIds(r).length).join(', ')})`,
        TAKE_OVER_MS,
      );
      // Every committed event has its "run event handled" line in some process's output, the victim's included.
      await waitFor(() => new Set(handledBy()).size >= events.length, 'a "run event handled" line for every event in some output', LINES_MS);
      const all = new Set(handledBy());
      expect(events.filter((e) => !all.has(e.id))).toEqual([]);

      // At least once across processes (the victim's uncommitted events come back, and so may a partition
      // that moves between survivors in the rebalance), but never twice within one process: its dedupe window.
      for (const replica of group) expect(new Set(handledIds(replica)).size).toBe(handledIds(replica).length);
      expect(survivors.every((replica) => handledIds(replica).length > 0)).toBe(true);
    },
    testTimeout(JOIN_MS * 3, JOIN_MS, MID_STREAM_MS, KILL_EXIT_MS, TAKE_OVER_MS, LINES_MS),
  );

  it(
    'SIGKILLed with 64 handlers in flight, a second process handles the rest: nothing missing, every event has its line',
    async () => {
      const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_MAX_IN_FLIGHT: '64' };
      const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
      const handlerMs = 10;
      const first = await spawnReplica(env, { handlerMs });
      const events = Array.from({ length: 20_000 }, (_, seq) => orderPlaced(`run-${seq % 1000}`, seq));
      const producing = produceInChunks(topic, events.length, (seq) => events[seq]);
      onCleanup('backlog producer', () => producing.catch(() => undefined));

      // The kill lands while many handlers run at once, some of their offsets resolved and others not.
      let inFlightAtKill = 0;
      await waitFor(
        async () => {
          inFlightAtKill = await metricValue(urlOf(first), 'coffeebuddy_kafka_handlers_in_flight');
          return handledIds(first).length >= 2000 && inFlightAtKill >= 32;
        },
        () => `the first process to be mid-stream with at least 32 handlers running (${handledIds(first).length} handled, ${inFlightAtKill} in flight)`,
        MID_STREAM_MS,
        20,
      );
      first.kill('SIGKILL');
      expect((await first.waitForExit('SIGKILL', KILL_EXIT_MS)).signal).toBe('SIGKILL');
      expect(handledIds(first).length).toBeLessThan(events.length);
      await producing;

      const second = await spawnReplica(env, { handlerMs });
      const handledBy = () => [first, second].flatMap(handledIds);
      await waitFor(
        () => everyOffsetCommitted(env.KAFKA_CONSUMER_GROUP, topic),
        () => `the second process to commit every offset (${new Set(handledBy()).size} of ${events.length} events handled)`,
        TAKE_OVER_MS,
      );
      // Every committed event has its "run event handled" line, the ones the killed process committed included.
      await waitFor(() => new Set(handledBy()).size >= events.length, 'a "run event handled" line for every event in some output', LINES_MS);
      const all = new Set(handledBy());
      expect(events.filter((e) => !all.has(e.id))).toEqual([]);
      for (const replica of [first, second]) expect(new Set(handledIds(replica)).size).toBe(handledIds(replica).length);
      expect(handledIds(second).length).toBeGreaterThan(0);
      console.info(`SIGKILL with ${inFlightAtKill} handlers in flight after ${handledIds(first).length} events; the second process handled ${handledIds(second).length}`);
    },
    testTimeout(JOIN_MS, MID_STREAM_MS, KILL_EXIT_MS, JOIN_MS, TAKE_OVER_MS, LINES_MS),
  );
});
