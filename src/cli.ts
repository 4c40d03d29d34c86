import { CliError } from './cli/cli-error';
import { terminalIo } from './cli/cli-io';
import { cliSettingsFromProcessEnv } from './cli/cli-settings';
import { runCli } from './cli/run-cli';
import { dropKafkajsNegativeTimeoutWarning } from './kafka/kafkajs-timer-warning';

/**
 * `node dist/cli.js …` (`npm run cli -- …` locally): operators' commands for
 * dead letters and publishing. Exits once the command is done, without
 * waiting for kafkajs' timers; a CliError is printed as one line.
 */
async function main(): Promise<number> {
  // Bad input gets one line on stderr: not a Node warning about kafkajs' timers on Node 24.
  dropKafkajsNegativeTimeoutWarning();
  const io = terminalIo();
  try {
    return await runCli(process.argv.slice(2), io, cliSettingsFromProcessEnv);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    io.err(`coffeebuddy-cli failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

void main().then((code) => {
  // Let stdout and stderr drain before exiting (they are pipes under kubectl exec).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
