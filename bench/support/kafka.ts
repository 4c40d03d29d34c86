import { Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import type { RunEvent } from '../../src/run-events/run-event.schema';

export function kafkaClient(bootstrap: string, clientId = 'bench'): Kafka {
  return new Kafka({ brokers: bootstrap.split(','), clientId, logLevel: logLevel.WARN });
}

/** Creates topics with the service's layout (partitions, defaults of the broker) and waits for their leaders. */
export async function createTopics(bootstrap: string, topics: string[], partitions: number): Promise<void> {
  const admin = kafkaClient(bootstrap, 'bench-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the run's topics and consumer groups (every name starting with `prefix-`) from a broker the benchmark did not start. */
export async function deleteRunArtifacts(bootstrap: string, prefix: string): Promise<void> {
  const admin = kafkaClient(bootstrap, 'bench-admin').admin();
  await admin.connect();
  try {
    const ours = (name: string) => name.startsWith(`${prefix}-`);
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter(ours);
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter(ours);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/** Writes events to a topic as the service would (key = runId, murmur2 partitioner, acks from all replicas). */
export async function produceEvents(bootstrap: string, topic: string, events: readonly RunEvent[], batchSize = 2000): Promise<void> {
  const producer = kafkaClient(bootstrap, 'bench-loader').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < events.length; i += batchSize) {
      const messages = events.slice(i, i + batchSize).map((event) => ({ key: event.runId, value: JSON.stringify(event) }));
      sends.push(producer.send({ topic, messages, acks: -1 }));
      if (sends.length >= 4) await sends.shift();
    }
    await Promise.all(sends);
  } finally {
    await producer.disconnect();
  }
}

/** Messages of a topic the group has committed, over every partition (a partition without a commit counts 0). */
export async function committedCount(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}
