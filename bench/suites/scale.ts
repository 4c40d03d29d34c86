import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, AssignerProtocol } from 'kafkajs';
import { FETCH_MAX_BYTES_PER_PARTITION } from '../../src/kafka/kafka.server';
import { stopChild } from '../support/child';
import { benchEvents, EVENT_BYTES } from '../support/events';
import { FakeDependency } from '../support/fakes';
import { freePort } from '../support/http';
import { committedCount, createTopics, kafkaClient, produceEvents } from '../support/kafka';
import { spawnService } from '../support/service-process';
import { round, summarise, Summary } from '../support/stats';
import { BenchContext, rotate } from './context';

/** The service's default topic layout and the pod's settings (deploy/base/kustomization.yaml). */
export const SCALE_PARTITIONS = 6;
export const SCALE_MAX_IN_FLIGHT = 16;
/** A handler waiting on Slack or a database. */
export const SCALE_HANDLER_MS = 10;
const REPLICAS = [1, 2, 3] as const;
/** Events per throughput run: about 20 s of work for one process. */
const THROUGHPUT_EVENTS = 30_000;
/** The throughput window ends when this share of the events is handled, before the first partitions run dry. */
const WINDOW_END_SHARE = 0.9;
export const SCALE_UPS = 5;
const SCALE_UP_EVENTS = 30_000;
/** One process has handled this many when two more join (1 → 3, as an HPA scales up). */
const SCALE_UP_AT = 5_000;
/**
 * An event handled by two processes comes from a batch cut by a rebalance:
 * the old owner handled it, but it lay above the first event it had not
 * started, so its offset was not committed, and the partition's next owner
 * handles it again. So each partition that changes owner can bring back at
 * most one fetched batch: FETCH_MAX_BYTES_PER_PARTITION of values of
 * EVENT_BYTES each (fewer, with the records' own overhead).
 */
export const EVENTS_PER_BATCH_BOUND = Math.floor(FETCH_MAX_BYTES_PER_PARTITION / EVENT_BYTES);

const JOIN_MS = 90_000;
const DRAIN_MS = 300_000;

export interface ScaleUp {
  /** Events that two processes handled (each an at-least-once duplicate). */
  handledByTwo: number;
  /** Partitions that changed owner in the rebalances of the scale-up. */
  partitionMoves: number;
  /** partitionMoves × EVENTS_PER_BATCH_BOUND. */
  bound: number;
  /** Longest time with no event handled by any process, from the first handled to the last. */
  longestPauseMs: number;
  /** From the start of the two new processes to the first event one of them handled. */
  firstByNewMs: number;
}

export interface ScaleSection {
  partitions: number;
  handlerMs: number;
  maxInFlight: number;
  throughputEvents: number;
  /** Events per second handled by the whole group, one entry per process count. */
  throughput: Record<string, Summary>;
  /** Median throughput of N processes / (N × median throughput of one). */
  ratios: Record<string, number>;
  scaleUpEvents: number;
  scaleUpAt: number;
  eventsPerBatchBound: number;
  scaleUps: ScaleUp[];
  /** The largest handledByTwo / bound of the scale-ups (at most 1 when every one is within its bound). */
  worstDuplicateShareOfBound: number;
}

interface Handled {
  id: string;
  at: number;
}

/** The JSON lines of a service's log with this message. */
function logLines(file: string, msg: string): Array<Record<string, any>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>)
    .filter((line) => line.msg === msg);
}

const handled = (file: string): Handled[] => logLines(file, 'run event handled').map((l) => ({ id: l.eventId, at: Date.parse(l.time) }));

/** True once the group is stable with `members` members that share every partition between them. */
async function groupSpread(admin: Admin, groupId: string, members: number): Promise<boolean> {
  const {
    groups: [group],
  } = await admin.describeGroups([groupId]);
  if (group.state !== 'Stable' || group.members.length !== members) return false;
  const owned = group.members.map((m) => Object.values(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}).flat().length);
  return owned.every((n) => n > 0) && owned.reduce((a, b) => a + b, 0) === SCALE_PARTITIONS;
}

async function until(what: string, timeoutMs: number, services: ChildProcess[], condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    const exited = services.find((s) => s.exitCode !== null || s.signalCode !== null);
    if (exited) throw new Error(`a service exited (${exited.exitCode ?? exited.signalCode}) while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // poll interval
  }
}

/** How many partitions changed owner, from the assignments each process logged at each join, in time order. */
function partitionMoves(logFiles: string[]): number {
  const joins = logFiles
    .flatMap((file, member) =>
      logLines(file, 'consumer joined its group').map((l) => ({ at: Date.parse(l.time), member, partitions: Object.values(l.assignment as Record<string, number[]>).flat() })),
    )
    .sort((a, b) => a.at - b.at);
  const owner = new Map<number, number>();
  let moves = 0;
  for (const { member, partitions } of joins) {
    for (const p of partitions) {
      if (owner.has(p) && owner.get(p) !== member) moves += 1;
      owner.set(p, member);
    }
  }
  return moves;
}

/**
 * Service processes (`node dist/main.js` with RunEventHandlers replaced by
 * one that waits SCALE_HANDLER_MS, KAFKA_MAX_IN_FLIGHT=16) sharing one
 * consumer group on a 6-partition topic. Throughput: one, two and three
 * processes, joined and spread over the partitions before the events are
 * written; events per second from the end of the writing to the moment 90%
 * are handled. Scale-up: one process draining a backlog, two more started
 * at once after 5,000 events; events handled by two processes, and the
 * longest pause in handling, from the processes' log lines.
 */
export async function scaleSuite(ctx: BenchContext): Promise<ScaleSection> {
  const [vault, ory] = await Promise.all([FakeDependency.vault(), FakeDependency.ory()]);
  const admin = kafkaClient(ctx.bootstrap, 'bench-scale').admin();
  await admin.connect();
  let n = 0;
  /** Starts `count` processes in the group of `prefix`, numbered from `first` (their log files). */
  const group = async (count: number, prefix: string, first = 1) => {
    const services: Array<{ child: ChildProcess; logFile: string }> = [];
    for (let i = first; i < first + count; i += 1) {
      const logFile = join(ctx.workDir, `service-${prefix.slice(ctx.prefix.length + 1)}-${i}.log`);
      const child = spawnService({
        port: await freePort(),
        bootstrap: ctx.bootstrap,
        prefix,
        vaultUrl: vault.url,
        oryUrl: ory.url,
        logFile,
        handlerMs: SCALE_HANDLER_MS,
        env: { KAFKA_MAX_IN_FLIGHT: String(SCALE_MAX_IN_FLIGHT), KAFKA_TOPIC_PARTITIONS: String(SCALE_PARTITIONS) },
      });
      services.push({ child, logFile });
    }
    return services;
  };

  const throughputRuns = new Map<number, number[]>(REPLICAS.map((r) => [r, []]));
  const scaleUps: ScaleUp[] = [];
  try {
    for (let run = 0; run < ctx.runs; run += 1) {
      for (const replicas of rotate(REPLICAS, run)) {
        n += 1;
        const prefix = `${ctx.prefix}-scale${n}`;
        const topic = `${prefix}.run.events`;
        const groupId = `${prefix}-group`;
        await createTopics(ctx.bootstrap, [topic], SCALE_PARTITIONS);
        const services = await group(replicas, prefix);
        const children = services.map((s) => s.child);
        let written = 0;
        try {
          await until(`${replicas} processes to share the partitions`, JOIN_MS, children, () => groupSpread(admin, groupId, replicas));
          await produceEvents(ctx.bootstrap, topic, benchEvents(THROUGHPUT_EVENTS));
          written = Date.now();
          await until('every event to be committed', DRAIN_MS, children, async () => (await committedCount(admin, groupId, topic)) >= THROUGHPUT_EVENTS);
        } finally {
          await Promise.all(children.map((c) => stopChild(c)));
        }
        const firstTimes = new Map<string, number>();
        for (const h of services.flatMap((s) => handled(s.logFile))) firstTimes.set(h.id, Math.min(h.at, firstTimes.get(h.id) ?? Infinity));
        const times = [...firstTimes.values()].sort((a, b) => a - b);
        const end = times[Math.ceil(WINDOW_END_SHARE * THROUGHPUT_EVENTS) - 1];
        if (!(end > written)) throw new Error(`scale: ${WINDOW_END_SHARE * 100}% of the events were handled before the writing ended`);
        const rate = times.filter((t) => t > written && t <= end).length / ((end - written) / 1000);
        throughputRuns.get(replicas)!.push(round(rate, 0));
        ctx.progress(`scale: run ${run + 1}/${ctx.runs} ${replicas} process(es): ${Math.round(rate)} events/s`);
      }
    }

    for (let k = 0; k < SCALE_UPS; k += 1) {
      n += 1;
      const prefix = `${ctx.prefix}-scale${n}`;
      const topic = `${prefix}.run.events`;
      const groupId = `${prefix}-group`;
      await createTopics(ctx.bootstrap, [topic], SCALE_PARTITIONS);
      const events = benchEvents(SCALE_UP_EVENTS);
      await produceEvents(ctx.bootstrap, topic, events);
      const services = await group(1, prefix);
      let scaledAt = 0;
      try {
        await until(`${SCALE_UP_AT} events committed by one process`, DRAIN_MS, [services[0].child], async () => (await committedCount(admin, groupId, topic)) >= SCALE_UP_AT);
        scaledAt = Date.now();
        services.push(...(await group(2, prefix, 2)));
        const children = services.map((s) => s.child);
        await until('every event to be committed', DRAIN_MS, children, async () => (await committedCount(admin, groupId, topic)) >= SCALE_UP_EVENTS);
      } finally {
        await Promise.all(services.map((s) => stopChild(s.child)));
      }
      const byProcess = services.map((s) => handled(s.logFile));
      const processesOf = new Map<string, Set<number>>();
      byProcess.forEach((list, i) => list.forEach((h) => processesOf.set(h.id, (processesOf.get(h.id) ?? new Set()).add(i))));
      const missing = events.filter((e) => !processesOf.has(e.id)).length;
      if (missing > 0) throw new Error(`scale-up ${k + 1}: ${missing} committed events have no "run event handled" line`);
      const times = byProcess.flat().map((h) => h.at).sort((a, b) => a - b);
      const moves = partitionMoves(services.map((s) => s.logFile));
      const scaleUp: ScaleUp = {
        handledByTwo: [...processesOf.values()].filter((set) => set.size > 1).length,
        partitionMoves: moves,
        bound: moves * EVENTS_PER_BATCH_BOUND,
        longestPauseMs: times.slice(1).reduce((max, t, i) => Math.max(max, t - times[i]), 0),
        firstByNewMs: Math.min(...byProcess.slice(1).flat().map((h) => h.at)) - scaledAt,
      };
      scaleUps.push(scaleUp);
      ctx.progress(
        `scale: scale-up ${k + 1}/${SCALE_UPS}: ${scaleUp.handledByTwo} handled by two processes (bound ${scaleUp.bound}, ${moves} partitions moved), ` +
          `longest pause ${scaleUp.longestPauseMs} ms, first event of a new process ${scaleUp.firstByNewMs} ms after their start`,
      );
    }
  } finally {
    await admin.disconnect();
    await Promise.all([vault.close(), ory.close()]);
  }

  const throughput = Object.fromEntries([...throughputRuns].map(([replicas, runs]) => [String(replicas), summarise(runs)]));
  const one = throughput['1'].median;
  return {
    partitions: SCALE_PARTITIONS,
    handlerMs: SCALE_HANDLER_MS,
    maxInFlight: SCALE_MAX_IN_FLIGHT,
    throughputEvents: THROUGHPUT_EVENTS,
    throughput,
    ratios: Object.fromEntries(REPLICAS.filter((r) => r > 1).map((r) => [String(r), round(throughput[String(r)].median / (r * one))])),
    scaleUpEvents: SCALE_UP_EVENTS,
    scaleUpAt: SCALE_UP_AT,
    eventsPerBatchBound: EVENTS_PER_BATCH_BOUND,
    scaleUps,
    worstDuplicateShareOfBound: round(Math.max(...scaleUps.map((s) => (s.bound === 0 ? (s.handledByTwo === 0 ? 0 : Infinity) : s.handledByTwo / s.bound))), 4),
  };
}
