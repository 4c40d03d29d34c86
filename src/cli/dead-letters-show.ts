import { CliError, UsageError } from './cli-error';
import { CliIo } from './cli-io';
import { DeadLetterRecord, headerText } from './dead-letter';
import { DeadLetterStore } from './dead-letter-store';

const COORDINATES = /^(\d+):(\d+)$/;
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks a `show` argument before any broker is contacted. */
export function parseLetterReference(reference: string | undefined): string {
  if (reference === undefined) throw new UsageError('dead-letters show needs a dead-letter partition:offset or an event id');
  if (reference.includes(':') ? !COORDINATES.test(reference) : !EVENT_ID.test(reference)) {
    throw new UsageError(`${JSON.stringify(reference)} is neither a dead-letter partition:offset (such as 0:42) nor an event id (a UUID)`);
  }
  return reference.replace(COORDINATES, (_, partition: string, offset: string) => `${Number(partition)}:${BigInt(offset)}`);
}

/** `dead-letters show`: the whole letter (or every letter of one event id): headers, key, value. */
export async function showDeadLetter(store: DeadLetterStore, reference: string, io: CliIo): Promise<number> {
  const byRef = COORDINATES.test(reference);
  const found = (await store.letters()).filter((letter) => (byRef ? letter.ref === reference : letter.event?.id === reference));
  if (found.length === 0) throw new CliError(`no dead letter ${byRef ? 'at' : 'with event id'} ${reference} in ${store.dlqTopic}`);
  io.out(found.map(render).join('\n\n'));
  return 0;
}

function render(letter: DeadLetterRecord): string {
  const headers = Object.keys(letter.headers).map((name) => `  ${name}: ${headerText(letter.headers, name)}`);
  return [
    `dead letter ${letter.ref}${letter.replay ? ` [${letter.replay}]` : ''}`,
    'headers:',
    ...headers,
    `key: ${letter.key === null ? '(none)' : letter.key.toString()}`,
    'value:',
    pretty(letter.value),
  ].join('\n');
}

function pretty(value: Buffer | null): string {
  if (value === null) return '(none)';
  const text = value.toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
