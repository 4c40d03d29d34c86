import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { KafkaEventPublisher, KafkaRecord } from '../run-events/kafka-event-publisher';
import { KafkaMetrics } from '../kafka/kafka-metrics';
import { KafkaProducer } from '../kafka/kafka-producer';
import { KafkaStatus } from '../kafka/kafka-status';
import { KafkaTracing } from '../kafka/kafka-tracing';
import { TopicRegistry } from '../kafka/topics';
import { RUN_EVENTS_TOPIC } from '../run-events/run-event-topics';
import { assertRunEvent, InvalidRunEventError, RunEvent } from '../run-events/run-event.schema';
import { AppLogger } from '../runtime/logger';
import { Settings } from '../settings';
import { Tracing } from '../runtime/tracing';
import { CliError } from './cli-error';
import { CliIo } from './cli-io';
import { BROKER_TIMEOUT_MS, brokersOf, unreachable } from './kafka-session';

/** Reads run events from a file: one event, or an array of events. Each is validated before anything is sent. */
export async function eventsFromFile(file: string): Promise<RunEvent[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
  }
  return validate(Array.isArray(json) ? json : [json], file);
}

export function validate(values: readonly unknown[], source: string): RunEvent[] {
  return values.map((value, index) => {
    try {
      return assertRunEvent(value);
    } catch (error) {
      if (!(error instanceof InvalidRunEventError)) throw error;
      const which = values.length > 1 ? `event ${index} of ${source}` : source;
      throw new CliError(`invalid run event (${which}): ${error.message}`);
    }
  });
}

/**
 * `publish`: sends run events through the service's own KafkaEventPublisher
 * and KafkaProducer, so they are validated, keyed and acknowledged exactly as
 * the service's own are.
 */
export async function publishEvents(settings: Settings, events: readonly RunEvent[], io: CliIo): Promise<number> {
  brokersOf(settings.kafka);
  const metrics = new KafkaMetrics(new Registry());
  const status = new KafkaStatus(metrics);
  const logger = new AppLogger({ level: 'fatal', format: 'json' }, pino.destination(2));
  const producer = new KafkaProducer(settings.kafka, metrics, status, logger);
  // The service's OTEL_* settings apply here too: a published event starts its trace.
  const tracing = new Tracing(settings.tracing, logger);
  const topic = new TopicRegistry(settings.kafka.topicPrefix).resolve(RUN_EVENTS_TOPIC);
  producer.onModuleInit();
  const deadline = Date.now() + BROKER_TIMEOUT_MS;
  while (!status.producerConnected) {
    if (Date.now() > deadline) throw unreachable(settings.kafka, new Error(`no connection within ${BROKER_TIMEOUT_MS} ms`));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    const records: KafkaRecord[] = events.map((value) => ({ topic, value }));
    await new KafkaEventPublisher(producer, new KafkaTracing(tracing, settings.kafka)).publishBatch(records);
  } catch (error) {
    throw new CliError(`publish to ${topic} failed: ${(error as Error).message}`);
  } finally {
    await producer.onModuleDestroy();
    await tracing.onApplicationShutdown();
  }
  for (const event of events) io.out(`published ${event.type} ${event.id} (run ${event.runId}) to ${topic}`);
  return 0;
}
