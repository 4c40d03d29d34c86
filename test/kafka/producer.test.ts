import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { KafkaUnavailableError } from '../../src/kafka/kafka-producer';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { drain } from '../../src/runtime/shutdown';
import { FaultProxy, KafkaApi, PROXY_PORT_WAIT_MS } from '../support/fault-proxy';
import { isolatedKafkaEnv, orderPlaced, readAll, readTopic } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';

let proxy: FaultProxy | undefined;
const open = new Set<TestApp>();
afterEach(async () => {
  for (const service of open) await service.close();
  open.clear();
  await proxy?.close();
  proxy = undefined;
});

async function start(env: Record<string, string>): Promise<TestApp> {
  const service = await startTestApp({ env });
  open.add(service);
  return service;
}

/** The real drain of SIGTERM; the app is closed by it. */
async function drainService(service: TestApp): Promise<void> {
  await drain(service.app);
  open.delete(service);
}

async function startBehindProxy(env: Record<string, string> = {}) {
  proxy = await FaultProxy.forSuiteBroker();
  const service = await start({ ...isolatedKafkaEnv(`127.0.0.1:${proxy.port}`), ...env });
  await waitFor(async () => (await metricValue(service.url, 'coffeebuddy_kafka_producer_connected')) === 1, 'the producer to connect');
  const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
  return { service, proxy, topic, publisher: service.app.get(KafkaEventPublisher) };
}

/** Records how a promise settled, without awaiting it. */
function track(promise: Promise<unknown>): { outcome: 'pending' | 'resolved' | Error } {
  const state: { outcome: 'pending' | 'resolved' | Error } = { outcome: 'pending' };
  promise.then(
    () => (state.outcome = 'resolved'),
    (error: Error) => (state.outcome = error),
  );
  return state;
}

describe('the producer', () => {
  it('refuses to publish when Kafka is not configured, with a clear error, a metric and a log line', async () => {
    const service = await start({});
    const topic = 'coffeebuddy.run.events';
    const publishing = service.app.get(KafkaEventPublisher).publish({ topic, value: orderPlaced('run-unconfigured', 0) });
    await expect(publishing).rejects.toThrow(new KafkaUnavailableError('Kafka is not configured (KAFKA_BOOTSTRAP_SERVERS is unset)'));
    expect(await metricValue(service.url, `coffeebuddy_kafka_produce_failures_total{topic="${topic}"}`)).toBe(1);
    expect(service.logs.withMessage('publish failed')).toEqual([expect.objectContaining({ topics: [topic] })]);
  });

  it('waits on shutdown for a send in flight: the publish resolves and is in the topic', async () => {
    const { service, proxy, topic, publisher } = await startBehindProxy();
    const event = orderPlaced('run-in-flight', 0);
    proxy.delay(1500); // the broker's answers arrive late, so the send is still in flight when the drain starts
    const publishing = track(publisher.publish({ topic, value: event }));
    await drainService(service);
    expect(publishing.outcome).toBe('resolved');
    const [message] = await readTopic(topic, 1);
    expect(JSON.parse(message.value!.toString())).toMatchObject({ id: event.id });
  }, PROXY_PORT_WAIT_MS + 90000);

  it('rejects a publish that waits for a replaced producer when the service shuts down, and sends nothing of it', async () => {
    // Long enough that the waiting publish is still waiting when the drain reaches the producer.
    const { service, proxy, topic, publisher } = await startBehindProxy({ KAFKA_REQUEST_TIMEOUT_MS: '6000', KAFKA_PRODUCER_RETRIES: '1' });
    const [first, lost, waiting] = [0, 1, 2].map((seq) => orderPlaced('run-gated', seq));
    await publisher.publish({ topic, value: first });
    // Acknowledgements are lost, and the replacement producer cannot get its producer id.
    proxy.dropResponses([KafkaApi.produce, KafkaApi.initProducerId]);
    await expect(publisher.publish({ topic, value: lost })).rejects.toThrow();
    await waitFor(() => service.logs.withMessage('producer replaced after a failed send').length === 1, 'the producer to be replaced');

    const publishing = publisher.publish({ topic, value: waiting });
    const draining = drainService(service);
    await expect(publishing).rejects.toThrow(
      new KafkaUnavailableError('the service is shutting down and the producer is not connected to Kafka: nothing was sent'),
    );
    await draining;
    // The rejected send may or may not be there; the gated one never left.
    const ids = (await readAll(topic)).map((message) => JSON.parse(message.value!.toString()).id);
    expect(ids[0]).toBe(first.id);
    expect(ids).not.toContain(waiting.id);
  }, PROXY_PORT_WAIT_MS + 90000);
});
