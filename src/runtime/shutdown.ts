import { INestApplication } from '@nestjs/common';
import { Lifecycle } from './lifecycle';
import { AppLogger } from './logger';
import { LifecycleSettings } from './settings';

/**
 * The drain on SIGTERM/SIGINT: readiness turns 503 at once, then the Kafka
 * consumer stops fetching and finishes what it holds, then the modules close
 * (producer flushed and disconnected), then the HTTP server. Nest's own
 * order would close the modules before the microservices, so the consumer is
 * closed explicitly first. Past the timeout the process exits 1.
 */
export async function drain(app: INestApplication): Promise<void> {
  app.get(Lifecycle).beginDrain();
  for (const microservice of app.getMicroservices()) {
    await microservice.close();
  }
  await app.close();
}

export function exitOnSignals(app: INestApplication, exit: (code: number) => void = process.exit): void {
  const logger = app.get(AppLogger);
  const log = logger.child('Shutdown');
  const { shutdownTimeoutMs } = app.get(LifecycleSettings);
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    log.info({ signal, timeoutMs: shutdownTimeoutMs }, 'shutdown started');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: shutdownTimeoutMs }, 'shutdown timed out, exiting');
      logger.flush();
      exit(1);
    }, shutdownTimeoutMs);
    drain(app).then(
      () => {
        clearTimeout(timer);
        log.info('shutdown complete');
        logger.flush();
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        log.error({ err: error }, 'shutdown failed');
        logger.flush();
        exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
