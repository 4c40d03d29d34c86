/**
 * The ids of the most recently handled events, up to `size` of them: an id
 * seen again inside the window is a duplicate. Memory stays bounded; an id
 * older than the window is forgotten.
 */
export class DedupeWindow {
  private readonly ids = new Set<string>();

  constructor(private readonly size: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Records an id not seen yet (callers check `has` first). */
  add(id: string): void {
    if (this.size === 0) return;
    this.ids.add(id);
    if (this.ids.size > this.size) {
      // A Set iterates in insertion order: the first id is the oldest.
      this.ids.delete(this.ids.values().next().value as string);
    }
  }
}
