import { AssignerProtocol, Kafka, logLevel, PartitionAssigner } from 'kafkajs';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { onCleanup } from '../support/cleanup';
import { bootstrap, isolatedKafkaEnv, kafkaClient, orderPlaced, produceEvents } from '../support/kafka';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp } from '../support/test-app';
import { DEFAULT_WAIT_MS, testTimeout, waitFor } from '../support/wait';

const JOIN_MS = 30_000;
const TAKE_OVER_MS = 60_000;

/** A plain kafkajs consumer in the service's group, with the client id that names its member id; it joins the cleanup registry. */
function otherMember(clientId: string, groupId: string, partitionAssigners?: PartitionAssigner[]) {
  const consumer = new Kafka({ brokers: bootstrap().split(','), clientId, logLevel: logLevel.NOTHING }).consumer({
    groupId,
    sessionTimeout: 6000,
    ...(partitionAssigners ? { partitionAssigners } : {}),
  });
  onCleanup(`consumer ${clientId}`, () => consumer.disconnect());
  return consumer;
}

describe('a rebalance in the middle of a batch', () => {
  it(
    'stops the stale batch and commits what it handled: the new owner neither repeats nor misses an event',
    async () => {
      // One partition, and an old owner whose member id sorts last: kafkajs' round-robin assigner
      // (members sorted by id) gives the partition to the member that joins mid-batch.
      const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: '1', KAFKA_CLIENT_ID: 'zz-old-owner' };
      const handlers = new RecordingHandlers(150);
      const service = await startTestApp({ env, override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers) });
      await waitFor(() => service.logs.withMessage('consumer joined its group').length > 0, 'the old owner to join', JOIN_MS);
      const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
      const events = Array.from({ length: 40 }, (_, seq) => orderPlaced('run-stale', seq));
      await produceEvents(topic, events);
      await waitFor(() => handlers.handled.length >= 3, 'the old owner to be inside its batch');

      const byNewOwner: string[] = [];
      const newOwner = otherMember('aa-new-owner', env.KAFKA_CONSUMER_GROUP);
      await newOwner.connect();
      await newOwner.subscribe({ topic, fromBeginning: true });
      await newOwner.run({ eachMessage: async ({ message }) => void byNewOwner.push(JSON.parse(message.value!.toString()).id) });
      await waitFor(() => handlers.handled.length + byNewOwner.length >= events.length, 'the new owner to take the rest', TAKE_OVER_MS);

      const byOldOwner = handlers.handledIds();
      expect(service.logs.withMessage('consumer group rebalancing').length).toBeGreaterThan(0);
      expect(byOldOwner.length).toBeLessThan(events.length);
      expect(byNewOwner.length).toBeGreaterThan(0);
      // The old owner handled a prefix and committed it; the new owner started right after it.
      expect([...byOldOwner, ...byNewOwner]).toEqual(events.map((event) => event.id));
    },
    testTimeout(JOIN_MS, DEFAULT_WAIT_MS, TAKE_OVER_MS),
  );
});

/** An assigner of another name: a group held by its members refuses every member that does not speak it. */
const squatterAssigner: PartitionAssigner = () => ({
  name: 'SquatterAssigner',
  version: 1,
  assign: async ({ members }) =>
    members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: {}, userData: Buffer.alloc(0) }),
    })),
  protocol: ({ topics }) => ({
    name: 'SquatterAssigner',
    metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
  }),
});

describe('a consumer crash kafkajs will not restart', () => {
  it(
    'turns readiness 503 naming the crash, and liveness 503, so Kubernetes restarts the pod',
    async () => {
      const env = isolatedKafkaEnv();
      // The group is held by a member of another protocol: the service's join is refused with
      // INCONSISTENT_GROUP_PROTOCOL, an error kafkajs does not retry.
      const squatter = otherMember('squatter', env.KAFKA_CONSUMER_GROUP, [squatterAssigner]);
      let squatting = false;
      squatter.on(squatter.events.GROUP_JOIN, () => (squatting = true));
      const topic = `${env.KAFKA_TOPIC_PREFIX}.squatter`;
      const admin = kafkaClient().admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      } finally {
        await admin.disconnect();
      }
      await squatter.connect();
      await squatter.subscribe({ topic, fromBeginning: true });
      await squatter.run({ eachMessage: async () => undefined });
      await waitFor(() => squatting, 'the squatter to hold the group', JOIN_MS);

      const service = await startTestApp({ env });
      const crash = "consumer crashed: The group member's supported protocols are incompatible with those of existing members";
      const ready = await waitFor(
        async () => {
          const response = await fetch(`${service.url}/health/ready`);
          const body = (await response.json()) as any;
          return body.error?.kafka?.message === crash && { status: response.status, body };
        },
        'readiness to report the crash',
        JOIN_MS,
      );
      expect(ready.status).toBe(503);
      expect(ready.body.error.kafka).toMatchObject({ status: 'down', message: crash });

      const live = await fetch(`${service.url}/health/live`);
      expect(live.status).toBe(503);
      expect(((await live.json()) as any).error.process.message).toMatch(/^kafka-consumer: crashed and will not restart: /);
      expect(service.logs.withMessage('consumer crashed')).toEqual([expect.objectContaining({ restart: false, level: 'error' })]);
    },
    testTimeout(JOIN_MS, JOIN_MS),
  );
});
