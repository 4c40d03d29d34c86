import { Injectable } from '@nestjs/common';

/**
 * What the process knows about itself: whether it is draining (readiness
 * turns 503 at once on SIGTERM) and whether a part of it is broken beyond
 * recovery (liveness turns 503 so Kubernetes restarts the pod).
 */
@Injectable()
export class Lifecycle {
  private drainingSince?: Date;
  private readonly broken = new Map<string, string>();

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  beginDrain(): void {
    this.drainingSince ??= new Date();
  }

  markBroken(component: string, reason: string): void {
    this.broken.set(component, reason);
  }

  /** Reasons the process cannot recover from, by component; empty while healthy. */
  brokenComponents(): ReadonlyMap<string, string> {
    return this.broken;
  }
}
