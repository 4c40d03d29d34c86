import { RunEvent } from '../../src/run-events/run-event.schema';
import { isolatedKafkaEnv, orderPlaced, produceEvents } from '../support/kafka';
import { freePort } from '../support/ports';
import { ServiceProcess } from '../support/service-process';
import { testTimeout, waitFor } from '../support/wait';

const JOIN_MS = 60_000;
const FLOW_MS = 60_000;
/** Longest SIGTERM to exit: far below the 30 s retry wait the process must not sit out. */
const QUICK_EXIT_MS = 10_000;

type Attempt = { eventId: string; runId: string; start: number; end: number; ok: boolean };

/** A service process whose handler fails every event of `runId` until `until` (wall clock). */
async function spawnService(env: Record<string, string>, runId: string, until: number): Promise<ServiceProcess> {
  const port = await freePort();
  const service = ServiceProcess.spawn(
    { ...env, COFFEEBUDDY_HTTP_HOST: '127.0.0.1', COFFEEBUDDY_HTTP_PORT: String(port), COFFEEBUDDY_SHUTDOWN_TIMEOUT_MS: '15000' },
    { failingRun: { runId, until } },
  );
  await service.waitForLine('consumer joined its group', JOIN_MS);
  return service;
}

/** The handler attempts a process wrote to stderr, one JSON line each. */
function attemptsOf(service: ServiceProcess): Attempt[] {
  return service.stderr
    .split('\n')
    .filter((line) => line.startsWith('{"attempt"'))
    .map((line) => (JSON.parse(line) as { attempt: Attempt }).attempt);
}

const succeeded = (...services: ServiceProcess[]) => services.flatMap((s) => attemptsOf(s).filter((a) => a.ok).map((a) => a.eventId));

describe('a run waiting for its next attempt, its partition paused', () => {
  it(
    'when a second process joins the group: no event is attempted by both at once, and nothing is lost',
    async () => {
      const env: Record<string, string> = { ...isolatedKafkaEnv(), KAFKA_TOPIC_PARTITIONS: '6', KAFKA_RETRY_BUDGET_MS: '120000' };
      const failUntil = Date.now() + 15_000;
      const first = await spawnService(env, 'run-failing', failUntil);
      const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
      const failing = [orderPlaced('run-failing', 0), orderPlaced('run-failing', 1)];
      const others = Array.from({ length: 60 }, (_, i) => orderPlaced(`run-other-${i % 12}`, Math.floor(i / 12)));
      await produceEvents(topic, failing);
      await first.waitForLine('partition paused', FLOW_MS);

      const second = await spawnService(env, 'run-failing', failUntil);
      await produceEvents(topic, others);
      const all: RunEvent[] = [...failing, ...others];
      await waitFor(
        () => all.every((e) => succeeded(first, second).includes(e.id)),
        () => `every event handled (${new Set(succeeded(first, second)).size} of ${all.length})`,
        failUntil - Date.now() + FLOW_MS,
      );
      // The failing run went on failing past the join, so its wait spanned the rebalance.
      expect(attemptsOf(first).filter((a) => a.runId === 'run-failing' && !a.ok).length).toBeGreaterThan(0);
      const joinedAt = Date.parse(String(second.withMessage('consumer joined its group')[0]!.time));
      expect(Math.max(...[first, second].flatMap(attemptsOf).filter((a) => !a.ok).map((a) => a.end))).toBeGreaterThan(joinedAt);
      // No two attempts of one event overlapped, across both processes.
      const byEvent = new Map<string, Attempt[]>();
      for (const attempt of [...attemptsOf(first), ...attemptsOf(second)]) byEvent.set(attempt.eventId, [...(byEvent.get(attempt.eventId) ?? []), attempt]);
      for (const attempts of byEvent.values()) {
        const sorted = attempts.sort((a, b) => a.start - b.start);
        for (let i = 1; i < sorted.length; i += 1) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
      }
      // The failing run's events, in order: its first succeeded before its second was attempted.
      const firstOk = [first, second].flatMap(attemptsOf).find((a) => a.eventId === failing[0]!.id && a.ok)!;
      const secondAttempts = [first, second].flatMap(attemptsOf).filter((a) => a.eventId === failing[1]!.id);
      for (const attempt of secondAttempts) expect(attempt.start).toBeGreaterThanOrEqual(firstOk.end);
      expect(first.withMessage('run event dead-lettered')).toEqual([]);
      expect(second.withMessage('run event dead-lettered')).toEqual([]);
    },
    testTimeout(JOIN_MS, FLOW_MS, JOIN_MS, 15_000 + FLOW_MS),
  );

  it(
    'on SIGTERM: the process exits 0 without sitting out the wait, and the next process handles the waiting event',
    async () => {
      const env: Record<string, string> = {
        ...isolatedKafkaEnv(),
        KAFKA_TOPIC_PARTITIONS: '6',
        KAFKA_RETRY_BUDGET_MS: '120000',
        KAFKA_RETRY_INITIAL_BACKOFF_MS: '30000',
        KAFKA_RETRY_MAX_BACKOFF_MS: '30000',
      };
      const first = await spawnService(env, 'run-failing', Number.MAX_SAFE_INTEGER);
      const topic = `${env.KAFKA_TOPIC_PREFIX}.run.events`;
      const [waiting, next] = [orderPlaced('run-failing', 0), orderPlaced('run-failing', 1)];
      await produceEvents(topic, [waiting!, next!]);
      const paused = await first.waitForLine('partition paused', FLOW_MS);
      expect(paused).toMatchObject({ eventId: waiting!.id, reason: 'retry' });
      expect(paused.resumeInMs).toBeGreaterThan(QUICK_EXIT_MS);

      const signalledAt = Date.now();
      first.kill('SIGTERM');
      expect(await first.waitForExit('SIGTERM', QUICK_EXIT_MS)).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(QUICK_EXIT_MS);
      expect(succeeded(first)).toEqual([]);

      const second = await spawnService(env, 'run-failing', 0);
      await waitFor(() => succeeded(second).includes(next!.id), 'the next process to handle the waiting run', FLOW_MS);
      expect(succeeded(second)).toEqual([waiting!.id, next!.id]);
    },
    testTimeout(JOIN_MS, FLOW_MS, QUICK_EXIT_MS, JOIN_MS, FLOW_MS),
  );
});
