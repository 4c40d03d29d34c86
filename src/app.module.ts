import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { RuntimeModule } from './runtime/runtime.module';
import { Settings } from './runtime/settings';

@Module({})
export class AppModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: AppModule,
      imports: [RuntimeModule.forRoot(settings), MetricsModule, HealthModule],
    };
  }
}
