import { DynamicModule, Global, Module } from '@nestjs/common';
import { KafkaConfig } from '../kafka/kafka.config';
import { Lifecycle } from './lifecycle';
import { Tracing } from './tracing';
import { AppLogger, createDestination, LOG_DESTINATION } from './logger';
import { TracingSettings } from './tracing.config';
import { HealthSettings, HttpSettings, LifecycleSettings, LogSettings, OrySettings, Settings, VaultSettings } from './settings';

/** Settings slices, logging and lifecycle state, available to every module. */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(settings: Settings): DynamicModule {
    const slices = [
      { provide: HttpSettings, useValue: settings.http },
      { provide: LogSettings, useValue: settings.log },
      { provide: VaultSettings, useValue: settings.vault },
      { provide: OrySettings, useValue: settings.ory },
      { provide: HealthSettings, useValue: settings.health },
      { provide: LifecycleSettings, useValue: settings.lifecycle },
      { provide: KafkaConfig, useValue: settings.kafka },
      { provide: TracingSettings, useValue: settings.tracing },
    ];
    const providers = [
      ...slices,
      { provide: LOG_DESTINATION, useFactory: createDestination, inject: [LogSettings] },
      AppLogger,
      Lifecycle,
      Tracing,
    ];
    return { module: RuntimeModule, providers, exports: providers };
  }
}
