import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app';
import { LOG_DESTINATION } from '../../src/runtime/logger';
import { parseSettings } from '../../src/settings';
import { onCleanup } from './cleanup';
import { LogCapture } from './log-capture';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

/**
 * The real application from createApp(), listening on a loopback port, with
 * its log lines captured. The app joins the cleanup registry the moment Nest
 * creates it, before it connects or listens, so a failure anywhere after
 * that still closes it. `close()` may be called any number of times.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const settings = parseSettings({
    COFFEEBUDDY_ENVIRONMENT: 'test',
    COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
    COFFEEBUDDY_LOG_FORMAT: 'json',
    ...options.env,
  });
  const logs = new LogCapture();
  let closing: Promise<void> | undefined;
  const close = (created: NestFastifyApplication) => (closing ??= created.close());
  const app = await createApp(settings, async (root, adapter) => {
    let builder = Test.createTestingModule({ imports: [root] }).overrideProvider(LOG_DESTINATION).useValue(logs);
    if (options.override) builder = options.override(builder);
    const moduleRef = await builder.compile();
    const created = moduleRef.createNestApplication<NestFastifyApplication>(adapter, { bufferLogs: true });
    onCleanup('test app', () => close(created));
    return created;
  });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, logs, close: () => close(app) };
}
