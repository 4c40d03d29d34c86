import { rmSync } from 'node:fs';
import { BrokerHandle, startBroker } from '../../scripts/kafka-broker';
import { KafkaEventPublisher } from '../../src/run-events/kafka-event-publisher';
import { KafkaUnavailableError } from '../../src/kafka/kafka-producer';
import { TopicRegistry } from '../../src/kafka/topics';
import { RUN_EVENTS_TOPIC } from '../../src/run-events/run-event-topics';
import { RunEventHandlers } from '../../src/run-events/run-event-handlers';
import { FakeOry } from '../support/fake-ory';
import { FakeVault, VAULT_TOKEN } from '../support/fake-vault';
import { isolatedKafkaEnv, orderPlaced, produceRaw } from '../support/kafka';
import { metricValue } from '../support/metrics';
import { freePort } from '../support/ports';
import { RecordingHandlers } from '../support/recording-handlers';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';

/**
 * A broker of this test's own, so it can be absent at start and killed
 * mid-stream without touching the rest of the suite.
 */
describe('broker outages', () => {
  let broker: BrokerHandle | undefined;
  let service: TestApp;
  let vault: FakeVault;
  let ory: FakeOry;
  const handlers = new RecordingHandlers(2);
  const readiness: number[] = [];

  const ready = async () => {
    const response = await fetch(`${service.url}/health/ready`);
    readiness.push(response.status);
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    [vault, ory] = await Promise.all([FakeVault.start(), FakeOry.start()]);
  });

  afterAll(async () => {
    await service?.close();
    await broker?.stop();
    if (broker) rmSync(broker.dataDir, { recursive: true, force: true });
    await Promise.all([vault.close(), ory.close()]);
  });

  it('starts and serves without a broker, then connects when the broker comes up, in the same process', async () => {
    const port = await freePort();
    service = await startTestApp({
      env: { ...isolatedKafkaEnv(`127.0.0.1:${port}`), VAULT_ADDR: vault.url, VAULT_TOKEN, ORY_BASE_URL: ory.url },
      override: (builder) => builder.overrideProvider(RunEventHandlers).useValue(handlers),
    });
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
    const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    const early = orderPlaced('run-early', 0);
    await expect(service.app.get(KafkaEventPublisher).publish({ topic, value: early })).rejects.toThrow(KafkaUnavailableError);
    expect(await metricValue(service.url, `coffeebuddy_kafka_produce_failures_total{topic="${topic}"}`)).toBe(1);
    expect(service.logs.withMessage('publish failed')).toEqual([expect.objectContaining({ topics: [topic] })]);

    broker = await startBroker({ port });
    await waitFor(async () => (await ready()).status === 200, 'readiness once the broker is up', 60000);

    const events = Array.from({ length: 50 }, (_, seq) => orderPlaced(`run-${seq % 5}`, seq));
    await service.app.get(KafkaEventPublisher).publishBatch(events.map((value) => ({ topic, value })));
    await waitFor(() => handlers.handled.length >= events.length, 'the events published after the broker came up');
    expect(handlers.handledIds().sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('loses nothing when the broker is killed mid-stream and restarted on the same data', async () => {
    const topic = service.app.get(TopicRegistry).resolve(RUN_EVENTS_TOPIC);
    const before = handlers.handled.length;
    const events = Array.from({ length: 1500 }, (_, seq) => orderPlaced(`run-${seq % 12}`, seq));
    await produceRaw(topic, events.map((e) => ({ key: e.runId, value: JSON.stringify(e) })), broker!.bootstrap);
    await waitFor(() => handlers.handled.length >= before + 200, 'the stream to be under way');

    await broker!.kill();
    const handledAtKill = handlers.handled.length;
    readiness.length = 0;
    await waitFor(async () => (await ready()).status === 503, 'readiness to turn 503 while the broker is gone');
    expect(handledAtKill).toBeLessThan(before + events.length);
    expect(await metricValue(service.url, 'coffeebuddy_dependency_up{dependency="kafka"}')).toBe(0);
    expect(service.logs.withMessage('dependency down').filter((line) => line.dependency === 'kafka').length).toBeGreaterThanOrEqual(2);

    await broker!.restart();
    await waitFor(async () => (await ready()).status === 200, 'readiness to return once the broker is back', 90000);
    await waitFor(
      () => new Set(handlers.handledIds()).size >= before + events.length,
      'every event handled after the restart',
      90000,
    );
    const handled = new Set(handlers.handledIds());
    expect(events.filter((e) => !handled.has(e.id))).toEqual([]);
    expect(readiness).toContain(503);
    expect(readiness[readiness.length - 1]).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/coffeebuddy_dependency_up\{dependency="kafka"\} 1/);
  });
});
