import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { Lifecycle } from './lifecycle';
import { Tracing } from './tracing';
import { AppLogger, createDestination, LOG_DESTINATION } from './logger';
import { LogSettings } from './settings';

/**
 * Settings slices, logging and lifecycle state, available to every module.
 * Each config object of the settings is provided under its class
 * (HttpSettings, KafkaConfig, ...), whichever module brought it.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(settings: Readonly<Record<string, object>>): DynamicModule {
    const slices: Provider[] = Object.entries(settings).map(([name, config]) => {
      if (config.constructor === Object) throw new Error(`settings.${name} is not an instance of its config class`);
      return { provide: config.constructor, useValue: config };
    });
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
