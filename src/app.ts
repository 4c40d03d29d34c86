import { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { KafkaServer } from './kafka/kafka.server';
import { HttpMetrics } from './metrics/http-metrics';
import { Lifecycle } from './runtime/lifecycle';
import { AppLogger } from './runtime/logger';
import { Tracing } from './runtime/tracing';
import { closeConnectionsWhileDraining } from './runtime/shutdown';
import { Settings } from './settings';

/** Builds the Nest application from its root module; tests pass one that compiles a TestingModule with overrides. */
export type AppFactory = (root: DynamicModule, adapter: FastifyAdapter) => Promise<NestFastifyApplication>;

export const nestFactory: AppFactory = (root, adapter) =>
  NestFactory.create<NestFastifyApplication>(root, adapter, { bufferLogs: true, abortOnError: false });

/**
 * Builds and initialises the whole application, HTTP and Kafka, the same way
 * for main.ts and for tests. The caller decides where to listen.
 */
export async function createApp(settings: Settings, factory: AppFactory = nestFactory): Promise<NestFastifyApplication> {
  const app = await factory(AppModule.forRoot(settings), new FastifyAdapter());
  app.useLogger(app.get(AppLogger));
  app.get(Tracing).instrument(app.getHttpAdapter().getInstance());
  app.get(HttpMetrics).install(app.getHttpAdapter().getInstance());
  closeConnectionsWhileDraining(app.getHttpAdapter().getInstance(), app.get(Lifecycle));
  if (settings.kafka.brokers) {
    app.connectMicroservice({ strategy: app.get(KafkaServer) }, { inheritAppConfig: true });
  }
  await app.init();
  // Returns at once: the consumer connects in the background, so HTTP serves while Kafka is down.
  await app.startAllMicroservices();
  return app;
}
