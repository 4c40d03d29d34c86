import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { join } from 'node:path';
import type { RunEvent } from '../../src/run-events/run-event.schema';
import { DIST_DIR } from './dist';

/** The compiled service (what `node dist/main.js` runs), typed by its sources. `npm run bench` builds dist/ first. */
export const dist = {
  app: require(join(DIST_DIR, 'app')) as typeof import('../../src/app'),
  settings: require(join(DIST_DIR, 'settings')) as typeof import('../../src/settings'),
  shutdown: require(join(DIST_DIR, 'runtime/shutdown')) as typeof import('../../src/runtime/shutdown'),
  handlers: require(join(DIST_DIR, 'run-events/run-event-handlers')) as typeof import('../../src/run-events/run-event-handlers'),
  errors: require(join(DIST_DIR, 'run-events/run-event-errors')) as typeof import('../../src/run-events/run-event-errors'),
  publisher: require(join(DIST_DIR, 'run-events/kafka-event-publisher')) as typeof import('../../src/run-events/kafka-event-publisher'),
  status: require(join(DIST_DIR, 'kafka/kafka-status')) as typeof import('../../src/kafka/kafka-status'),
  tracing: require(join(DIST_DIR, 'runtime/tracing')) as typeof import('../../src/runtime/tracing'),
};

/** Stands in for RunEventHandlers: one call per handled event, nothing else. */
export interface HandlerStandIn {
  handle(event: RunEvent): Promise<void>;
}

export interface ServiceOptions {
  kafka: { bootstrap: string; prefix: string; groupId: string; partitions?: number };
  env?: Record<string, string>;
  /** A stand-in for RunEventHandlers; without one, `register` registers handlers on the real one, as a feature does. */
  handlers?: HandlerStandIn;
  register?: (handlers: import('../../src/run-events/run-event-handlers').RunEventHandlers) => void;
}

/**
 * The whole application from createApp(), as main.ts builds it, with one
 * provider replaced: the run event handlers, by a stand-in that counts. The
 * log lines go where production sends them, JSON through the service's own
 * asynchronous destination on stdout: the worker's stdout is a file. It does
 * not listen on HTTP.
 */
export async function startService(options: ServiceOptions): Promise<NestFastifyApplication> {
  const { bootstrap, prefix, groupId, partitions } = options.kafka;
  const settings = dist.settings.parseSettings({
    COFFEEBUDDY_ENVIRONMENT: 'prod',
    COFFEEBUDDY_LOG_FORMAT: 'json',
    KAFKA_BOOTSTRAP_SERVERS: bootstrap,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_CONSUMER_GROUP: groupId,
    ...(partitions ? { KAFKA_TOPIC_PARTITIONS: String(partitions) } : {}),
    ...options.env,
  });
  return dist.app.createApp(settings, async (root, adapter) => {
    let builder = Test.createTestingModule({ imports: [root] });
    if (options.handlers) builder = builder.overrideProvider(dist.handlers.RunEventHandlers).useValue(options.handlers);
    const app = (await builder.compile()).createNestApplication<NestFastifyApplication>(adapter, { bufferLogs: true, abortOnError: false });
    options.register?.(app.get(dist.handlers.RunEventHandlers));
    return app;
  });
}

/** Resolves once the consumer joined its group and the producer is connected. */
export async function untilKafkaReady(app: NestFastifyApplication, timeoutMs = 60_000): Promise<void> {
  const status = app.get(dist.status.KafkaStatus);
  const deadline = Date.now() + timeoutMs;
  while (!(status.consumerInGroup && status.producerConnected)) {
    if (Date.now() > deadline) throw new Error('the service did not join its consumer group in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The service's own shutdown sequence (consumer first, then modules and producer). */
export function stopService(app: NestFastifyApplication): Promise<void> {
  return dist.shutdown.drain(app);
}
