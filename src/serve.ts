import { AppFactory, createApp, nestFactory } from './app';
import { dropKafkajsNegativeTimeoutWarning } from './kafka/kafkajs-timer-warning';
import { exitOnSignals } from './runtime/shutdown';
import { ConfigurationError, settingsFromProcessEnv, Settings } from './settings';

async function start(factory: AppFactory): Promise<void> {
  dropKafkajsNegativeTimeoutWarning();
  let settings: Settings;
  try {
    settings = settingsFromProcessEnv();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    // A configuration error is the operator's to fix: one clear message, no stack trace.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const app = await createApp(settings, factory);
  exitOnSignals(app);
  await app.listen(settings.http.port, settings.http.host);
}

/**
 * Runs the service as a process: settings from the environment, the app,
 * the signal handlers, HTTP. `node dist/main.js` calls it with Nest's own
 * factory; a test entry point may pass one that overrides providers.
 */
export function serve(factory: AppFactory = nestFactory): void {
  start(factory).catch((error: unknown) => {
    process.stderr.write(`coffeebuddy-runtime failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
