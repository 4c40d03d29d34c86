import 'reflect-metadata';
import { Partitioners } from 'kafkajs';
import { benchEvents } from '../support/events';
import { kafkaClient } from '../support/kafka';
import { dist, startService, stopService, untilKafkaReady } from '../support/service';
import { profileClockUs, runAsWorker } from '../support/worker';

/**
 * Sends `count` events to a topic in batches of `batchSize`, each
 * acknowledged by all in-sync replicas (acks -1), `concurrency` batches at a
 * time (1: each batch waits for the previous one's acknowledgement):
 * through the service's KafkaEventPublisher.publishBatch (validation, JSON,
 * idempotent producer with one request in flight, metrics), or through a
 * plain kafkajs producer.sendBatch with the same messages.
 */
export type PublishMode = 'publisher' | 'kafkajs' | 'kafkajs-idempotent';

export interface PublishConfig {
  mode: PublishMode;
  bootstrap: string;
  prefix: string;
  /** Pre-created, with the run events topic's layout. */
  topic: string;
  count: number;
  batchSize: number;
  /** Batches sent without waiting for the previous ones: 1 is strictly one after the other. */
  concurrency: number;
}

export interface PublishResult {
  mode: PublishMode;
  concurrency: number;
  messages: number;
  elapsedMs: number;
  messagesPerSecond: number;
  /** The timed part on the CPU profile's clock (microseconds). */
  windowUs: [number, number];
}

async function publish(config: PublishConfig): Promise<PublishResult> {
  const events = benchEvents(config.count);
  const batches: Array<typeof events> = [];
  for (let i = 0; i < events.length; i += config.batchSize) batches.push(events.slice(i, i + config.batchSize));
  let send: (batch: typeof events) => Promise<unknown>;
  let stop: () => Promise<void>;

  if (config.mode === 'publisher') {
    const app = await startService({
      kafka: { bootstrap: config.bootstrap, prefix: config.prefix, groupId: `${config.prefix}-publish-service` },
      handlers: { handle: async () => undefined },
    });
    await untilKafkaReady(app);
    const publisher = app.get(dist.publisher.KafkaEventPublisher);
    send = (batch) => publisher.publishBatch(batch.map((value) => ({ topic: config.topic, value })));
    stop = () => stopService(app);
  } else {
    const producer = kafkaClient(config.bootstrap, 'bench-producer').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      ...(config.mode === 'kafkajs-idempotent' ? { idempotent: true, maxInFlightRequests: 1 } : {}),
    });
    await producer.connect();
    send = (batch) =>
      producer.sendBatch({
        topicMessages: [{ topic: config.topic, messages: batch.map((event) => ({ key: event.runId, value: JSON.stringify(event) })) }],
        acks: -1,
      });
    stop = () => producer.disconnect();
  }

  // One warm-up batch (connection to the partition leaders, metadata), not timed.
  await send(batches[0]);
  const started = performance.now();
  const startedUs = profileClockUs();
  let next = 0;
  const lane = async () => {
    while (next < batches.length) await send(batches[next++]);
  };
  await Promise.all(Array.from({ length: config.concurrency }, lane));
  const elapsedMs = performance.now() - started;
  const windowUs: [number, number] = [startedUs, profileClockUs()];
  await stop();
  return { mode: config.mode, concurrency: config.concurrency, messages: config.count, elapsedMs, messagesPerSecond: (config.count / elapsedMs) * 1000, windowUs };
}

runAsWorker(publish);
