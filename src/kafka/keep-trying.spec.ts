import { keepTrying } from './keep-trying';

describe('keepTrying', () => {
  it('returns false as soon as it is aborted during an attempt, and cleans up once the abandoned attempt settles', async () => {
    const stopping = new AbortController();
    let finishAttempt!: () => void;
    const attempt = new Promise<void>((resolve) => (finishAttempt = resolve));
    const cleanedUp: string[] = [];
    const trying = keepTrying(() => attempt, {
      signal: stopping.signal,
      onFailure: () => cleanedUp.push('failure'),
      onAbandoned: async () => {
        cleanedUp.push('abandoned');
      },
    });
    stopping.abort();
    await expect(trying).resolves.toBe(false);
    expect(cleanedUp).toEqual([]);
    finishAttempt();
    await attempt;
    await new Promise((resolve) => setImmediate(resolve));
    expect(cleanedUp).toEqual(['abandoned']);
  });

  it('retries a failed attempt after reporting it, and returns true once one succeeds', async () => {
    const failures: number[] = [];
    let calls = 0;
    const connected = await keepTrying(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error(`refused ${calls}`);
      },
      { signal: new AbortController().signal, onFailure: (_, retryInMs) => failures.push(retryInMs), initialDelayMs: 1, maxDelayMs: 2 },
    );
    expect(connected).toBe(true);
    expect(failures).toEqual([1, 2]);
  });
});
