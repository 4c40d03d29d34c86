import { HandlerTimeoutError, runAttempt } from './handler-attempt';

/** Counts heartbeats; the attempts below run on real timers, in tens of milliseconds. */
function options(timeoutMs: number, graceMs: number) {
  const beats = { count: 0 };
  return {
    beats,
    options: {
      timeoutMs,
      graceMs,
      heartbeatEveryMs: 10,
      heartbeat: async () => {
        beats.count += 1;
      },
    },
  };
}

const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runAttempt', () => {
  it('returns success, and a handler error as a failure, without aborting the signal', async () => {
    let signal: AbortSignal | undefined;
    const ok = await runAttempt(async (attempt) => void (signal = attempt.signal), options(1000, 100).options);
    expect(ok).toEqual({ ok: true });
    expect(signal?.aborted).toBe(false);
    const failure = await runAttempt(() => Promise.reject(new Error('slack unavailable')), options(1000, 100).options);
    expect(failure).toEqual({ ok: false, error: new Error('slack unavailable') });
  });

  it('turns a synchronous throw into a failure', async () => {
    const failure = await runAttempt(() => {
      throw new Error('bad state');
    }, options(1000, 100).options);
    expect(failure).toMatchObject({ ok: false, error: new Error('bad state') });
  });

  it('heartbeats while a slow handler runs', async () => {
    const { beats, options: slow } = options(20000, 100);
    // The handler returns only once it has seen three heartbeats go out during its attempt.
    const handler = async () => {
      while (beats.count < 3) await after(5);
    };
    await expect(runAttempt(handler, slow)).resolves.toEqual({ ok: true });
  });

  it('keeps the attempt going when a heartbeat fails, for the next one after it to report', async () => {
    let calls = 0;
    const heartbeat = () => {
      calls += 1;
      return Promise.reject(new Error('rebalance in progress'));
    };
    const failing = { ...options(20000, 100).options, heartbeat };
    const handler = async () => {
      while (calls < 2) await after(5);
    };
    await expect(runAttempt(handler, failing)).resolves.toEqual({ ok: true });
  });

  it('times out: aborts the signal with the timeout error, and waits for a handler that stops', async () => {
    let settledAt: number | undefined;
    const result = await runAttempt(
      ({ signal }) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => setTimeout(() => reject(signal.reason), 20));
        }).finally(() => (settledAt = Date.now())),
      options(50, 1000).options,
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
    const result = await runAttempt(async () => void (await after(80)), options(30, 1000).options);
    expect(result).toMatchObject({ ok: false, error: expect.any(HandlerTimeoutError) });
  });

  it('abandons a handler that ignores its signal past the grace, and tells when it settles', async () => {
    let finish!: () => void;
    const result = await runAttempt(() => new Promise<void>((resolve) => (finish = resolve)), options(20, 20).options);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.abandoned?.settled).toBe(false);
    finish();
    await result.abandoned!.done;
    expect(result.abandoned!.settled).toBe(true);
  });
});
