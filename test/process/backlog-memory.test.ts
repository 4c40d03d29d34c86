import { readFileSync } from 'node:fs';
import { Admin, Partitioners } from 'kafkajs';
import { RunEvent } from '../../src/run-events/run-event.schema';
import { baseContainer, memoryBytes } from '../deploy/manifests';
import { isolatedKafkaEnv, kafkaClient, orderPlaced } from '../support/kafka';
import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait';

const BACKLOG = 100_000;
const EVENT_BYTES = 500;
const PARTITIONS = 6;
/** Peak resident memory allowed while draining, as a share of the pod's memory limit. */
const PEAK_SHARE = 0.75;

/** A valid run event whose JSON is EVENT_BYTES long, padded in `notes`. */
function paddedEvent(seq: number): RunEvent {
  const event = orderPlaced(`run-${seq % 1000}`, seq);
  const missing = EVENT_BYTES - Buffer.byteLength(JSON.stringify(event));
  return { ...event, payload: { ...event.payload, notes: `${event.payload.notes}${'.'.repeat(missing)}` } } as RunEvent;
}

/** Writes the backlog with a plain kafkajs producer: batches of 2,000, four in flight. */
async function produceBacklog(topic: string): Promise<void> {
  const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const sends: Array<Promise<unknown>> = [];
    for (let from = 0; from < BACKLOG; from += 2000) {
      const messages = Array.from({ length: Math.min(2000, BACKLOG - from) }, (_, i) => {
        const event = paddedEvent(from + i);
        return { key: event.runId, value: JSON.stringify(event) };
      });
      sends.push(producer.send({ topic, messages, acks: -1 }));
      if (sends.length >= 4) await sends.shift();
    }
    await Promise.all(sends);
  } finally {
    await producer.disconnect();
  }
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets.partitions.reduce((sum, { offset }) => sum + Math.max(0, Number(offset)), 0);
}

/** Peak resident set size of a live process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

describe('a 100,000-event backlog', () => {
  let service: ServiceProcess | undefined;
  const admin = kafkaClient().admin();

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());
  afterEach(async () => {
    service?.kill('SIGKILL');
    await service?.exit();
  });

  it('is drained by node dist/main.js, with the manifest NODE_OPTIONS, within 75% of the manifest memory limit', async () => {
    const container = baseContainer();
    const nodeOptions = container.env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
    expect(nodeOptions).toMatch(/\S/);
    const limit = memoryBytes(container.resources.limits.memory);

    const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: String(PARTITIONS) };
    const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    await produceBacklog(topic);

    service = ServiceProcess.spawn({
      ...env,
      NODE_OPTIONS: nodeOptions,
      COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
      COFFEEBUDDY_HTTP_PORT: String(await freePort()),
      KAFKA_SESSION_TIMEOUT_MS: '30000',
    });
    await waitFor(
      async () => (await committed(admin, env.KAFKA_CONSUMER_GROUP, topic)) >= BACKLOG,
      `the service to commit all ${BACKLOG} offsets (stderr: ${service.stderr})`,
      240_000,
      500,
    );
    const peak = peakRss(service.child.pid!);
    await waitFor(() => service!.withMessage('run event handled').length >= BACKLOG, `a "run event handled" line for each event`, 60_000);

    expect(service.withMessage('run event handled')).toHaveLength(BACKLOG);
    expect(service.withMessage('run event dead-lettered')).toHaveLength(0);
    const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
    console.info(`VmHWM after draining ${BACKLOG} events: ${mib(peak)} MiB (limit ${mib(limit)} MiB, NODE_OPTIONS ${nodeOptions})`);
    expect(mib(peak)).toBeLessThanOrEqual(mib(PEAK_SHARE * limit));
  }, 420_000);
});
