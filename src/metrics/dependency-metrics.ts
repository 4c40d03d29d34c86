import { Injectable } from '@nestjs/common';
import { Gauge, Histogram, Registry } from 'prom-client';

/** Outcome and duration of the checks behind /health/ready, per dependency. */
@Injectable()
export class DependencyMetrics {
  private readonly up: Gauge<'dependency'>;
  private readonly duration: Histogram<'dependency'>;

  constructor(registry: Registry) {
    this.up = new Gauge({
      name: 'coffeebuddy_dependency_up',
      help: 'Whether the last check of a dependency found it up (1) or down (0).',
      labelNames: ['dependency'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'coffeebuddy_dependency_check_duration_seconds',
      help: 'Duration of dependency checks that actually reached the dependency (cached results excluded).',
      labelNames: ['dependency'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    });
  }

  setUp(dependency: string, up: boolean): void {
    this.up.set({ dependency }, up ? 1 : 0);
  }

  observeDuration(dependency: string, seconds: number): void {
    this.duration.observe({ dependency }, seconds);
  }
}
