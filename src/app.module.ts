import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule } from './health/health.module';
import { KafkaModule } from './kafka/kafka.module';
import { MetricsModule } from './metrics/metrics.module';
import { RunEventsModule } from './run-events/run-events.module';
import { RuntimeModule } from './runtime/runtime.module';
import { Settings } from './settings';

@Module({})
export class AppModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: AppModule,
      imports: [RuntimeModule.forRoot(settings), MetricsModule, KafkaModule, HealthModule, RunEventsModule],
    };
  }
}
