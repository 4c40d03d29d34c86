import { CliIo } from '../../src/cli/cli-io';
import { runCli } from '../../src/cli/run-cli';
import { DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { parseSettings } from '../../src/settings';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw } from '../support/kafka';

/** A terminal whose person answers `answer`, with what was asked and written kept. */
function terminal(answer: boolean) {
  const io = {
    out: [] as string[],
    err: [] as string[],
    questions: [] as string[],
  };
  const cliIo: CliIo = {
    out: (line) => io.out.push(line),
    err: (line) => io.err.push(line),
    interactive: true,
    confirm: async (question) => {
      io.questions.push(question);
      return answer;
    },
  };
  return { io, cliIo };
}

describe('dead-letters replay at a terminal', () => {
  it('asks first, sends nothing when the answer is no, and replays when it is yes', async () => {
    const env = isolatedKafkaEnv();
    const topic = new TopicRegistry(env.KAFKA_TOPIC_PREFIX).resolve(RUN_EVENTS_TOPIC);
    const admin = kafkaClient().admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic }, { topic: deadLetterTopic(topic) }] });
    const event = orderPlaced('run-ask', 1);
    await produceRaw(deadLetterTopic(topic), [
      {
        key: event.runId,
        value: JSON.stringify(event),
        headers: { [DLQ_HEADERS.kind]: 'handler_failed', [DLQ_HEADERS.topic]: topic, [DLQ_HEADERS.failedAt]: new Date().toISOString() },
      },
    ]);
    const settings = () => parseSettings(env);
    const size = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0);

    const no = terminal(false);
    expect(await runCli(['dead-letters', 'replay'], no.cliIo, settings)).toBe(1);
    expect(no.io.questions).toEqual([`Replay 1 dead letter(s) from ${deadLetterTopic(topic)}?`]);
    expect(no.io.err).toEqual(['replay cancelled, nothing was sent']);
    expect(await size()).toBe(0);

    const yes = terminal(true);
    expect(await runCli(['dead-letters', 'replay'], yes.cliIo, settings)).toBe(0);
    expect(yes.io.out).toEqual([`replayed 1 of 1 letter(s) from ${deadLetterTopic(topic)}`]);
    expect(await size()).toBe(1);
    await admin.disconnect();
  }, 60_000);
});

describe('dead-letters replay that cannot send everything', () => {
  it('sends what it can, holds back the rest of a failed run, names what did not go out, exits 1, and can retry them', async () => {
    const env = isolatedKafkaEnv();
    const topic = new TopicRegistry(env.KAFKA_TOPIC_PREFIX).resolve(RUN_EVENTS_TOPIC);
    const dlq = deadLetterTopic(topic);
    const admin = kafkaClient().admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic }, { topic: dlq }] });
    const gone = `${topic}-deleted`;
    const letter = (runId: string, seq: number, original?: string) => ({
      key: runId,
      value: JSON.stringify(orderPlaced(runId, seq)),
      headers: {
        [DLQ_HEADERS.kind]: 'handler_failed',
        [DLQ_HEADERS.failedAt]: new Date().toISOString(),
        ...(original ? { [DLQ_HEADERS.topic]: original } : {}),
      },
    });
    // run-x: its first letter's topic is gone, so its second must wait; run-y goes out.
    const placed = await produceRaw(dlq, [letter('run-x', 1, gone), letter('run-y', 1, topic), letter('run-x', 2, topic), letter('run-z', 1)]);
    const [x1, , x2, z1] = placed.map((p) => `${p.partition}:${p.baseOffset}`);
    const settings = () => parseSettings(env);
    const size = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0);

    const { io, cliIo } = terminal(true);
    await expect(runCli(['dead-letters', 'replay', '--yes'], cliIo, settings)).rejects.toThrow(
      new RegExp(`^3 letter\\(s\\) did not go out: (${[x1, x2, z1].join('|')}), (${[x1, x2, z1].join('|')}), (${[x1, x2, z1].join('|')})$`),
    );
    expect(io.out).toEqual([`replayed 1 of 4 letter(s) from ${dlq}`]);
    expect(io.err).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^not replayed: ${x1} handler_failed event .* to ${gone}: `)),
        expect.stringMatching(new RegExp(`^not replayed: ${x2} .*: not sent: an earlier letter of its run failed$`)),
        expect.stringMatching(new RegExp(`^not replayed: ${z1} .*: the letter has no dlq.original.topic header$`)),
      ]),
    );
    expect(await size()).toBe(1);

    // Nothing that failed was marked: once the topic is back, the same command sends run-x in order.
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: gone }] });
    const retry = terminal(true);
    await expect(runCli(['dead-letters', 'replay', '--yes'], retry.cliIo, settings)).rejects.toThrow(`1 letter(s) did not go out: ${z1}`);
    expect(retry.io.out).toEqual([`replayed 2 of 3 letter(s) from ${dlq} (1 matching letter(s) already replayed, skipped)`]);
    expect(await size()).toBe(2);
    await admin.disconnect();
  }, 90_000);
});

describe('a long dead-letters replay', () => {
  it('prints its progress every 100 letters', async () => {
    const env = isolatedKafkaEnv();
    const topic = new TopicRegistry(env.KAFKA_TOPIC_PREFIX).resolve(RUN_EVENTS_TOPIC);
    const admin = kafkaClient().admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic }, { topic: deadLetterTopic(topic) }] });
    const headers = { [DLQ_HEADERS.kind]: 'handler_failed', [DLQ_HEADERS.topic]: topic, [DLQ_HEADERS.failedAt]: new Date().toISOString() };
    const producer = kafkaClient().producer();
    await producer.connect();
    const letters = Array.from({ length: 201 }, (_, seq) => orderPlaced(`run-${seq % 7}`, seq));
    await producer.send({
      topic: deadLetterTopic(topic),
      acks: -1,
      messages: letters.map((event) => ({ key: event.runId, value: JSON.stringify(event), headers })),
    });
    await producer.disconnect();

    const { io, cliIo } = terminal(true);
    expect(await runCli(['dead-letters', 'replay', '--yes'], cliIo, () => parseSettings(env))).toBe(0);
    expect(io.err).toEqual(['progress: 100/201', 'progress: 200/201']);
    expect(io.out).toEqual([`replayed 201 of 201 letter(s) from ${deadLetterTopic(topic)}`]);
    expect((await admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0)).toBe(201);
    await admin.disconnect();
  }, 90_000);
});
