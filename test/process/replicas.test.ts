import { RunEvent } from '../../src/run-events/run-event.schema';
import { isolatedKafkaEnv, kafkaClient, orderPlaced } from '../support/kafka';
import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait';
import { Partitioners } from 'kafkajs';

/** Real service processes (`node dist/main.js`) in one consumer group, on the suite's broker. */
async function spawnReplica(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const replica = ServiceProcess.spawn({
    ...env,
    COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
    COFFEEBUDDY_HTTP_PORT: String(port),
    COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: '15000',
  });
  await replica.waitForLine('consumer joined its group', 60000);
  return replica;
}

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

/** Produces the events in chunks, spread over time like real traffic, so signals land mid-stream. */
async function stream(topic: string, events: RunEvent[], chunk = 100, pauseMs = 40): Promise<void> {
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
}

describe('several service processes', () => {
  const replicas: ServiceProcess[] = [];

  afterEach(async () => {
    for (const replica of replicas.splice(0)) {
      replica.kill('SIGKILL');
      await replica.exit();
    }
  });

  it('drains on SIGTERM mid-stream and exits 0; the next process handles the rest, nothing missing or repeated', async () => {
    const env = isolatedKafkaEnv();
    const first = await spawnReplica(env);
    replicas.push(first);
    const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
    const events = Array.from({ length: 4000 }, (_, seq) => orderPlaced(`run-${seq % 40}`, seq));
    const producing = stream(topic, events);

    await waitFor(() => handledIds(first).length >= 800, 'the first process to be mid-stream');
    first.kill('SIGTERM');
    const exit = await first.exit();
    expect(exit.code).toBe(0);
    expect(first.withMessage('shutdown complete')).toHaveLength(1);
    const byFirst = new Set(handledIds(first));
    expect(byFirst.size).toBeLessThan(events.length);

    const second = await spawnReplica(env);
    replicas.push(second);
    await producing;
    await waitFor(() => byFirst.size + handledIds(second).length >= events.length, 'the second process to handle the rest', 60000);

    const bySecond = handledIds(second);
    // Everything the first process handled was committed during its drain: nothing is handled twice.
    expect(bySecond.filter((id) => byFirst.has(id))).toEqual([]);
    const all = new Set([...byFirst, ...bySecond]);
    expect(events.filter((e) => !all.has(e.id))).toEqual([]);
  });

  it('shares partitions between three processes; when one is SIGKILLed the others take over, nothing missing', async () => {
    const env = isolatedKafkaEnv();
    const group = [await spawnReplica(env), await spawnReplica(env), await spawnReplica(env)];
    replicas.push(...group);
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
      60000,
    );

    const events = Array.from({ length: 6000 }, (_, seq) => orderPlaced(`run-${seq % 60}`, seq));
    const producing = stream(topic, events);
    const [victim, ...survivors] = group;
    await waitFor(() => handledIds(victim).length >= 300, 'the victim to be mid-stream');
    victim.kill('SIGKILL');
    expect((await victim.exit()).signal).toBe('SIGKILL');
    await producing;

    // Wait on the commits, not on the lines: a committed event whose line was lost would never be handled again.
    await waitFor(() => everyOffsetCommitted(env.KAFKA_CONSUMER_GROUP, topic), 'the group to commit every offset of the topic', 90000);
    const handledBy = () => [victim, ...survivors].flatMap(handledIds);
    await waitFor(() => new Set(handledBy()).size >= events.length, 'a "run event handled" line for every event in some output', 15000);
    const all = handledBy();
    expect(events.filter((e) => !new Set(all).has(e.id))).toEqual([]);

    // Re-deliveries: events the victim handled but had not committed, handled again by a survivor.
    const byVictim = new Set(handledIds(victim));
    const bySurvivors = survivors.flatMap(handledIds);
    const redelivered = bySurvivors.filter((id) => byVictim.has(id));
    expect(all.length - new Set(all).size).toBe(redelivered.length);
    expect(new Set(bySurvivors).size).toBe(bySurvivors.length);
    expect(survivors.every((replica) => handledIds(replica).length > 0)).toBe(true);
  });
});
