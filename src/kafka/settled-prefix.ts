/**
 * Offset tracking for one partition's batch: messages settle in any order,
 * and only the prefix of the batch below its first unsettled message may be
 * committed (the "settled prefix"). Work is by position in the batch, so gaps
 * in offsets (compaction, transaction markers) need no special case.
 */
export class SettledPrefix {
  private readonly settled: Uint8Array;
  private next = 0;

  constructor(private readonly offsets: readonly string[]) {
    this.settled = new Uint8Array(offsets.length);
  }

  /** Marks the message at `index` settled; true when the prefix grew. */
  settle(index: number): boolean {
    this.settled[index] = 1;
    if (index !== this.next) return false;
    while (this.next < this.settled.length && this.settled[this.next] === 1) this.next += 1;
    return true;
  }

  /** How many messages, from the start of the batch, are all settled. */
  get length(): number {
    return this.next;
  }

  /** The highest offset below which (and at which) every message is settled; undefined when none is. */
  get lastOffset(): string | undefined {
    return this.next === 0 ? undefined : this.offsets[this.next - 1];
  }

  /** The offsets settled above the prefix (behind an unsettled message), in batch order. */
  settledAbove(): string[] {
    const offsets: string[] = [];
    for (let index = this.next + 1; index < this.settled.length; index += 1) if (this.settled[index] === 1) offsets.push(this.offsets[index]!);
    return offsets;
  }
}
