import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Lifecycle } from '../runtime/lifecycle';

/** The process' own state: broken beyond recovery (liveness) or draining (readiness). */
@Injectable()
export class LifecycleHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: Lifecycle,
  ) {}

  /** True while no component is broken beyond recovery. */
  get healthy(): boolean {
    return this.lifecycle.brokenComponents().size === 0;
  }

  alive() {
    const session = this.indicators.check('process');
    const broken = [...this.lifecycle.brokenComponents()].map(([component, reason]) => `${component}: ${reason}`);
    return broken.length === 0 ? session.up() : session.down({ message: broken.join('; ') });
  }

  notDraining() {
    const session = this.indicators.check('process');
    return this.lifecycle.draining ? session.down({ message: 'shutting down' }) : session.up();
  }
}
