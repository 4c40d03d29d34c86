import { Attempt, HandlerAttempts, HandlerTimeoutError } from './handler-attempt';

/** Attempts with a 10 ms heartbeat step, counting heartbeats; they run on real timers, in tens of milliseconds. */
function attempts(timeoutMs: number, graceMs: number, heartbeat?: () => Promise<void>) {
  const beats = { count: 0 };
  const attempts = new HandlerAttempts({ timeoutMs, graceMs, heartbeatEveryMs: 10 });
  const beat =
    heartbeat ??
    (async () => {
      beats.count += 1;
    });
  return { beats, run: (handler: (attempt: Attempt) => Promise<void>) => attempts.run(handler, undefined, beat) };
}

const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HandlerAttempts', () => {
  it('returns success, and a handler error as a failure, without aborting the signal', async () => {
    let signal: AbortSignal | undefined;
    const ok = await attempts(1000, 100).run(async (attempt) => void (signal = attempt.signal));
    expect(ok).toEqual({ ok: true });
    expect(signal?.aborted).toBe(false);
    const failure = await attempts(1000, 100).run(() => Promise.reject(new Error('slack unavailable')));
    expect(failure).toEqual({ ok: false, error: new Error('slack unavailable') });
  });

  it('makes the signal when first read: read after the timeout, it is already aborted with the timeout error', async () => {
    let late: AbortSignal | undefined;
    const result = await attempts(20, 1000).run(async (attempt) => {
      await after(60);
      late = attempt.signal;
    });
    expect(result).toMatchObject({ ok: false, error: expect.any(HandlerTimeoutError) });
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBeInstanceOf(HandlerTimeoutError);
  });

  it('turns a synchronous throw into a failure', async () => {
    const failure = await attempts(1000, 100).run(() => {
      throw new Error('bad state');
    });
    expect(failure).toMatchObject({ ok: false, error: new Error('bad state') });
  });

  it('heartbeats while a slow handler runs', async () => {
    const { beats, run } = attempts(20000, 100);
    // The handler returns only once it has seen three heartbeats go out during its attempt.
    const handler = async () => {
      while (beats.count < 3) await after(5);
    };
    await expect(run(handler)).resolves.toEqual({ ok: true });
  });

  it('keeps the attempt going when a heartbeat fails, for the next one after it to report', async () => {
    let calls = 0;
    const heartbeat = () => {
      calls += 1;
      return Promise.reject(new Error('rebalance in progress'));
    };
    const handler = async () => {
      while (calls < 2) await after(5);
    };
    await expect(attempts(20000, 100, heartbeat).run(handler)).resolves.toEqual({ ok: true });
  });

  it('times out: aborts the signal with the timeout error, and waits for a handler that stops', async () => {
    let settledAt: number | undefined;
    const result = await attempts(50, 1000).run(({ signal }) =>
      new Promise<void>((_resolve, reject) => {
        signal.addEventListener('abort', () => setTimeout(() => reject(signal.reason), 20));
      }).finally(() => (settledAt = Date.now())),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(HandlerTimeoutError);
    expect((result.error as Error).message).toBe('handler timed out after 50 ms');
    expect(result.abandoned).toBeUndefined();
    // The next attempt may start only now: the timed-out one has settled.
    expect(settledAt).toBeDefined();
  });

  it('counts a handler that finishes after the timeout as failed', async () => {
    const result = await attempts(30, 1000).run(async () => void (await after(80)));
    expect(result).toMatchObject({ ok: false, error: expect.any(HandlerTimeoutError) });
  });

  it('times out each of several attempts at its own deadline, with one watch for all', async () => {
    const { run } = attempts(50, 1000);
    const first = run(() => new Promise<void>((_resolve, reject) => setTimeout(() => reject(new Error('stopped')), 70)));
    await after(30);
    // Started 30 ms after the first, it ends 40 ms into its own 50: after the first timed out, before its own deadline.
    const second = run(() => after(40).then(() => undefined));
    await expect(first).resolves.toMatchObject({ ok: false, error: expect.any(HandlerTimeoutError) });
    await expect(second).resolves.toEqual({ ok: true });
  });

  it('abandons a handler that ignores its signal past the grace, and tells when it settles', async () => {
    let finish!: () => void;
    const result = await attempts(20, 20).run(() => new Promise<void>((resolve) => (finish = resolve)));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.abandoned?.settled).toBe(false);
    finish();
    await result.abandoned!.done;
    expect(result.abandoned!.settled).toBe(true);
  });

  it('tells when an abandoned handler settles by rejecting, without an unhandled rejection', async () => {
    let fail!: (error: Error) => void;
    const result = await attempts(20, 20).run(() => new Promise<void>((_resolve, reject) => (fail = reject)));
    if (result.ok) throw new Error('expected a failed attempt');
    expect(result.abandoned?.settled).toBe(false);
    fail(new Error('gave up late'));
    await result.abandoned!.done;
    expect(result.abandoned!.settled).toBe(true);
  });
});
