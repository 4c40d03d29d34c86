import { parseArgs, ParseArgsConfig } from 'node:util';
import { ConfigurationError, Settings } from '../settings';
import { CliError, UsageError } from './cli-error';
import { CliIo } from './cli-io';
import { parseKinds, parseSince } from './dead-letter';
import { DeadLetterStore } from './dead-letter-store';
import { listDeadLetters } from './dead-letters-list';
import { replayDeadLetters } from './dead-letters-replay';
import { parseLetterReference, showDeadLetter } from './dead-letters-show';
import { eventsFromFile, publishEvents, validate } from './publish';
import { sampleEvent } from './sample-events';

export const USAGE = `usage: coffeebuddy-cli <command> [options]

  dead-letters list [--reason KIND]... [--since ISO|DURATION] [--limit N] [--json]
  dead-letters show <dlq-partition:offset | event-id>
  dead-letters replay [--reason KIND]... [--event-id ID]... [--since ISO|DURATION] [--dry-run] [--yes]
  publish --file event.json
  publish --sample TYPE --run RUN_ID

Reads the service's KAFKA_* settings. Locally, without KAFKA_BOOTSTRAP_SERVERS,
it uses the broker \`npm start\` started. DURATION: 90s, 15m, 2h, 7d, 1h30m.
replay selects handler_failed and handler_permanent_failure letters unless --reason says otherwise.`;

type Options = NonNullable<ParseArgsConfig['options']>;

const FILTER_OPTIONS = {
  reason: { type: 'string', multiple: true },
  since: { type: 'string' },
} satisfies Options;

/**
 * Runs one command and resolves to its exit code. Every failure the operator
 * can act on is a CliError (one line); settings are read only once the
 * command line is known to be sound.
 */
export async function runCli(argv: readonly string[], io: CliIo, loadSettings: () => Settings): Promise<number> {
  const [command, subcommand, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command !== undefined) io.out(USAGE);
    else io.err(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'publish') return publish([subcommand, ...rest].filter((arg) => arg !== undefined), io, loadSettings);
  if (command !== 'dead-letters') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  switch (subcommand) {
    case 'list': {
      const { values } = parse(rest, { ...FILTER_OPTIONS, limit: { type: 'string' }, json: { type: 'boolean' } });
      const options = { filter: filterOf(values), limit: limitOf(values.limit), json: values.json === true };
      return withStore(loadSettings, (store) => listDeadLetters(store, options, io));
    }
    case 'show': {
      const { positionals } = parse(rest, {}, true);
      if (positionals.length > 1) throw new UsageError('dead-letters show takes one letter');
      const reference = parseLetterReference(positionals[0]);
      return withStore(loadSettings, (store) => showDeadLetter(store, reference, io));
    }
    case 'replay': {
      const { values } = parse(rest, {
        ...FILTER_OPTIONS,
        'event-id': { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
      });
      const eventIds = values['event-id'] as string[] | undefined;
      const options = { filter: { ...filterOf(values), eventIds }, dryRun: values['dry-run'] === true, yes: values.yes === true };
      return withStore(loadSettings, (store) => replayDeadLetters(store, options, io));
    }
    case undefined:
      throw new UsageError('dead-letters needs a subcommand: list, show or replay');
    default:
      throw new UsageError(`unknown command "dead-letters ${subcommand}"`);
  }
}

async function publish(args: string[], io: CliIo, loadSettings: () => Settings): Promise<number> {
  const { values } = parse(args, { file: { type: 'string' }, sample: { type: 'string' }, run: { type: 'string' } });
  const file = values.file as string | undefined;
  const sample = values.sample as string | undefined;
  const run = values.run as string | undefined;
  if ((file === undefined) === (sample === undefined)) throw new UsageError('publish needs either --file or --sample');
  if (sample !== undefined && run === undefined) throw new UsageError('publish --sample needs --run RUN_ID');
  if (file !== undefined && run !== undefined) throw new UsageError('--run goes with --sample, not --file');
  const events = file !== undefined ? await eventsFromFile(file) : validate([sampleEvent(sample!, run!)], `sample ${sample}`);
  return publishEvents(settingsOrExit(loadSettings), events, io);
}

async function withStore(loadSettings: () => Settings, command: (store: DeadLetterStore) => Promise<number>): Promise<number> {
  const store = await DeadLetterStore.open(settingsOrExit(loadSettings).kafka);
  try {
    return await command(store);
  } finally {
    await store.close();
  }
}

/** The service's one-message configuration error, exit 1. */
function settingsOrExit(loadSettings: () => Settings): Settings {
  try {
    return loadSettings();
  } catch (error) {
    if (error instanceof ConfigurationError) throw new CliError(error.message, 1);
    throw error;
  }
}

function parse(args: string[], options: Options, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

function filterOf(values: Record<string, unknown>) {
  return { kinds: parseKinds(values.reason as string[] | undefined), since: parseSince(values.since as string | undefined) };
}

function limitOf(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new UsageError(`--limit must be a positive integer (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}
