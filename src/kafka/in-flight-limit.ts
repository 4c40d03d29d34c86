/**
 * A process-wide bound on handlers running at once (`KAFKA_MAX_IN_FLIGHT`),
 * shared by every concurrent eachBatch call. Slots are handed out first come,
 * first served, so one busy partition cannot starve the others.
 */
export class InFlightLimit {
  private running = 0;
  private readonly waiters: Array<() => void> = [];
  private head = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`in-flight limit must be an integer of at least 1, got ${max}`);
  }

  /** Handlers holding a slot now. */
  get inFlight(): number {
    return this.running;
  }

  /** Callers queued for a slot. */
  get queued(): number {
    return this.waiters.length - this.head;
  }

  /** Takes a slot at once when one is free and nobody is queued ahead. */
  tryAcquire(): boolean {
    if (this.running >= this.max || this.queued > 0) return false;
    this.running += 1;
    return true;
  }

  /** Resolves once a slot is held; call release() exactly once afterwards. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.queued === 0) {
      if (this.running === 0) throw new Error('InFlightLimit.release() without a matching acquire()');
      this.running -= 1;
      return;
    }
    // The slot passes straight to the next waiter: `running` is unchanged.
    const next = this.waiters[this.head]!;
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
    next();
  }
}
