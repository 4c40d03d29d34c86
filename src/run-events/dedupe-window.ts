/**
 * The ids of the most recently handled events, up to `size` of them: an id
 * seen again inside the window is a duplicate. Memory stays bounded (about
 * 120 bytes an id for a UUID: the string, its Set entry and its ring slot);
 * an id older than the window is forgotten.
 */
export class DedupeWindow {
  private readonly ids = new Set<string>();
  /** Insertion order, oldest at `next` once full: evicting by key keeps `add` O(1). */
  private readonly ring: string[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Records an id not seen yet (callers check `has` first). */
  add(id: string): void {
    if (this.size === 0) return;
    if (this.ring.length < this.size) {
      this.ring.push(id);
    } else {
      // Not `ids.values().next()`: a Set keeps deleted entries as holes until it
      // rehashes, so finding its first live entry grows with every eviction.
      this.ids.delete(this.ring[this.next]);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.size;
    }
    this.ids.add(id);
  }
}
