import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Logger } from 'pino';
import { DependencyMetrics } from '../metrics/dependency-metrics';
import { AppLogger } from '../runtime/logger';
import { HealthSettings } from './health.settings';

/** A check that resolves when the dependency is up and throws an Error with a short reason when not. */
export type Probe = (signal: AbortSignal) => Promise<void>;

/**
 * Runs dependency checks for the readiness probe. Each check is bounded by
 * the dependency timeout; concurrent probes share one check in flight and a
 * result is reused for the cache TTL (Terminus' attempt cache), so a storm
 * of probes never becomes a storm on Vault or Ory. Only checks that really
 * ran update the metrics, and a change of state is logged once.
 */
@Injectable()
export class DependencyCheck {
  private readonly log: Logger;
  private readonly lastState = new Map<string, boolean>();

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly metrics: DependencyMetrics,
    private readonly settings: HealthSettings,
    logger: AppLogger,
  ) {
    this.log = logger.child('DependencyCheck');
  }

  run(dependency: string, probe: Probe): PromiseLike<HealthIndicatorResult<string>> {
    return this.indicators
      .check(dependency)
      .attempt(async ({ signal }) => {
        const started = performance.now();
        try {
          await probe(signal);
          this.record(dependency, true);
        } catch (error) {
          // Terminus reports the timeout itself; the aborted request lands here too.
          const reason = signal.aborted ? `timeout of ${this.settings.dependencyTimeoutMs}ms exceeded` : (error as Error).message;
          this.record(dependency, false, reason);
          throw error;
        } finally {
          this.metrics.observeDuration(dependency, (performance.now() - started) / 1000);
        }
      })
      .withTimeout(this.settings.dependencyTimeoutMs)
      .cacheFor(this.settings.cacheTtlMs);
  }

  private record(dependency: string, up: boolean, reason?: string): void {
    this.metrics.setUp(dependency, up);
    const previous = this.lastState.get(dependency);
    if (previous === up) return;
    this.lastState.set(dependency, up);
    if (up) this.log.info({ dependency }, 'dependency up');
    // A dependency first seen down is one the starting service is still waiting for (Kafka's
    // consumer joining its group): info. Going down after being up is a warning.
    else this.log[previous === undefined ? 'info' : 'warn']({ dependency, reason }, 'dependency down');
  }
}
