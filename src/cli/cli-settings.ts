import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processEnv } from '../runtime/settings';
import { parseSettings, Settings } from '../settings';

/**
 * Where `npm start` records the address of the broker it started on a random
 * port (scripts/start-local.js writes it, and removes it on exit).
 */
export const LOCAL_BROKER_FILE = join(__dirname, '..', '..', '.cache', 'local-kafka.json');

/**
 * The CLI's settings: the service's own, validated the same way, except that
 * an unset KAFKA_BOOTSTRAP_SERVERS falls back to the broker `npm start` runs.
 * That fallback lives here only: the service never guesses a broker.
 */
export function cliSettings(env: Readonly<Record<string, string | undefined>>, localBrokerFile = LOCAL_BROKER_FILE): Settings {
  if ((env.KAFKA_BOOTSTRAP_SERVERS ?? '').trim() !== '' || !existsSync(localBrokerFile)) return parseSettings(env);
  const { bootstrap } = JSON.parse(readFileSync(localBrokerFile, 'utf8')) as { bootstrap?: string };
  return parseSettings({ ...env, KAFKA_BOOTSTRAP_SERVERS: bootstrap });
}

/** The CLI's settings from the process environment. */
export function cliSettingsFromProcessEnv(): Settings {
  return cliSettings(processEnv());
}
