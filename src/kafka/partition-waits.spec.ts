import { AppLogger } from '../runtime/logger';
import { KafkaMetrics } from './kafka-metrics';
import { PartitionWaits, PausablePayload, Wait } from './partition-waits';
import { Registry } from 'prom-client';

/** kafkajs' pause(), as the batch payload gives it: the partition's paused state, and a resume. */
class FakeConsumer {
  readonly paused = new Set<string>();
  pauses = 0;

  payload(topic: string, partition: number): PausablePayload {
    return {
      batch: { topic, partition },
      pause: () => {
        this.pauses += 1;
        this.paused.add(`${topic}:${partition}`);
        return () => this.paused.delete(`${topic}:${partition}`);
      },
    };
  }
}

const lines: Array<Record<string, unknown>> = [];
const logger = { child: () => ({ info: (o: object, msg: string) => lines.push({ ...o, msg }), warn: (o: object, msg: string) => lines.push({ ...o, msg }) }) } as unknown as AppLogger;

function setup() {
  const metrics = new KafkaMetrics(new Registry());
  const waits = new PartitionWaits<string>(metrics, logger);
  return { waits, metrics, consumer: new FakeConsumer() };
}

const waitOf = (reason: Wait<string>['reason'], inMs: number): Wait<string> => ({ reason, dueAt: performance.now() + inMs, since: performance.now(), state: 'state' });

beforeEach(() => {
  lines.length = 0;
  jest.useFakeTimers();
});
afterEach(() => jest.useRealTimers());

describe('PartitionWaits', () => {
  it('pauses only the waiting event\'s partition, and resumes it when the event is due, with one line each', () => {
    const { waits, consumer } = setup();
    waits.wait(consumer.payload('t', 2), '10', waitOf('retry', 500));
    expect([...consumer.paused]).toEqual(['t:2']);
    jest.advanceTimersByTime(499);
    expect(consumer.paused.has('t:2')).toBe(true);
    jest.advanceTimersByTime(1);
    expect(consumer.paused.size).toBe(0);
    expect(lines.map((l) => l.msg)).toEqual(['partition paused', 'partition resumed']);
    expect(lines[0]).toMatchObject({ topic: 't', partition: 2, offset: 10, reason: 'retry', resumeInMs: 500 });
    // The event still waits (it comes back and is attempted): the partition counts as paused until it settles.
    expect(waits.pausedByReason()).toEqual([{ topic: 't', reason: 'retry', count: 1 }]);
    waits.done('t', 2, '10');
    expect(waits.pausedByReason()).toEqual([]);
    expect(waits.oldestWaitingMs()).toBe(0);
  });

  it('resumes at the earliest due event; during an outage only at the oldest one, which alone is attempted', () => {
    const { waits, consumer } = setup();
    const payload = consumer.payload('t', 0);
    waits.wait(payload, '20', waitOf('retry', 300));
    waits.wait(payload, '10', waitOf('retry', 800));
    expect(waits.find('t', 0)!.dueAt()).toBe(performance.now() + 300);
    expect(waits.find('t', 0)!.probeOffset()).toBeUndefined();
    // An outage: the oldest waiting event (offset 10) sets the resume, not the earlier due one above it.
    waits.wait(payload, '10', waitOf('outage', 800));
    expect(waits.find('t', 0)!.probeOffset()).toBe(10);
    jest.advanceTimersByTime(300);
    expect(consumer.paused.has('t:0')).toBe(true);
    jest.advanceTimersByTime(500);
    expect(consumer.paused.has('t:0')).toBe(false);
    expect(waits.pausedByReason()).toEqual([{ topic: 't', reason: 'outage', count: 1 }]);
  });

  it('counts a partition under its most pressing reason, and wakes a waiting event early', () => {
    const { waits, consumer } = setup();
    const payload = consumer.payload('t', 1);
    waits.wait(payload, '5', waitOf('retry', 1000));
    waits.wait(payload, '6', { ...waitOf('dead_letter_refused', 0), dueAt: Infinity });
    expect(waits.pausedByReason()).toEqual([{ topic: 't', reason: 'dead_letter_refused', count: 1 }]);
    waits.wake('t', 1, '6');
    jest.advanceTimersByTime(0);
    expect(consumer.paused.size).toBe(0);
  });

  it('resumes and forgets the partitions a new assignment no longer holds, and keeps the others', () => {
    const { waits, consumer } = setup();
    waits.wait(consumer.payload('t', 0), '1', waitOf('retry', 60_000));
    waits.wait(consumer.payload('t', 1), '1', waitOf('retry', 60_000));
    waits.recordSettled('t', 1, ['2', '3']);
    waits.keepOnly({ t: [0] });
    expect([...consumer.paused]).toEqual(['t:0']);
    expect(waits.find('t', 1)).toBeUndefined();
    expect(waits.find('t', 0)!.waits.size).toBe(1);
    // No timer of the forgotten partition fires later.
    jest.advanceTimersByTime(60_000);
    expect(consumer.paused.size).toBe(0);
  });

  it('forgets what lies below the first offset fetched (committed elsewhere), and drops an empty hold', () => {
    const { waits, consumer } = setup();
    waits.wait(consumer.payload('t', 0), '4', waitOf('retry', 0));
    waits.recordSettled('t', 0, ['5', '9']);
    jest.advanceTimersByTime(0);
    waits.fetchedFrom(waits.find('t', 0)!, 6);
    expect([...waits.find('t', 0)!.settled]).toEqual(['9']);
    expect(waits.find('t', 0)!.waits.size).toBe(0);
    waits.fetchedFrom(waits.find('t', 0)!, 10);
    expect(waits.find('t', 0)).toBeUndefined();
  });

  it('pauses again an event back before it is due (a restarted consumer lost its pause), without a second line', () => {
    const { waits, consumer } = setup();
    const wait = waitOf('retry', 5000);
    waits.wait(consumer.payload('t', 0), '1', wait);
    consumer.paused.clear(); // the consumer crashed and kafkajs restarted it
    waits.wait(consumer.payload('t', 0), '1', wait);
    expect(consumer.paused.has('t:0')).toBe(true);
    expect(consumer.pauses).toBe(2);
    expect(lines.filter((l) => l.msg === 'partition paused')).toHaveLength(1);
    jest.advanceTimersByTime(5000);
    expect(consumer.paused.size).toBe(0);
  });
});
