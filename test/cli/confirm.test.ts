import { CliIo } from '../../src/cli/cli-io';
import { runCli } from '../../src/cli/run-cli';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter-writer';
import { deadLetterTopic, RUN_EVENTS_TOPIC, TopicRegistry } from '../../src/kafka/topics';
import { parseSettings } from '../../src/runtime/settings';
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
