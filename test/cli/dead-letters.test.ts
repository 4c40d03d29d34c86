import { randomUUID } from 'node:crypto';
import { DLQ_HEADERS } from '../../src/run-events/dead-letter-writer';
import { deadLetterTopic, TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { replayMarkerTopic } from '../../src/cli/dead-letter-store';
import { isOneLine, runCliProcess } from '../support/cli-process';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceRaw, readTopic } from '../support/kafka';

const MINUTE = 60_000;

/**
 * Letters as the service writes them, straight into the dead-letter topic,
 * with chosen failure times. Runs a and b each keep to one partition.
 */
async function seedLetters(env: Record<string, string>) {
  const topic = new TopicRegistry(env.KAFKA_TOPIC_PREFIX).resolve(RUN_EVENTS_TOPIC);
  const dlq = deadLetterTopic(topic);
  const admin = kafkaClient().admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [topic, dlq].map((name) => ({ topic: name, numPartitions: 3 })) });
  await admin.disconnect();
  const now = Date.now();
  const a1 = orderPlaced('run-a', 1);
  const b1 = orderPlaced('run-b', 1);
  const a2 = orderPlaced('run-a', 2);
  const invalid = { ...orderPlaced('run-c', 1), payload: {} };
  const letter = (value: string, kind: string, agoMs: number, error: string, key: string) => ({
    key,
    value,
    headers: {
      [DLQ_HEADERS.kind]: kind,
      [DLQ_HEADERS.message]: error,
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: '0',
      [DLQ_HEADERS.offset]: '0',
      [DLQ_HEADERS.attempts]: kind === 'handler_failed' ? '5' : '1',
      [DLQ_HEADERS.failedAt]: new Date(now - agoMs).toISOString(),
    },
  });
  const seeded = [
    { name: 'a1', event: a1, ...letter(JSON.stringify(a1), 'handler_failed', 120 * MINUTE, 'timeout\nat line 2', a1.runId) },
    { name: 'b1', event: b1, ...letter(JSON.stringify(b1), 'handler_permanent_failure', 10 * MINUTE, 'run deleted', b1.runId) },
    { name: 'bad', event: undefined, ...letter('{"id": not json', 'invalid_json', 5 * MINUTE, 'value is not JSON', 'run-c') },
    { name: 'a2', event: a2, ...letter(JSON.stringify(a2), 'handler_failed', 1 * MINUTE, 'timeout', a2.runId) },
    { name: 'invalid', event: invalid, ...letter(JSON.stringify(invalid), 'schema_invalid', 0, 'payload.orderId: required', 'run-c') },
  ];
  const placed = await produceRaw(dlq, seeded);
  const refs = Object.fromEntries(seeded.map((s, i) => [s.name, `${placed[i].partition}:${placed[i].baseOffset}`]));
  const failedAt = Object.fromEntries(seeded.map((s) => [s.name, s.headers[DLQ_HEADERS.failedAt]]));
  return { topic, dlq, refs, failedAt, a1, b1, a2, invalid };
}

async function offsetsOf(topic: string): Promise<string> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    return JSON.stringify(await admin.fetchTopicOffsets(topic));
  } finally {
    await admin.disconnect();
  }
}

const lines = (text: string) => text.trim().split('\n');

describe('dead-letters on the real broker', () => {
  const env = isolatedKafkaEnv();
  let seeded: Awaited<ReturnType<typeof seedLetters>>;
  const cli = (...args: string[]) => runCliProcess(args, env);

  beforeAll(async () => {
    seeded = await seedLetters(env);
  }, 60_000);

  it('lists every letter with its fields, then a count per reason', async () => {
    const { refs, failedAt, a1, invalid } = seeded;
    const run = await cli('dead-letters', 'list');
    expect(run).toMatchObject({ code: 0 }); // on failure, shows the tool's stderr
    const out = lines(run.stdout);
    expect(out).toHaveLength(6);
    // Dead-letter order within a partition; every letter once.
    expect(out.slice(0, 5).map((line) => line.split('  ')[0]).sort()).toEqual(Object.values(refs).sort());
    // The first line of the error only.
    expect(out).toContain(`${refs.a1}  ${failedAt.a1}  handler_failed  ${a1.id}  run.order_placed  run-a  attempts=5  timeout`);
    expect(out.find((line) => line.startsWith(refs.bad))).toMatch(/ {2}invalid_json {2}- {2}- {2}- {2}attempts=1 {2}value is not JSON$/);
    expect(out.find((line) => line.startsWith(refs.invalid))).toContain(`schema_invalid  ${invalid.id}  run.order_placed  run-c`);
    expect(out.indexOf(out.find((l) => l.startsWith(refs.a1))!)).toBeLessThan(out.indexOf(out.find((l) => l.startsWith(refs.a2))!));
    expect(out[5]).toBe(
      `5 dead letter(s) in ${seeded.dlq}: handler_failed 2, handler_permanent_failure 1, invalid_json 1, schema_invalid 1`,
    );
  }, 60_000);

  it('selects exactly what --reason, --since and --limit say, also as JSON', async () => {
    const { refs } = seeded;
    const byReason = await cli('dead-letters', 'list', '--reason', 'invalid_json', '--reason', 'schema_invalid', '--json');
    const json = JSON.parse(byReason.stdout);
    expect(json.letters.map((l: { ref: string }) => l.ref).sort()).toEqual([refs.bad, refs.invalid].sort());
    expect(json.byReason).toEqual({ invalid_json: 1, schema_invalid: 1 });

    const since = JSON.parse((await cli('dead-letters', 'list', '--since', '30m', '--json')).stdout);
    expect(since.letters.map((l: { ref: string }) => l.ref).sort()).toEqual([refs.b1, refs.bad, refs.a2, refs.invalid].sort());
    const sinceIso = new Date(Date.now() - 7 * MINUTE).toISOString();
    const iso = JSON.parse((await cli('dead-letters', 'list', '--since', sinceIso, '--json')).stdout);
    expect(iso.letters.map((l: { ref: string }) => l.ref).sort()).toEqual([refs.bad, refs.a2, refs.invalid].sort());

    const limited = await cli('dead-letters', 'list', '--limit', '2');
    expect(lines(limited.stdout)).toHaveLength(3);
    expect(lines(limited.stdout)[2]).toMatch(/^5 dead letter\(s\) in \S+ \(showing the last 2\): /);
  }, 60_000);

  it('shows a whole letter by partition:offset and by event id', async () => {
    const { refs, b1 } = seeded;
    const byRef = await cli('dead-letters', 'show', refs.b1);
    expect(byRef).toMatchObject({ code: 0 }); // on failure, shows the tool's stderr
    expect(byRef.stdout).toContain(`dead letter ${refs.b1}\nheaders:\n  dlq.error.kind: handler_permanent_failure\n`);
    expect(byRef.stdout).toContain('  dlq.error.message: run deleted\n');
    expect(byRef.stdout).toContain(`key: run-b\nvalue:\n${JSON.stringify(b1, null, 2)}`);
    const byId = await cli('dead-letters', 'show', b1.id);
    expect(byId.stdout).toBe(byRef.stdout);
  }, 60_000);

  it('replays with --dry-run nothing, then each selected letter once, runs in dead-letter order', async () => {
    const { topic, refs, a1, a2, b1, invalid } = seeded;
    const before = await offsetsOf(topic);

    const dry = await cli('dead-letters', 'replay', '--dry-run');
    expect(dry).toMatchObject({ code: 0 }); // on failure, shows the tool's stderr
    // Only handler failures by default.
    expect(lines(dry.stdout).slice(0, -1).map((line) => line.split(' ')[2]).sort()).toEqual([refs.a1, refs.b1, refs.a2].sort());
    expect(lines(dry.stdout).at(-1)).toBe('dry run: 3 letter(s) would be replayed; nothing was sent');
    expect(await offsetsOf(topic)).toBe(before);
    const admin = kafkaClient().admin();
    await admin.connect();
    expect(await admin.listTopics()).not.toContain(replayMarkerTopic(seeded.dlq));
    await admin.disconnect();

    const refused = await cli('dead-letters', 'replay');
    expect(refused.code).toBe(1);
    expect(isOneLine(refused.stderr)).toBe(true);
    expect(refused.stderr).toContain('refusing to replay 3 letter(s) without confirmation: no terminal to ask on; pass --yes');
    expect(await offsetsOf(topic)).toBe(before);

    const one = await cli('dead-letters', 'replay', '--event-id', b1.id, '--yes');
    expect(one.stdout).toBe(`replayed 1 of 1 letter(s) from ${seeded.dlq}\n`);
    const rest = await cli('dead-letters', 'replay', '--yes');
    expect(rest).toMatchObject({ code: 0 }); // on failure, shows the tool's stderr
    expect(rest.stdout).toBe(`replayed 2 of 2 letter(s) from ${seeded.dlq} (1 matching letter(s) already replayed, skipped)\n`);
    const malformed = await cli('dead-letters', 'replay', '--reason', 'invalid_json', '--reason', 'schema_invalid', '--yes');
    expect(malformed.stdout).toBe(`replayed 2 of 2 letter(s) from ${seeded.dlq}\n`);
    const none = await cli(
      'dead-letters', 'replay', '--yes',
      '--reason', 'handler_failed', '--reason', 'handler_permanent_failure', '--reason', 'invalid_json', '--reason', 'schema_invalid',
    );
    expect(none.stdout).toBe('nothing to replay (5 matching letter(s) already replayed, skipped)\n');

    const sent = await readTopic(topic, 5);
    const ids = sent.map((m) => m.value!.toString()).map((v) => (v.startsWith('{"id": not') ? 'bad' : JSON.parse(v).id));
    expect(ids.sort()).toEqual([a1.id, a2.id, b1.id, invalid.id, 'bad'].sort());
    const runA = sent.filter((m) => m.key!.toString() === 'run-a').map((m) => JSON.parse(m.value!.toString()).id);
    expect(runA).toEqual([a1.id, a2.id]);
    expect(sent.map((m) => m.headers!['dlq.replayed.from']!.toString()).sort()).toEqual(Object.values(refs).sort());
    const listed = JSON.parse((await cli('dead-letters', 'list', '--json')).stdout);
    expect(listed.letters.map((l: { replay: string }) => l.replay)).toEqual(Array(5).fill('replayed'));
  }, 120_000);

  it('answers a letter that is not there with one line and exit 1', async () => {
    const missing = await cli('dead-letters', 'show', '2:999999');
    expect(missing.code).toBe(1);
    expect(isOneLine(missing.stderr)).toBe(true);
    expect(missing.stderr).toContain(`no dead letter at 2:999999 in ${seeded.dlq}`);
    const unknownId = randomUUID();
    const byId = await cli('dead-letters', 'show', unknownId);
    expect(byId.stderr).toBe(`no dead letter with event id ${unknownId} in ${seeded.dlq}\n`);
  }, 60_000);
});
