import { readFileSync } from 'node:fs';
import { Admin } from 'kafkajs';
import { FETCH_MAX_BYTES_PER_PARTITION } from '../../src/kafka/kafka.server';
import { RunEvent } from '../../src/run-events/run-event.schema';
import { baseContainer, memoryBytes } from '../deploy/manifests';
import { isolatedKafkaEnv, kafkaClient, orderPlaced, produceInChunks } from '../support/kafka';
import { metricSum } from '../support/metrics';
import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { testTimeout, waitFor } from '../support/wait';

const BACKLOG = 100_000;
const EVENT_BYTES = 500;
const PARTITIONS = 6;
/** Peak resident memory allowed while draining, as a share of the pod's memory limit. */
const PEAK_SHARE = 0.75;
const PRODUCE_MS = 120_000;
const DRAIN_MS = 240_000;
const LINES_MS = 60_000;
const JOIN_MS = 60_000;

/** A valid run event whose JSON is EVENT_BYTES long, padded in `notes`. */
function paddedEvent(seq: number): RunEvent {
  const event = orderPlaced(`run-${seq % 1000}`, seq);
  const missing = EVENT_BYTES - Buffer.byteLength(JSON.stringify(event));
  return { ...event, payload: { ...event.payload, notes: `${event.payload.notes}${'.'.repeat(missing)}` } } as RunEvent;
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

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

describe('a 100,000-event backlog', () => {
  const admin = kafkaClient().admin();
  const container = baseContainer();
  const nodeOptions = container.env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
  const limit = memoryBytes(container.resources.limits.memory);

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  /** A fresh 6-partition topic holding the backlog, and the service started on it as the pod runs it. */
  async function serviceOnBacklog(options: { handlerMs?: number; maxInFlight?: number } = {}) {
    expect(nodeOptions).toMatch(/\S/);
    const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: String(PARTITIONS) };
    const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    await produceInChunks(topic, BACKLOG, paddedEvent);
    const port = await freePort();
    const service = ServiceProcess.spawn(
      {
        ...env,
        NODE_OPTIONS: nodeOptions,
        COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
        COFFEEBUDDY_HTTP_PORT: String(port),
        KAFKA_SESSION_TIMEOUT_MS: '30000',
        ...(options.maxInFlight === undefined ? {} : { KAFKA_MAX_IN_FLIGHT: String(options.maxInFlight) }),
      },
      options,
    );
    return { env, topic, service, url: `http://127.0.0.1:${port}` };
  }

  it(
    'is drained by node dist/main.js, with the manifest NODE_OPTIONS, within 75% of the manifest memory limit',
    async () => {
      const { env, topic, service } = await serviceOnBacklog();
      await waitFor(
        async () => (await committed(admin, env.KAFKA_CONSUMER_GROUP, topic)) >= BACKLOG,
        `the service to commit all ${BACKLOG} offsets (stderr: ${service.stderr})`,
        DRAIN_MS,
        500,
      );
      const peak = peakRss(service.child.pid!);
      await waitFor(() => service.withMessage('run event handled').length >= BACKLOG, `a "run event handled" line for each event`, LINES_MS);

      expect(service.withMessage('run event handled')).toHaveLength(BACKLOG);
      expect(service.withMessage('run event dead-lettered')).toHaveLength(0);
      console.info(`VmHWM after draining ${BACKLOG} events: ${mib(peak)} MiB (limit ${mib(limit)} MiB, NODE_OPTIONS ${nodeOptions})`);
      expect(mib(peak)).toBeLessThanOrEqual(mib(PEAK_SHARE * limit));
    },
    testTimeout(PRODUCE_MS, DRAIN_MS, LINES_MS),
  );

  it(
    'behind a slow handler, holds no more events than one fetch of every partition, and stays within 75% of the memory limit',
    async () => {
      // 20 ms a handler, 64 at once: about 3,200 events/s, so the backlog waits in Kafka, and three
      // fetches' worth are handled in about 12 s.
      const { env, topic, service, url } = await serviceOnBacklog({ handlerMs: 20, maxInFlight: 64 });
      // A fetch brings at most FETCH_MAX_BYTES_PER_PARTITION of each partition (records of more than
      // EVENT_BYTES each; the broker exceeds it only for a first record batch larger than that, and the
      // backlog's batches, about 190 KB a partition per send of 2,000, are smaller), and kafkajs fetches
      // again only once every batch of the last fetch returned.
      const bound = PARTITIONS * Math.floor(FETCH_MAX_BYTES_PER_PARTITION / EVENT_BYTES);
      const handled = () => service.withMessage('run event handled').length;
      let mostHeld = 0;
      // Sampled over several fetches' worth of events: each fetch round holds at most `bound`.
      await waitFor(
        async () => {
          const held = await metricSum(url, 'coffeebuddy_kafka_events_waiting', 'coffeebuddy_kafka_handlers_in_flight');
          mostHeld = Math.max(mostHeld, held);
          return handled() >= 3 * bound;
        },
        () => `the service to handle ${3 * bound} events behind its slow handler (${handled()} so far; stderr: ${service.stderr})`,
        JOIN_MS + DRAIN_MS,
        100,
      );
      const peak = peakRss(service.child.pid!);
      const left = BACKLOG - (await committed(admin, env.KAFKA_CONSUMER_GROUP, topic));

      console.info(`behind a 20 ms handler: at most ${mostHeld} events held (bound ${bound}), VmHWM ${mib(peak)} MiB, ${left} events still in Kafka`);
      // The gauges were live (events waited for a handler slot), yet never more than the bound was held,
      // while most of the backlog stayed in Kafka.
      expect(mostHeld).toBeGreaterThan(64);
      expect(mostHeld).toBeLessThanOrEqual(bound);
      expect(left).toBeGreaterThan(BACKLOG / 2);
      expect(mib(peak)).toBeLessThanOrEqual(mib(PEAK_SHARE * limit));
    },
    testTimeout(PRODUCE_MS, JOIN_MS, DRAIN_MS),
  );
});
