import { EventEmitter } from 'node:events';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { KafkaAdmin } from '../../src/kafka/kafka-admin';
import { KafkaModule } from '../../src/kafka/kafka.module';
import { KafkaMetrics } from '../../src/kafka/kafka-metrics';
import { KafkaStatus } from '../../src/kafka/kafka-status';
import { KafkaServer as RunEventsServer } from '../../src/kafka/kafka.server';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { RunEventsModule } from '../../src/run-events/run-events.module';
import { Lifecycle } from '../../src/runtime/lifecycle';
import { LOG_DESTINATION } from '../../src/runtime/logger';
import { RuntimeModule } from '../../src/runtime/runtime.module';
import { parseSettings } from '../../src/settings';
import { LogCapture } from '../support/log-capture';
import { strictFake } from '../support/strict-fake';
import { waitFor } from '../support/wait';

const EVENTS = { GROUP_JOIN: 'group_join', REBALANCING: 'rebalancing', STOP: 'stop', DISCONNECT: 'disconnect', CRASH: 'crash', CONNECT: 'connect' };

/** A kafkajs client stand-in whose consumer emits the instrumentation events a test chooses. */
function fakeKafka() {
  const emitter = new EventEmitter();
  const state = { running: false };
  const consumer = {
    events: EVENTS,
    on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async () => {
      state.running = true;
    },
    disconnect: async () => undefined,
  };
  const producer = { events: { CONNECT: 'p.connect', DISCONNECT: 'p.disconnect' }, on: () => undefined, connect: async () => undefined, disconnect: async () => undefined };
  return {
    state,
    client: { consumer: () => consumer, producer: () => producer },
    emit: (event: string, payload: object) => emitter.emit(event, { payload }),
  };
}

describe('RunEventsServer instrumentation', () => {
  async function compile() {
    const settings = parseSettings({ KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' });
    const logs = new LogCapture();
    const module = await Test.createTestingModule({ imports: [RuntimeModule.forRoot(settings), MetricsModule, KafkaModule, RunEventsModule] })
      .overrideProvider(LOG_DESTINATION)
      .useValue(logs)
      .overrideProvider(KafkaAdmin)
      .useValue(strictFake<KafkaAdmin>({ ensureTopics: async () => undefined }))
      .compile();
    const server = module.get(RunEventsServer, { strict: false });
    const kafka = fakeKafka();
    jest.spyOn(server, 'createClient').mockResolvedValue(kafka.client as never);
    await server.listen(() => undefined);
    await waitFor(() => kafka.state.running, 'the consumer to run');
    const status = module.get(KafkaStatus, { strict: false });
    return { module, server, kafka, status, logs, lifecycle: module.get(Lifecycle) };
  }

  it('tracks group membership and rebalances, and forgets the lag of partitions it may no longer own', async () => {
    const { kafka, status, module } = await compile();
    module.get(KafkaMetrics, { strict: false }).consumerLag.set({ topic: 'coffeebuddy.run.events', partition: '5' }, 42);
    kafka.emit(EVENTS.GROUP_JOIN, { memberId: 'm-1', memberAssignment: { 'coffeebuddy.run.events': [0, 1] } });
    expect(status.consumerInGroup).toBe(true);
    kafka.emit(EVENTS.REBALANCING, {});
    kafka.emit(EVENTS.STOP, {});
    expect(status.consumerInGroup).toBe(false);
    const metrics = await module.get(Registry).metrics();
    expect(metrics).toContain('coffeebuddy_kafka_consumer_rebalances_total 1');
    expect(metrics).toContain('coffeebuddy_kafka_consumer_in_group 0');
    expect(metrics).not.toContain('partition="5"');
  });

  it('leaves liveness alone after a crash kafkajs restarts', async () => {
    const { kafka, lifecycle, status } = await compile();
    kafka.emit(EVENTS.CRASH, { error: new Error('connection lost'), restart: true });
    expect(lifecycle.brokenComponents().size).toBe(0);
    expect(status.consumerFailure).toBeUndefined();
  });

  it('logs a restarted crash at info when its cause is a retriable protocol error, at error otherwise', async () => {
    const { kafka, logs } = await compile();
    const loading = Object.assign(new Error("The coordinator is loading and hence can't process requests for this group"), {
      name: 'KafkaJSProtocolError',
      retriable: true,
    });
    kafka.emit(EVENTS.CRASH, { error: loading, restart: true });
    kafka.emit(EVENTS.CRASH, { error: new Error('connection lost'), restart: true });
    expect(logs.withMessage('consumer crashed').map((line) => line.level)).toEqual(['info', 'error']);
  });

  it('marks the process broken after a crash kafkajs will not restart, and logs and counts it', async () => {
    const { kafka, lifecycle, status, module, logs } = await compile();
    kafka.emit(EVENTS.CRASH, { error: new Error('group authorization failed'), restart: false });
    expect(lifecycle.brokenComponents().get('kafka-consumer')).toBe('crashed and will not restart: group authorization failed');
    expect(status.consumerFailure).toBe('group authorization failed');
    expect(await module.get(Registry).metrics()).toContain('coffeebuddy_kafka_consumer_crashes_total{restart="false"} 1');
    expect(logs.withMessage('consumer crashed')).toEqual([expect.objectContaining({ restart: false, level: 'error' })]);
  });
});
