import { KafkaMessage } from 'kafkajs';
import { DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEvent } from '../../src/run-events/run-event.schema';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { FaultProxy, KafkaApi, PROXY_PORT_WAIT_MS } from '../support/fault-proxy';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw, readAll } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';

/**
 * Acknowledgements lost between the service and the broker: the service
 * talks to the broker through a fault proxy, which forwards every request
 * and swallows the broker's answers to Produce requests. Short client
 * timeouts make a lost answer cost seconds.
 */
const FAULT_ENV = { KAFKA_REQUEST_TIMEOUT_MS: '2000', KAFKA_PRODUCER_RETRIES: '1' };

let proxy: FaultProxy | undefined;
const started: TestApp[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) await service.close();
  await proxy?.close();
  proxy = undefined;
});

async function startBehindProxy(handlers = new RecordingHandlers()) {
  proxy = await FaultProxy.forSuiteBroker();
  const env: Record<string, string> = { ...isolatedKafkaEnv(`127.0.0.1:${proxy.port}`), ...FAULT_ENV };
  const service = await startTestApp({
    env,
    override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers),
  });
  started.push(service);
  await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group');
  await producerConnected(service, 'the producer to connect');
  const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
  return { service, proxy, handlers, topic, groupId: env.KAFKA_CONSUMER_GROUP, publisher: service.app.get(KafkaEventPublisher) };
}

const producerConnected = (service: TestApp, what: string) =>
  waitFor(async () => (await metricValue(service.url, 'coffeebuddy_kafka_producer_connected')) === 1, what);

const eventIds = (messages: KafkaMessage[]) => messages.map((message) => (JSON.parse(message.value!.toString()) as RunEvent).id);

describe('lost acknowledgements', () => {
  it('rejects the publish whose answer was lost, and every publish that resolves afterwards is in the topic, in order per run', async () => {
    const { service, proxy, topic, publisher } = await startBehindProxy();
    const runA = Array.from({ length: 6 }, (_, seq) => orderPlaced('run-lost-a', seq));
    const runB = Array.from({ length: 2 }, (_, seq) => orderPlaced('run-lost-b', seq));
    await publisher.publish({ topic, value: runA[0] });

    proxy.dropResponses([KafkaApi.produce]);
    await expect(publisher.publish({ topic, value: runA[1] })).rejects.toThrow();
    expect(proxy.droppedResponses).toBeGreaterThanOrEqual(2); // the send and its retry
    proxy.pass();

    // Same partition and record count as the rejected send (the case kafkajs acknowledged
    // without writing), then other counts and another run.
    const sends: RunEvent[][] = [[runA[2]], [runB[0]], [runA[3], runA[4]], [runA[5]], [runB[1]]];
    const resolved: RunEvent[] = [];
    for (const events of sends) {
      await publisher.publishBatch(events.map((value) => ({ topic, value })));
      resolved.push(...events);
    }

    const inTopic = eventIds(await readAll(topic));
    expect(resolved.map((event) => event.id).filter((id) => !inTopic.includes(id))).toEqual([]);
    // A rejected publish may still have been written: the broker got the request.
    expect(inTopic).toContain(runA[1].id);
    for (const run of [runA, runB]) {
      const expected = [runA[0], ...resolved].filter((event) => run.includes(event)).map((event) => event.id);
      expect(inTopic.filter((id, i) => expected.includes(id) && inTopic.indexOf(id) === i)).toEqual(expected);
    }
    expect(await metricValue(service.url, 'coffeebuddy_kafka_producer_replacements_total')).toBe(1);
    expect(service.logs.withMessage('producer replaced after a failed send')).toHaveLength(1);
    expect(await metricValue(service.url, `coffeebuddy_kafka_produce_failures_total{topic="${topic}"}`)).toBe(1);
  }, PROXY_PORT_WAIT_MS + 90000);

  it('loses no dead letter: each poison message is in the dead-letter topic or still uncommitted, and comes back', async () => {
    const { service, proxy, topic, groupId } = await startBehindProxy();
    const dlq = deadLetterTopic(topic);
    proxy.dropResponses([KafkaApi.produce]);
    const poison = Array.from({ length: 6 }, (_, i) => ({ key: `run-poison-${i % 2}`, value: `not json ${i}` }));
    const placed = await produceRaw(topic, poison);
    const where = placed.map(({ partition, baseOffset }) => `${partition}:${baseOffset}`);

    await waitFor(
      () => service.logs.withMessage('publish failed').some((line) => (line.topics as string[]).includes(dlq)),
      'a dead-letter write to fail while answers are lost',
    );
    await expectEachLetteredOrUncommitted(dlq, topic, groupId, where);

    proxy.pass();
    await waitFor(
      async () => (await metricValue(service.url, `coffeebuddy_kafka_dead_letters_total{topic="${topic}",reason="invalid_json"}`)) >= poison.length,
      'every poison message to be dead-lettered once answers flow again',
      60000,
    );
    const lettered = new Set((await readAll(dlq)).map(origin));
    expect(where.filter((at) => !lettered.has(at))).toEqual([]);
    expect(await metricValue(service.url, 'coffeebuddy_kafka_producer_replacements_total')).toBeGreaterThanOrEqual(1);
  }, PROXY_PORT_WAIT_MS + 120000);
});

const origin = (letter: KafkaMessage) =>
  `${letter.headers?.[DLQ_HEADERS.partition]?.toString()}:${letter.headers?.[DLQ_HEADERS.offset]?.toString()}`;

/** Each poison message (partition:offset) is in the dead-letter topic, or its offset is not committed. */
async function expectEachLetteredOrUncommitted(dlq: string, topic: string, groupId: string, where: string[]) {
  const lettered = new Set((await readAll(dlq)).map(origin));
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = new Map(partitions.map(({ partition, offset }) => [partition, Number(offset)]));
    const lost = where.filter((at) => {
      const [partition, offset] = at.split(':').map(Number);
      return !lettered.has(at) && (committed.get(partition) ?? -1) > offset;
    });
    expect(lost).toEqual([]);
  } finally {
    await admin.disconnect();
  }
}
