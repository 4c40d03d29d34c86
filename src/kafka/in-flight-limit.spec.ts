import { InFlightLimit } from './in-flight-limit';

describe('InFlightLimit', () => {
  it('hands slots out first come, first served, and passes a released slot to the next waiter', async () => {
    const limit = new InFlightLimit(1);
    expect(limit.tryAcquire()).toBe(true);
    const order: string[] = [];
    const first = limit.acquire().then(() => order.push('first'));
    const second = limit.acquire().then(() => order.push('second'));
    expect(limit.tryAcquire()).toBe(false);
    expect([limit.inFlight, limit.queued]).toEqual([1, 2]);
    limit.release();
    await first;
    expect([order, limit.inFlight, limit.queued]).toEqual([['first'], 1, 1]);
    limit.release();
    await second;
    limit.release();
    expect([order, limit.inFlight, limit.queued]).toEqual([['first', 'second'], 0, 0]);
  });

  it('refuses a queue-jumping tryAcquire while others wait', async () => {
    const limit = new InFlightLimit(2);
    limit.tryAcquire();
    limit.tryAcquire();
    const waiter = limit.acquire();
    limit.release();
    expect(limit.tryAcquire()).toBe(false);
    await waiter;
    expect(limit.inFlight).toBe(2);
  });

  it('rejects a limit below 1 or not an integer, and a release without an acquire', () => {
    expect(() => new InFlightLimit(0)).toThrow('in-flight limit must be an integer of at least 1, got 0');
    expect(() => new InFlightLimit(1.5)).toThrow(RangeError);
    expect(() => new InFlightLimit(1).release()).toThrow('release() without a matching acquire()');
  });
});
