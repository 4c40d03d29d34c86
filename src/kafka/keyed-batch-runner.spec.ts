import { InFlightLimit } from './in-flight-limit';
import { BatchInput, kafkaKey, KeyedBatchRunner, Settlement } from './keyed-batch-runner';

interface TestMessage {
  offset: string;
  key: Buffer | null;
}

const message = (offset: number, key: string | null): TestMessage => ({ offset: String(offset), key: key === null ? null : Buffer.from(key) });

/** A batch of one partition whose resolved offsets are recorded; the consumer runs and the batch is fresh unless overridden. */
function batchOf(messages: TestMessage[], overrides: Partial<BatchInput<TestMessage>> & { partition?: number } = {}) {
  const resolved: string[] = [];
  const input: BatchInput<TestMessage> = {
    batch: { topic: 'run.events', partition: overrides.partition ?? 0, messages },
    resolveOffset: (offset) => resolved.push(offset),
    heartbeat: async () => {},
    isRunning: () => true,
    isStale: () => false,
    ...overrides,
  };
  return { input, resolved };
}

/** A settle() whose answers the test gives, one message at a time. */
function controlledSettle() {
  const pending = new Map<string, (settlement: Settlement) => void>();
  const started: string[] = [];
  const settle = (m: TestMessage) =>
    new Promise<Settlement>((resolve) => {
      started.push(m.offset);
      pending.set(m.offset, resolve);
    });
  const answer = (offset: string, settlement: Settlement = 'settled') => {
    const resolve = pending.get(offset);
    if (!resolve) throw new Error(`offset ${offset} was not started (started: ${started.join(', ')})`);
    pending.delete(offset);
    resolve(settlement);
  };
  return { settle, answer, started, pending };
}

/** Lets pending callbacks run until `condition` holds; fails with `what` when it never does. */
async function until(condition: () => boolean, what: string, turns = 1000): Promise<void> {
  for (let i = 0; i < turns; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`did not happen: ${what}`);
}

/** A small seeded generator, so a failing order can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('KeyedBatchRunner', () => {
  it('handles each key in offset order, never two of one key at once, with many keys and random delays', async () => {
    const random = seeded(13);
    const keys = 200;
    const messages = Array.from({ length: 2000 }, (_, offset) => message(offset, `run-${Math.floor(random() * keys)}`));
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(32));
    const running = new Set<string>();
    const handled = new Map<string, number[]>();
    let overlaps = 0;
    let mostAtOnce = 0;
    const { input, resolved } = batchOf(messages);

    const outcome = await runner.run(input, async (m) => {
      const key = m.key!.toString();
      if (running.has(key)) overlaps += 1;
      running.add(key);
      mostAtOnce = Math.max(mostAtOnce, running.size);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3)));
      handled.set(key, [...(handled.get(key) ?? []), Number(m.offset)]);
      running.delete(key);
      return 'settled';
    });

    expect(overlaps).toBe(0);
    expect(mostAtOnce).toBeGreaterThan(1);
    expect(mostAtOnce).toBeLessThanOrEqual(32);
    const expected = new Map<string, number[]>();
    for (const m of messages) expected.set(m.key!.toString(), [...(expected.get(m.key!.toString()) ?? []), Number(m.offset)]);
    expect(handled).toEqual(expected);
    expect(outcome).toEqual({ settled: 2000, unsettled: 0, notStarted: 0, resolvedOffset: '1999' });
    expect(resolved.at(-1)).toBe('1999');
    expect(resolved.map(Number)).toEqual([...resolved.map(Number)].sort((a, b) => a - b));
  });

  it('keeps handlers in flight within the process-wide limit across two concurrent batches', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(3));
    const { settle, answer, started, pending } = controlledSettle();
    const first = batchOf(Array.from({ length: 5 }, (_, i) => message(i, `a${i}`)), { partition: 0 });
    const second = batchOf(Array.from({ length: 5 }, (_, i) => message(100 + i, `b${i}`)), { partition: 1 });
    const runs = Promise.all([runner.run(first.input, settle), runner.run(second.input, settle)]);

    await until(() => started.length === 3, 'three handlers started');
    expect(runner.inFlight).toBe(3);
    let mostAtOnce = 0;
    while (started.length < 10 || pending.size > 0) {
      mostAtOnce = Math.max(mostAtOnce, pending.size);
      const before = started.length;
      answer([...pending.keys()][0]!);
      await until(() => started.length === Math.min(10, before + 1) || pending.size === 0, 'a freed slot taken by the next message');
    }
    const [a, b] = await runs;
    expect(mostAtOnce).toBe(3);
    expect([a.settled, b.settled, runner.inFlight]).toEqual([5, 5, 0]);
  });

  it('runs one event at a time in the process with a limit of 1', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(1));
    let running = 0;
    let mostAtOnce = 0;
    const settle = async () => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running -= 1;
      return 'settled' as const;
    };
    await Promise.all([
      runner.run(batchOf([message(0, 'a'), message(1, 'b')], { partition: 0 }).input, settle),
      runner.run(batchOf([message(0, 'c'), message(1, 'd')], { partition: 1 }).input, settle),
    ]);
    expect(mostAtOnce).toBe(1);
  });

  it('resolves only the settled prefix when messages settle out of order', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(8), { resolveEvery: 1 });
    const { settle, answer, started } = controlledSettle();
    const { input, resolved } = batchOf([message(10, 'a'), message(11, 'b'), message(12, 'c'), message(13, 'd')]);
    const run = runner.run(input, settle);
    await until(() => started.length === 4, 'all four keys started');

    answer('13');
    answer('11');
    await until(() => runner.inFlight === 2, 'two handlers released their slots');
    expect(resolved).toEqual([]);
    answer('10');
    await until(() => resolved.length === 1, 'the prefix 10..11 resolved');
    expect(resolved).toEqual(['11']);
    answer('12');
    const outcome = await run;
    expect(resolved).toEqual(['11', '13']);
    expect(outcome.resolvedOffset).toBe('13');
  });

  it('awaits beforeResolve before each resolveOffset, and never moves the resolved offset back when two resolves overlap', async () => {
    const flushes: Array<() => void> = [];
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(8), {
      resolveEvery: 1,
      beforeResolve: () => new Promise<void>((resolve) => flushes.push(resolve)),
    });
    const { settle, answer, started } = controlledSettle();
    const { input, resolved } = batchOf([message(0, 'a'), message(1, 'b'), message(2, 'c')]);
    const run = runner.run(input, settle);
    await until(() => started.length === 3, 'all three keys started');

    answer('0');
    await until(() => flushes.length === 1, 'a flush asked for the prefix 0');
    answer('1');
    await until(() => flushes.length === 2, 'a flush asked for the prefix 0..1');
    expect(resolved).toEqual([]);
    flushes[1]();
    await until(() => resolved.length === 1, 'the prefix 0..1 resolved once its flush ended');
    flushes[0]();
    answer('2');
    await until(() => flushes.length === 3, 'a flush asked for the prefix 0..2');
    flushes[2]();
    await run;
    expect(resolved).toEqual(['1', '2']);
  });

  it('stops a key at an unsettled message, keeps the resolved offset below it, lets other keys go on, and tells what they settled above it', async () => {
    const settledAbove: Array<[string, number, string[]]> = [];
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(8), {
      resolveEvery: 1,
      settledAbove: (topic, partition, offsets) => settledAbove.push([topic, partition, offsets]),
    });
    const handled: string[] = [];
    const { input, resolved } = batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, 'b'), message(4, 'c')]);

    const outcome = await runner.run(input, async (m) => {
      if (m.offset === '1') return 'unsettled';
      handled.push(m.offset);
      return 'settled';
    });

    // b@3 is not run: b stopped at 1. a and c go on; a@2 and c@4 come back with b@1, and are passed over.
    expect(handled.sort()).toEqual(['0', '2', '4']);
    expect(outcome).toEqual({ settled: 3, unsettled: 1, notStarted: 1, resolvedOffset: '0' });
    expect(resolved).toEqual(['0']);
    expect(settledAbove).toEqual([['run.events', 0, ['2', '4']]]);
  });

  it('tells nothing settled above the prefix when the whole batch settled', async () => {
    const settledAbove: string[][] = [];
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(8), { settledAbove: (_t, _p, offsets) => settledAbove.push(offsets) });
    await runner.run(batchOf([message(0, 'a'), message(1, 'b')]).input, async () => 'settled');
    expect(settledAbove).toEqual([]);
  });

  it('resolves nothing when the first message of the batch stays unsettled', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(8));
    const { input, resolved } = batchOf([message(0, 'a'), message(1, 'b')]);
    const outcome = await runner.run(input, async (m) => (m.offset === '0' ? 'unsettled' : 'settled'));
    expect(resolved).toEqual([]);
    expect(outcome.resolvedOffset).toBeUndefined();
  });

  it('takes no new work once isRunning() turns false, and returns only after the running messages settle', async () => {
    let consumerRunning = true;
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(2));
    const { settle, answer, started } = controlledSettle();
    const { input, resolved } = batchOf([message(0, 'a'), message(1, 'b'), message(2, 'c'), message(3, 'a')], { isRunning: () => consumerRunning });
    let returned = false;
    const run = runner.run(input, settle).then((outcome) => {
      returned = true;
      return outcome;
    });
    await until(() => started.length === 2, 'two handlers started');

    consumerRunning = false;
    answer('0');
    await until(() => runner.inFlight === 1, 'the first handler released its slot');
    expect(returned).toBe(false);
    answer('1');
    const outcome = await run;
    expect(started).toEqual(['0', '1']);
    expect(outcome).toEqual({ settled: 2, unsettled: 0, notStarted: 2, resolvedOffset: '1' });
    expect(resolved).toEqual(['1']);
  });

  it('takes no new work once the batch is stale', async () => {
    let stale = false;
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(1));
    const started: string[] = [];
    const { input } = batchOf([message(0, 'a'), message(1, 'b'), message(2, 'c')], { isStale: () => stale });
    const outcome = await runner.run(input, async (m) => {
      started.push(m.offset);
      stale = true;
      // A handler of 3 ms: longer than the runner goes without asking isStale() again.
      await new Promise((resolve) => setTimeout(resolve, 3));
      return 'settled';
    });
    expect(started).toEqual(['0']);
    expect(outcome.notStarted).toBe(2);
  });

  it('runs the keyless messages of a partition as one key, in offset order, beside the keyed ones', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(8));
    const { settle, answer, started } = controlledSettle();
    const { input } = batchOf([message(0, null), message(1, 'a'), message(2, null), message(3, '')]);
    const run = runner.run(input, settle);

    // null@0, a@1 and the empty key @3 (a key, not a missing one) start together; null@2 waits for null@0.
    await until(() => started.length === 3, 'the three lanes started');
    expect(started).toEqual(['0', '1', '3']);
    answer('1');
    answer('3');
    await until(() => runner.inFlight === 1, 'two handlers released their slots');
    expect(started).toHaveLength(3);
    answer('0');
    await until(() => started.length === 4, 'the second keyless message started');
    answer('2');
    expect((await run).settled).toBe(4);
    expect([kafkaKey(message(0, null)), kafkaKey(message(0, ''))]).toEqual([null, '']);
  });

  it('reports handlers in flight, messages waiting per partition, and how long a key has held its next message', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(1));
    const { settle, answer, started } = controlledSettle();
    const run = runner.run(batchOf([message(0, 'a'), message(1, 'a'), message(2, 'b')], { partition: 4 }).input, settle);
    await until(() => started.length === 1, 'the first handler started');

    expect(runner.inFlight).toBe(1);
    expect(runner.waitingByPartition()).toEqual([{ topic: 'run.events', partition: 4, waiting: 2 }]);
    // a@1 waits behind a@0, which has been running since it started: its age grows while a@0 retries.
    const now = performance.now();
    expect(runner.oldestBlockedMs(now + 5000)).toBeGreaterThanOrEqual(5000);
    answer('0');
    await until(() => started.length === 2, 'the next handler started');
    answer(started[1]!);
    await until(() => started.length === 3, 'the last handler started');
    // The last message of each key blocks nothing.
    expect(runner.oldestBlockedMs()).toBe(0);
    answer(started[2]!);
    await run;
    expect([runner.inFlight, runner.waitingByPartition(), runner.oldestBlockedMs()]).toEqual([0, [], 0]);
  });

  it('heartbeats between messages and rethrows a heartbeat failure only after the running messages settle', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(2), { heartbeatEveryMs: 0, resolveEvery: 1 });
    const { settle, answer, started } = controlledSettle();
    const rebalance = new Error('The group is rebalancing, so a rejoin is needed');
    let heartbeats = 0;
    const { input, resolved } = batchOf([message(0, 'a'), message(1, 'b'), message(2, 'a')], {
      heartbeat: async () => {
        heartbeats += 1;
        throw rebalance;
      },
    });
    let failed = false;
    const run = runner.run(input, settle).catch((error: unknown) => {
      failed = true;
      throw error;
    });
    await until(() => started.length === 2, 'two handlers started');
    answer('0');
    await until(() => heartbeats === 1, 'a heartbeat after the first message');
    expect(failed).toBe(false);
    answer('1');
    await expect(run).rejects.toBe(rebalance);
    // a@2 was not started: the batch stopped at the failed heartbeat.
    expect(started).toEqual(['0', '1']);
    expect(resolved).toEqual(['0', '1']);
  });

  it('rethrows an error thrown by settle() once the batch is done, with that message unresolved', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(2));
    const { input, resolved } = batchOf([message(0, 'a'), message(1, 'b')]);
    await expect(
      runner.run(input, async (m) => {
        if (m.offset === '1') throw new Error('settle broke');
        return 'settled';
      }),
    ).rejects.toThrow('settle broke');
    expect(resolved).toEqual(['0']);
  });

  it('lets timers run while settle() answers without waiting', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(4));
    let timerFired = false;
    setTimeout(() => (timerFired = true), 0);
    let firedBeforeLast = false;
    const messages = Array.from({ length: 50 }, (_, i) => message(i, 'a'));
    await runner.run(batchOf(messages).input, async (m) => {
      // The first message keeps the CPU past the runner's yield threshold.
      if (m.offset === '0') for (const end = performance.now() + 20; performance.now() < end; );
      if (m.offset === '49') firedBeforeLast = timerFired;
      return 'settled';
    });
    expect(firedBeforeLast).toBe(true);
  });

  it('returns at once for an empty batch', async () => {
    const runner = new KeyedBatchRunner<TestMessage>(new InFlightLimit(1));
    const { input, resolved } = batchOf([]);
    expect(await runner.run(input, async () => 'settled')).toEqual({ settled: 0, unsettled: 0, notStarted: 0, resolvedOffset: undefined });
    expect(resolved).toEqual([]);
  });
});
