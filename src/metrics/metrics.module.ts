import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DependencyMetrics } from './dependency-metrics';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { TracingMetrics } from './tracing-metrics';

/**
 * One prom-client Registry per application instance, injected wherever a
 * metric is declared: several apps in one process (tests) never collide on
 * a metric registered twice.
 */
const registryProvider = {
  provide: Registry,
  useFactory: () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  },
};

@Global()
@Module({
  imports: [
    PrometheusModule.register({ controller: MetricsController, path: '/metrics', defaultMetrics: { enabled: false } }),
  ],
  providers: [registryProvider, HttpMetrics, DependencyMetrics, TracingMetrics],
  exports: [registryProvider, HttpMetrics, DependencyMetrics],
})
export class MetricsModule {}
