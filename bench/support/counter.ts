import { profileClockUs } from './worker';

/** Counts handled messages and notes when the first and the last arrived. */
export class Counter {
  count = 0;
  firstAt = 0;
  firstUs = 0;
  lastAt = 0;
  lastUs = 0;
  firstCpu?: NodeJS.CpuUsage;
  cpu?: NodeJS.CpuUsage;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(private readonly expected: number) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  add(n = 1): void {
    if (this.count === 0) {
      this.firstAt = performance.now();
      this.firstUs = profileClockUs();
      this.firstCpu = process.cpuUsage();
    }
    this.count += n;
    if (this.count >= this.expected) {
      this.lastAt = performance.now();
      this.lastUs = profileClockUs();
      this.cpu = process.cpuUsage(this.firstCpu);
      this.finish();
    }
  }
}
