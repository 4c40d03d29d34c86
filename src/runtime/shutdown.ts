import { INestApplication } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
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

/**
 * While the drain runs, every answer closes its connection. The HTTP server
 * closes idle keep-alive connections when it stops, but a request in flight
 * at that moment would leave its connection open once answered, and hold the
 * drain until the shutdown timeout.
 */
export function closeConnectionsWhileDraining(http: FastifyInstance, lifecycle: Lifecycle): void {
  http.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.draining) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** Exit code of a shutdown cut short by a second SIGINT: 128 + 2, as a shell reports death by SIGINT. */
export const FORCED_EXIT_CODE = 130;

/**
 * Installs the drain on SIGTERM and SIGINT. The handlers stay installed for
 * the whole drain, so Node's default action (die at once) never applies:
 * a second SIGTERM (Kubernetes, a supervisor, a repeated `kill`) is logged
 * and ignored, and the drain goes on; a SIGINT during the drain (Ctrl-C
 * twice) forces the exit at once with code 130, as Docker Compose and most
 * command-line tools do.
 */
export function exitOnSignals(app: INestApplication, exit: (code: number) => void = process.exit): void {
  const logger = app.get(AppLogger);
  const log = logger.child('Shutdown');
  const { shutdownTimeoutMs } = app.get(LifecycleSettings);
  let started = false;
  const finish = (code: number) => {
    logger.flush();
    exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      if (signal === 'SIGINT') {
        log.warn({ signal, exitCode: FORCED_EXIT_CODE }, 'shutdown forced, exiting without finishing the drain');
        finish(FORCED_EXIT_CODE);
      } else {
        log.info({ signal }, 'shutdown already in progress, signal ignored');
      }
      return;
    }
    started = true;
    log.info({ signal, timeoutMs: shutdownTimeoutMs }, 'shutdown started');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: shutdownTimeoutMs }, 'shutdown timed out, exiting');
      finish(1);
    }, shutdownTimeoutMs);
    drain(app).then(
      () => {
        clearTimeout(timer);
        log.info('shutdown complete');
        finish(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        log.error({ err: error }, 'shutdown failed');
        finish(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
