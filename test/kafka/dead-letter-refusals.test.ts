import { randomUUID } from 'node:crypto';
import { KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaMessage, Partitioners } from 'kafkajs';
import { DeadLetterWriter, DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { KafkaProducer } from '../../src/kafka/kafka-producer';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw, readTopic } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp, TestAppOptions } from '../support/test-app';
import { waitFor } from '../support/wait';

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();

const started: TestApp[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) await service.close();
});

async function startWithRecorder(env: Record<string, string>, override?: TestAppOptions['override']) {
  const handlers = new RecordingHandlers();
  const service = await startTestApp({
    env: { KAFKA_RETRY_BUDGET_MS: '1000', ...env },
    override: (builder) => (override ? override(builder) : builder).overrideProvider(RunEventHandlers).useValue(handlers),
  });
  started.push(service);
  await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the consumer to join its group');
  const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
  return { service, handlers, topic };
}

/**
 * The producer the real DeadLetterWriter writes through, refusing sends to a
 * dead-letter topic as the broker does when the service may not write there,
 * while `refusals` lasts (Infinity: until told otherwise).
 */
class RefusingDeadLetterTopic {
  refusals = 0;
  constructor(private readonly producer: KafkaProducer) {}

  writer(): DeadLetterWriter {
    const send: KafkaProducer['send'] = async (topicMessages) => {
      if (this.refusals > 0 && topicMessages.some(({ topic }) => topic.endsWith('.dlq'))) {
        this.refusals -= 1;
        // What kafkajs' retrier throws when the broker answers TOPIC_AUTHORIZATION_FAILED (code 29, not retriable).
        const refusal = Object.assign(new KafkaJSProtocolError('Not authorized to access topics: [Topic authorization failed]'), {
          type: 'TOPIC_AUTHORIZATION_FAILED',
          code: 29,
          retriable: false,
        });
        throw Object.assign(new KafkaJSNonRetriableError(refusal), { cause: refusal });
      }
      return this.producer.send(topicMessages);
    };
    return new DeadLetterWriter({ send } as KafkaProducer);
  }
}

function refusingDeadLetters(): { refusing: () => RefusingDeadLetterTopic; override: TestAppOptions['override'] } {
  let refusing: RefusingDeadLetterTopic | undefined;
  return {
    refusing: () => refusing!,
    override: (builder) =>
      builder.overrideProvider(DeadLetterWriter).useFactory({
        factory: (producer: KafkaProducer) => (refusing = new RefusingDeadLetterTopic(producer)).writer(),
        inject: [KafkaProducer],
      }),
  };
}

const refusalsMetric = (service: TestApp, topic: string) =>
  metricValue(service.url, `coffeebuddy_kafka_dead_letter_refusals_total{topic="${topic}",error="TOPIC_AUTHORIZATION_FAILED"}`);

describe('a dead-letter topic that refuses a write', () => {
  it('writes a letter too large for the dead-letter topic without its value, pointing at the original', async () => {
    const env = isolatedKafkaEnv();
    const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: deadLetterTopic(topic), numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }],
      });
    } finally {
      await admin.disconnect();
    }
    const { service, handlers } = await startWithRecorder(env);
    const big = Buffer.alloc(2048, 'z');
    const after = orderPlaced('run-big', 1);
    const placed = await produceRaw(topic, [
      { key: 'run-big', value: big },
      { key: 'run-big', value: JSON.stringify(after) },
    ]);

    await waitFor(() => handlers.handledIds().includes(after.id), 'the event after the oversized poison message', 30000);
    const [letter] = await readTopic(deadLetterTopic(topic), 1);
    expect(letter.value).toBeNull();
    expect(letter.key?.toString()).toBe('run-big');
    expect(header(letter, DLQ_HEADERS.valueOmitted)).toContain('MESSAGE_TOO_LARGE');
    expect(header(letter, DLQ_HEADERS.valueBytes)).toBe('2048');
    expect(header(letter, DLQ_HEADERS.kind)).toBe('invalid_json');
    expect(header(letter, DLQ_HEADERS.topic)).toBe(topic);
    expect(header(letter, DLQ_HEADERS.partition)).toBe(String(placed[0].partition));
    expect(header(letter, DLQ_HEADERS.offset)).toBe(placed[0].baseOffset);
    expect(service.logs.withMessage('run event dead-lettered')).toHaveLength(1);
    expect(service.logs.withMessage('dead-letter write refused, partition paused')).toHaveLength(0);
    expect(service.logs.withMessage('consumer crashed')).toHaveLength(0);
  }, 60000);

  it('pauses only its partition while the other partitions keep flowing, then writes the letter and resumes', async () => {
    const { refusing, override } = refusingDeadLetters();
    const { service, handlers, topic } = await startWithRecorder(isolatedKafkaEnv(), override);
    refusing().refusals = Infinity;
    const poison = `not json ${randomUUID()}`;
    const blocked = orderPlaced('run-blocked', 1);
    const [poisonPlaced] = await produceRaw(topic, [
      { key: 'run-blocked', value: poison },
      { key: 'run-blocked', value: JSON.stringify(blocked) },
    ]);
    // Events of other runs; those on another partition than the poison message must be handled meanwhile.
    const others = Array.from({ length: 12 }, (_, seq) => orderPlaced(`run-other-${seq}`, seq));
    const othersPlaced = await produceRaw(topic, others.map((e) => ({ key: e.runId, value: JSON.stringify(e) })));
    const elsewhere = others.filter((_, i) => othersPlaced[i].partition !== poisonPlaced.partition).map((e) => e.id);
    expect(elsewhere.length).toBeGreaterThan(0);

    await waitFor(() => elsewhere.every((id) => handlers.handledIds().includes(id)), 'the events on the other partitions handled', 30000);
    await waitFor(async () => (await refusalsMetric(service, topic)) >= 3, 'three refusals counted while retrying', 30000);
    expect(handlers.handledIds()).not.toContain(blocked.id);
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    expect(await metricValue(service.url, `coffeebuddy_kafka_paused_partitions{topic="${topic}",reason="dead_letter_refused"}`)).toBe(1);
    // Logged once for the change of state, not once per refusal.
    const paused = service.logs.withMessage('dead-letter write refused, partition paused');
    expect(paused).toHaveLength(1);
    expect(paused[0]).toMatchObject({ partition: poisonPlaced.partition, offset: Number(poisonPlaced.baseOffset), error: 'TOPIC_AUTHORIZATION_FAILED' });
    expect(service.logs.withMessage('dead-letter write still refused')).toHaveLength(0);

    refusing().refusals = 0;
    await waitFor(() => handlers.handledIds().includes(blocked.id), 'the event behind the poison message handled after the resume', 45000);
    const letters = await readTopic(deadLetterTopic(topic), 1);
    expect(letters.map((l) => l.value?.toString())).toEqual([poison]);
    expect(service.logs.withMessage('dead-letter write accepted')).toHaveLength(1);
    expect(service.logs.withMessage('partition resumed')).toHaveLength(1);
    expect(service.logs.withMessage('run event dead-lettered')).toHaveLength(1);
    expect(await metricValue(service.url, `coffeebuddy_kafka_paused_partitions{topic="${topic}",reason="dead_letter_refused"}`)).toBe(0);
    expect(service.logs.withMessage('consumer crashed')).toHaveLength(0);
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
  }, 120000);

  it('two letters of different runs refused at once in one batch: one pause, the second refusal counted and logged, both written after the resume', async () => {
    const { refusing, override } = refusingDeadLetters();
    const { service, topic } = await startWithRecorder({ ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: '1' }, override);
    refusing().refusals = Infinity;
    const poisons = [`not json ${randomUUID()}`, `not json ${randomUUID()}`];
    // One request: both land in one fetch, and their runs' lanes write their letters at the same time.
    const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'run-a', value: poisons[0] }, { key: 'run-b', value: poisons[1] }], acks: -1 });
    } finally {
      await producer.disconnect();
    }

    await waitFor(() => service.logs.withMessage('dead-letter write refused, partition already paused').length > 0, 'the second refusal logged', 30000);
    expect(service.logs.withMessage('dead-letter write refused, partition paused')).toHaveLength(1);
    expect(service.logs.withMessage('dead-letter write refused, partition already paused')).toEqual([
      expect.objectContaining({ offset: 1, error: 'TOPIC_AUTHORIZATION_FAILED', level: 'error' }),
    ]);
    expect(await refusalsMetric(service, topic)).toBeGreaterThanOrEqual(2);
    expect(await metricValue(service.url, `coffeebuddy_kafka_paused_partitions{topic="${topic}",reason="dead_letter_refused"}`)).toBe(1);

    refusing().refusals = 0;
    const letters = await readTopic(deadLetterTopic(topic), 2);
    expect(letters.map((l) => l.value?.toString()).sort()).toEqual([...poisons].sort());
    await waitFor(() => service.logs.withMessage('run event dead-lettered').length === 2, 'both letters recorded', 30000);
    expect(await metricValue(service.url, `coffeebuddy_kafka_paused_partitions{topic="${topic}",reason="dead_letter_refused"}`)).toBe(0);
  }, 120000);

  it('a handler failure followed by a failed dead-letter write: the letter is written once, the handler is not run again', async () => {
    const { refusing, override } = refusingDeadLetters();
    const { service, handlers, topic } = await startWithRecorder(isolatedKafkaEnv(), override);
    refusing().refusals = 2;
    const broken = orderPlaced('run-broken', 1);
    const after = orderPlaced('run-broken', 2);
    handlers.failWith(broken.id, () => new Error('always broken'));
    await produceRaw(topic, [broken, after].map((e) => ({ key: e.runId, value: JSON.stringify(e) })));

    await waitFor(() => handlers.handledIds().includes(after.id), 'the event after the failing one', 45000);
    // The attempts made before the retry budget ran out, and none after the refused write.
    const attempts = handlers.attempts.get(broken.id)!;
    expect(attempts).toBeGreaterThanOrEqual(2);
    const letters = await readTopic(deadLetterTopic(topic), 1);
    expect(letters.map((l) => [JSON.parse(l.value!.toString()).id, header(l, DLQ_HEADERS.kind), header(l, DLQ_HEADERS.attempts)])).toEqual([
      [broken.id, 'handler_failed', String(attempts)],
    ]);
    expect(await refusalsMetric(service, topic)).toBe(2);
    expect(service.logs.withMessage('run event dead-lettered').map((line) => line.eventId)).toEqual([broken.id]);
    expect(service.logs.withMessage('dead-letter write accepted')).toHaveLength(1);
    expect(service.logs.withMessage('partition resumed').length).toBeGreaterThanOrEqual(1);
  }, 90000);
});

describe('dead-letter contents', () => {
  it('original headers kept in a dead letter, and a null key', async () => {
    const { handlers, topic } = await startWithRecorder(isolatedKafkaEnv());
    const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const after = orderPlaced('run-headers', 1);
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: null, value: 'not json', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-origin': 'slack' } }],
      });
      await producer.send({ topic, acks: -1, messages: [{ key: after.runId, value: JSON.stringify(after) }] });
    } finally {
      await producer.disconnect();
    }
    const [letter] = await readTopic(deadLetterTopic(topic), 1);
    expect(letter.key).toBeNull();
    expect(letter.value?.toString()).toBe('not json');
    expect(header(letter, 'traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(header(letter, 'x-origin')).toBe('slack');
    expect(header(letter, DLQ_HEADERS.kind)).toBe('invalid_json');
    await waitFor(() => handlers.handledIds().includes(after.id), 'the event after the poison message');
  }, 60000);
});
