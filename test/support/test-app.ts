import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app';
import { LOG_DESTINATION } from '../../src/runtime/logger';
import { parseSettings } from '../../src/settings';
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

/** The real application from createApp(), listening on a loopback port, with its log lines captured. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const settings = parseSettings({
    COFFEEBUDDY_ENVIRONMENT: 'test',
    COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
    COFFEEBUDDY_LOG_FORMAT: 'json',
    ...options.env,
  });
  const logs = new LogCapture();
  const app = await createApp(settings, async (root, adapter) => {
    let builder = Test.createTestingModule({ imports: [root] }).overrideProvider(LOG_DESTINATION).useValue(logs);
    if (options.override) builder = options.override(builder);
    const moduleRef = await builder.compile();
    return moduleRef.createNestApplication<NestFastifyApplication>(adapter, { bufferLogs: true });
  });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, logs, close: () => app.close() };
}
