import { IHeaders } from 'kafkajs';
import { DeadLetterKind } from '../run-events/dead-letter-writer';
import { CliError } from './cli-error';
import { CliIo } from './cli-io';
import { DeadLetterRecord, LetterFilter, matches } from './dead-letter';
import { DeadLetterStore } from './dead-letter-store';

/** Replayed unless a --reason says otherwise: a malformed value would only be dead-lettered again. */
export const DEFAULT_REPLAY_KINDS: readonly DeadLetterKind[] = ['handler_failed', 'handler_permanent_failure'];

export const REPLAYED_FROM = 'dlq.replayed.from';
export const REPLAYED_AT = 'dlq.replayed.at';

/** A progress line every this many letters. */
const PROGRESS_EVERY = 100;

export interface ReplayOptions {
  filter: LetterFilter;
  dryRun: boolean;
  yes: boolean;
}

/**
 * `dead-letters replay`: sends each selected letter back to its original
 * topic, once. A letter is claimed in the marker topic before it is sent,
 * so no later run, whatever its filters, sends it again; a failed send
 * releases the claim.
 */
export async function replayDeadLetters(store: DeadLetterStore, options: ReplayOptions, io: CliIo): Promise<number> {
  const filter = { ...options.filter, kinds: options.filter.kinds ?? DEFAULT_REPLAY_KINDS };
  const matching = (await store.letters()).filter((letter) => matches(letter, filter));
  const selected = matching.filter((letter) => !letter.replay);
  const skipped = matching.length - selected.length;
  const already = skipped > 0 ? ` (${skipped} matching letter(s) already replayed, skipped)` : '';
  if (selected.length === 0) {
    io.out(`nothing to replay${already}`);
    return 0;
  }
  if (options.dryRun) {
    for (const letter of selected) io.out(`would replay ${describe(letter)}`);
    io.out(`dry run: ${selected.length} letter(s) would be replayed${already}; nothing was sent`);
    return 0;
  }
  if (!options.yes) {
    if (!io.interactive) {
      throw new CliError(`refusing to replay ${selected.length} letter(s) without confirmation: no terminal to ask on; pass --yes`);
    }
    if (!(await io.confirm(`Replay ${selected.length} dead letter(s) from ${store.dlqTopic}${already}?`))) {
      io.err('replay cancelled, nothing was sent');
      return 1;
    }
  }

  await store.ensureMarkerTopic();
  const failed: Array<{ letter: DeadLetterRecord; reason: string }> = [];
  const failedRuns = new Set<string>();
  let replayed = 0;
  for (const [index, letter] of selected.entries()) {
    // Letters of one run go out in dead-letter order: after one fails, its later ones wait.
    const run = letter.key?.toString();
    if (run !== undefined && failedRuns.has(run)) {
      failed.push({ letter, reason: 'not sent: an earlier letter of its run failed' });
    } else {
      const reason = await replayOne(store, letter);
      if (reason === undefined) replayed += 1;
      else {
        failed.push({ letter, reason });
        if (run !== undefined) failedRuns.add(run);
      }
    }
    if ((index + 1) % PROGRESS_EVERY === 0 && index + 1 < selected.length) io.err(`progress: ${index + 1}/${selected.length}`);
  }
  io.out(`replayed ${replayed} of ${selected.length} letter(s) from ${store.dlqTopic}${already}`);
  if (failed.length === 0) return 0;
  for (const { letter, reason } of failed) io.err(`not replayed: ${describe(letter)}: ${reason}`);
  throw new CliError(`${failed.length} letter(s) did not go out: ${failed.map(({ letter }) => letter.ref).join(', ')}`);
}

/** Claims, sends, and confirms one letter; returns why it did not go out, if it did not. */
async function replayOne(store: DeadLetterStore, letter: DeadLetterRecord): Promise<string | undefined> {
  if (!letter.originalTopic) return 'the letter has no dlq.original.topic header';
  const eventId = letter.event?.id;
  try {
    await store.mark(letter, { state: 'replaying', at: new Date().toISOString(), eventId });
  } catch (error) {
    return `could not record the replay: ${messageOf(error)}`;
  }
  const at = new Date().toISOString();
  try {
    await store.republish(letter, letter.originalTopic, replayHeaders(letter, at));
  } catch (error) {
    const release = await store.mark(letter, null).then(
      () => '',
      (releaseError: unknown) => `; its claim could not be released (${messageOf(releaseError)}), so it stays marked replaying`,
    );
    return `${messageOf(error)}${release}`;
  }
  // The event is out; a failure to confirm leaves the claim, which already stops a second replay.
  await store.mark(letter, { state: 'replayed', at, eventId }).catch(() => undefined);
  return undefined;
}

/** The original headers without the dlq.* ones, plus where and when the replay came from. */
export function replayHeaders(letter: DeadLetterRecord, at: string): IHeaders {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(letter.headers)) {
    if (!name.startsWith('dlq.') && value !== undefined) headers[name] = value;
  }
  return { ...headers, [REPLAYED_FROM]: letter.ref, [REPLAYED_AT]: at };
}

function describe(letter: DeadLetterRecord): string {
  const event = letter.event?.id ? ` event ${letter.event.id} (${letter.event.type ?? '?'}, run ${letter.event.runId ?? '?'})` : '';
  return `${letter.ref} ${letter.kind}${event} to ${letter.originalTopic ?? '?'}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
