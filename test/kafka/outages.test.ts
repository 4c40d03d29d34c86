import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { KafkaUnavailableError } from '../../src/kafka/kafka-producer';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { FakeOry } from '../support/fake-ory';
import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { BROKER_START_MS, isolatedKafkaEnv, orderPlaced, produceRaw, startTestBroker } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { freePort } from '../support/ports';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { DEFAULT_WAIT_MS, testTimeout, waitFor } from '../support/wait';

const READY_MS = 60_000;
const RECOVERY_MS = 90_000;

/**
 * Each test has a broker of its own, so it can be absent at start or killed
 * mid-stream without touching the rest of the suite, and a service of its
 * own: no test depends on what another left behind.
 */
describe('broker outages', () => {
  async function startService(bootstrap: string, handlers: RecordingHandlers) {
    const [vault, ory] = await Promise.all([FakeVault.start(), FakeOry.start()]);
    const service = await startTestApp({
      env: { ...isolatedKafkaEnv(bootstrap), VAULT_ADDR: vault.url, VAULT_TOKEN, ORY_BASE_URL: ory.url },
      override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers),
    });
    const readiness: number[] = [];
    const ready = async () => {
      const response = await fetch(`${service.url}/health/ready`);
      readiness.push(response.status);
      return { status: response.status, body: (await response.json()) as any };
    };
    return { service, ready, readiness };
  }

  const topicOf = (service: TestApp) => service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);

  it(
    'starts and serves without a broker, then connects when the broker comes up, in the same process',
    async () => {
      const port = await freePort();
      const handlers = new RecordingHandlers();
      const { service, ready } = await startService(`127.0.0.1:${port}`, handlers);
      expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
      const down = await ready();
      expect(down.status).toBe(503);
      expect(down.body.error.kafka).toMatchObject({ status: 'down', message: expect.stringContaining('broker unreachable') });
      expect(down.body.info).toMatchObject({ vault: { status: 'up' }, ory: { status: 'up' } });
      await waitFor(
        () => ['consumer cannot connect, retrying', 'producer cannot connect, retrying'].every((msg) => service.logs.withMessage(msg).length > 0),
        'both Kafka clients to log their retries',
      );

      // Publishing without a broker fails back to the caller, visibly.
      const topic = topicOf(service);
      const early = orderPlaced('run-early', 0);
      await expect(service.app.get(KafkaEventPublisher).publish({ topic, value: early })).rejects.toThrow(KafkaUnavailableError);
      expect(await metricValue(service.url, `coffeebuddy_kafka_produce_failures_total{topic="${topic}"}`)).toBe(1);
      expect(service.logs.withMessage('publish failed')).toEqual([expect.objectContaining({ topics: [topic] })]);

      await startTestBroker({ port });
      await waitFor(async () => (await ready()).status === 200, 'readiness once the broker is up', READY_MS);

      const events = Array.from({ length: 50 }, (_, seq) => orderPlaced(`run-${seq % 5}`, seq));
      await service.app.get(KafkaEventPublisher).publishBatch(events.map((value) => ({ topic, value })));
      await waitFor(() => handlers.handled.length >= events.length, 'the events published after the broker came up');
      expect(handlers.handledIds().sort()).toEqual(events.map((e) => e.id).sort());
    },
    testTimeout(DEFAULT_WAIT_MS, BROKER_START_MS, READY_MS, DEFAULT_WAIT_MS),
  );

  it(
    'loses nothing when the broker is killed mid-stream and restarted on the same data',
    async () => {
      const broker = await startTestBroker();
      // The consumer stops after 200 events until the broker is dead: the kill always lands mid-stream.
      const handlers = new RecordingHandlers(2);
      handlers.pauseAfter(200);
      const { service, ready, readiness } = await startService(broker.bootstrap, handlers);
      await waitFor(async () => (await ready()).status === 200, 'readiness with the broker up', READY_MS);
      const topic = topicOf(service);
      const events = Array.from({ length: 1500 }, (_, seq) => orderPlaced(`run-${seq % 12}`, seq));
      await produceRaw(topic, events.map((e) => ({ key: e.runId, value: JSON.stringify(e) })), broker.bootstrap);
      await waitFor(() => handlers.paused, 'the stream to be under way (200 events handled)');

      const kafkaDown = () => service.logs.withMessage('dependency down').filter((line) => line.dependency === 'kafka').length;
      const downBefore = kafkaDown();
      await broker.kill();
      readiness.length = 0;
      handlers.resume();
      await waitFor(async () => (await ready()).status === 503, 'readiness to turn 503 while the broker is gone');
      expect(await metricValue(service.url, 'coffeebuddy_dependency_up{dependency="kafka"}')).toBe(0);
      expect(kafkaDown()).toBeGreaterThan(downBefore);

      await broker.restart();
      await waitFor(async () => (await ready()).status === 200, 'readiness to return once the broker is back', RECOVERY_MS);
      await waitFor(() => new Set(handlers.handledIds()).size >= events.length, 'every event handled after the restart', RECOVERY_MS);
      const handled = new Set(handlers.handledIds());
      expect(events.filter((e) => !handled.has(e.id))).toEqual([]);
      expect(readiness).toContain(503);
      expect(readiness[readiness.length - 1]).toBe(200);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toMatch(/coffeebuddy_dependency_up\{dependency="kafka"\} 1/);
    },
    testTimeout(BROKER_START_MS, READY_MS, DEFAULT_WAIT_MS, DEFAULT_WAIT_MS, BROKER_START_MS, RECOVERY_MS, RECOVERY_MS),
  );
});
