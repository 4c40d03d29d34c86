import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnNode } from './child';
import { DIST_DIR } from './dist';
import { VAULT_TOKEN } from './fakes';

export const MAIN = join(DIST_DIR, 'main.js');
/** The same service with its run-event handlers waiting a given time per event; it runs dist/ (not BENCH_DIST). */
export const SLOW_HANDLERS = join(__dirname, '..', '..', 'test', 'support', 'service-with-slow-handlers.js');
export const MINIMAL_NEST = join(__dirname, '..', 'apps', 'minimal-nest.js');
export const BARE_HTTP = join(__dirname, '..', 'apps', 'bare-http.js');

export interface ServiceProcessOptions {
  port: number;
  bootstrap: string;
  prefix: string;
  vaultUrl: string;
  oryUrl: string;
  logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Extra environment, e.g. NODE_OPTIONS. */
  env?: Record<string, string>;
  /** Run SLOW_HANDLERS with handlers that wait this long per event, instead of dist/main.js. */
  handlerMs?: number;
}

/**
 * `node dist/main.js` as production runs it (JSON logs to stdout, here a
 * file), with Vault, Ory and Kafka configured and up, default cache TTL.
 */
export function spawnService(options: ServiceProcessOptions): ChildProcess {
  return spawnNode(
    [...(options.nodeArgs ?? []), ...(options.handlerMs === undefined ? [MAIN] : [SLOW_HANDLERS, String(options.handlerMs)])],
    {
      COFFEEBUDDY_ENVIRONMENT: 'prod',
      COFFEEBUDDY_HTTP_HOST: '127.0.0.1',
      COFFEEBUDDY_HTTP_PORT: String(options.port),
      VAULT_ADDR: options.vaultUrl,
      VAULT_TOKEN,
      ORY_BASE_URL: options.oryUrl,
      KAFKA_BOOTSTRAP_SERVERS: options.bootstrap,
      KAFKA_TOPIC_PREFIX: options.prefix,
      KAFKA_CONSUMER_GROUP: `${options.prefix}-group`,
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...options.env,
    },
    options.logFile,
  );
}

export function spawnMinimalNest(port: number, logFile: string): ChildProcess {
  return spawnNode([MINIMAL_NEST], { MINIMAL_PORT: String(port) }, logFile);
}

export function spawnBareHttp(port: number, bodies: Record<string, unknown>, logFile: string): ChildProcess {
  return spawnNode([BARE_HTTP], { BARE_PORT: String(port), BARE_BODIES: JSON.stringify(bodies) }, logFile);
}
