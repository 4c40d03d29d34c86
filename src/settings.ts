import { healthSettings } from './health/health.settings';
import { kafkaSettings } from './kafka/kafka.config';
import { runEventsSettings } from './run-events/run-events.settings';
import { composeSettings, Env, processEnv, runtimeSettings } from './runtime/settings';
import { tracingSettings } from './runtime/tracing.config';

export { ConfigurationError } from './runtime/settings';

/** The service's settings: each module's slice, composed once, here. */
const settings = composeSettings(runtimeSettings, healthSettings, kafkaSettings, runEventsSettings, tracingSettings);

export type Settings = ReturnType<typeof settings.parse>;

/** Every environment variable the service reads. */
export const SETTINGS_VARIABLES: readonly string[] = settings.variables;

/** Variables whose values are never echoed, in errors or logs. */
export const SECRET_VARIABLES: readonly string[] = settings.secrets;

/** Validates every variable at once and throws one ConfigurationError naming each bad one. */
export function parseSettings(env: Env): Settings {
  return settings.parse(env);
}

/** The service's settings from the process environment. */
export function settingsFromProcessEnv(): Settings {
  return parseSettings(processEnv());
}
