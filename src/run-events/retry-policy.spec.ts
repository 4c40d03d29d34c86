import { backoffMs } from '../kafka/keep-trying';
import { nextOutageRetryMs, nextRetryMs, RetryPolicy } from './retry-policy';

const defaults: RetryPolicy = { budgetMs: 30000, initialBackoffMs: 200, maxBackoffMs: 10000, outageLimitMs: 21_600_000 };

/**
 * Plays a handler that always fails, each attempt taking `attemptMs`, through
 * the policy, and returns when and after how many attempts it is dead-lettered.
 */
function playAlwaysFailing(policy: RetryPolicy, attemptMs: number, retryAfterMs?: number) {
  let clock = 0;
  const waits: number[] = [];
  for (let attempt = 1; ; attempt += 1) {
    clock += attemptMs;
    const wait = nextRetryMs(policy, { attempt, elapsedMs: clock, retryAfterMs });
    if (wait === undefined) return { attempts: attempt, deadLetteredAtMs: clock, waits };
    waits.push(wait);
    clock += wait;
  }
}

describe('backoffMs', () => {
  it('doubles from the initial backoff up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffMs(attempt, 200, 10000))).toEqual([
      200, 400, 800, 1600, 3200, 6400, 10000, 10000,
    ]);
  });
});

describe('nextRetryMs: the retry budget is time', () => {
  it('with the defaults, dead-letters fast failures only after 30 s, and reaches the maximum backoff', () => {
    const { attempts, deadLetteredAtMs, waits } = playAlwaysFailing(defaults, 1);
    expect(deadLetteredAtMs).toBeGreaterThanOrEqual(30000);
    expect(deadLetteredAtMs).toBeLessThan(30000 + 10);
    expect(waits.slice(0, 7)).toEqual([200, 400, 800, 1600, 3200, 6400, 10000]);
    expect(attempts).toBe(9);
  });

  it('counts attempts that hit the handler timeout: three 10 s timeouts spend the budget', () => {
    const { attempts, deadLetteredAtMs } = playAlwaysFailing(defaults, 10000);
    expect(attempts).toBe(3);
    expect(deadLetteredAtMs).toBeGreaterThanOrEqual(30000);
  });

  it('cuts the last wait to the end of the budget, so the last attempt starts as the budget ends', () => {
    expect(nextRetryMs(defaults, { attempt: 7, elapsedMs: 25000 })).toBe(5000);
    expect(nextRetryMs(defaults, { attempt: 7, elapsedMs: 29999.5 })).toBe(1);
    expect(nextRetryMs(defaults, { attempt: 7, elapsedMs: 30000 })).toBeUndefined();
  });

  it('honours a Retry-After longer than the backoff, within the budget', () => {
    expect(nextRetryMs(defaults, { attempt: 1, elapsedMs: 5, retryAfterMs: 7000 })).toBe(7000);
    expect(nextRetryMs(defaults, { attempt: 1, elapsedMs: 5, retryAfterMs: 50 })).toBe(200);
    expect(nextRetryMs(defaults, { attempt: 1, elapsedMs: 5, retryAfterMs: 120000 })).toBe(29995);
    const limited = playAlwaysFailing(defaults, 1, 12000);
    expect(limited.waits).toEqual([12000, 12000, 5997]);
    expect(limited.deadLetteredAtMs).toBeGreaterThanOrEqual(30000);
  });

  it('a zero budget dead-letters at the first failure', () => {
    expect(nextRetryMs({ ...defaults, budgetMs: 0 }, { attempt: 1, elapsedMs: 0 })).toBeUndefined();
  });
});

describe('nextOutageRetryMs', () => {
  it("waits the handler's Retry-After when given, else the backoff up to its maximum, and never spends the budget", () => {
    expect(nextOutageRetryMs(defaults, { attempt: 1, outageMs: 60_000, retryAfterMs: 5000 })).toBe(5000);
    expect(nextOutageRetryMs(defaults, { attempt: 1, outageMs: 60_000, retryAfterMs: 50 })).toBe(50);
    expect(nextOutageRetryMs(defaults, { attempt: 1, outageMs: 60_000 })).toBe(200);
    expect(nextOutageRetryMs(defaults, { attempt: 30, outageMs: 3_600_000 })).toBe(10000);
  });

  it('stops at the outage limit: the last wait is cut to its end, then none', () => {
    expect(nextOutageRetryMs(defaults, { attempt: 9, outageMs: 21_600_000 - 3000, retryAfterMs: 5000 })).toBe(3000);
    expect(nextOutageRetryMs(defaults, { attempt: 9, outageMs: 21_600_000 })).toBeUndefined();
  });
});
