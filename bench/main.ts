import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { BrokerHandle, startBroker } from '../scripts/kafka-broker';
import { killChildren } from './support/child';
import { deleteRunArtifacts } from './support/kafka';
import { moduleLoadTable, profileTable, resultsTable, Sections, targets, topFunctionsTable } from './support/report';
import { backlogSuite } from './suites/backlog';
import { consumeSuite } from './suites/consume';
import { consumeIoSuite } from './suites/consume-io';
import { failingRunSuite } from './suites/failing-run';
import { BenchContext, ROOT } from './suites/context';
import { latencySuite } from './suites/latency';
import { probesSuite } from './suites/probes';
import { publishSuite } from './suites/publish';
import { scaleSuite } from './suites/scale';
import { startupSuite } from './suites/startup';

/**
 * `npm run bench`: the run-event pipeline against raw kafkajs and stock Nest,
 * the probes against bare node:http, start-up and memory against a minimal
 * Nest app, all on one broker in one run. Progress goes to stderr; the table
 * to stdout; everything to bench/results/latest.json.
 *
 * Environment: KAFKA_BOOTSTRAP_SERVERS (use that broker instead of starting
 * one), BENCH_RUNS (repetitions, default 3), BENCH_SUITES (comma-separated
 * subset of consume,consume-io,publish,latency,probes,startup,backlog,failing-run,scale).
 */
const SUITES = {
  consume: consumeSuite,
  'consume-io': consumeIoSuite,
  publish: publishSuite,
  latency: latencySuite,
  probes: probesSuite,
  startup: startupSuite,
  backlog: backlogSuite,
  'failing-run': failingRunSuite,
  scale: scaleSuite,
};
type SuiteName = keyof typeof SUITES;

function machine() {
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // no coreutils: the CPU count Node sees
  }
  return {
    nproc,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: release(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The commit the service was built from, and whether src/ differed from it. */
function revision(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} with uncommitted changes in src/` : commit;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  // Read before anything runs: dist/ was just built from this state of src/.
  const built = process.env.BENCH_DIST ? `BENCH_DIST=${process.env.BENCH_DIST}` : revision();
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const only = (process.env.BENCH_SUITES ?? Object.keys(SUITES).join(',')).split(',').map((s) => s.trim()) as SuiteName[];
  const unknown = only.filter((name) => !(name in SUITES));
  if (unknown.length > 0 || !(runs >= 1)) throw new Error(`bad BENCH_SUITES (${unknown.join(', ')}) or BENCH_RUNS`);
  const progress = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'coffeebuddy-bench-'));
  const loadBefore = loadavg();
  if (loadBefore[0] > machine().nproc * 0.75) {
    progress(`warning: the machine is busy (load average ${loadBefore[0].toFixed(2)}): figures will be noisy`);
  }

  let broker: BrokerHandle | undefined;
  let bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS;
  const prefix = `bench-${Date.now().toString(36)}`;
  let failed = false;
  const cleanUp = async () => {
    killChildren();
    if (broker) {
      await broker.stop();
      rmSync(broker.dataDir, { recursive: true, force: true });
    } else if (bootstrap) {
      await deleteRunArtifacts(bootstrap, prefix).catch((error: unknown) => progress(`could not delete the run's topics and groups: ${String(error)}`));
    }
    if (failed) progress(`logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping`);
      failed = true;
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    if (!bootstrap) {
      progress('starting the local Kafka broker (scripts/kafka-broker.js)');
      broker = await startBroker({ dataDir: join(workDir, 'kafka') });
      bootstrap = broker.bootstrap;
    }
    progress(`broker ${bootstrap}, topic prefix ${prefix}, ${runs} runs each`);
    const ctx: BenchContext = { bootstrap, prefix, runs, workDir, resultsDir, progress };
    const sections: Sections = {};
    // The 1-minute load average around each suite (the benchmark's own processes included): a busy neighbour shows here.
    const suiteLoad: Record<string, [number, number]> = {};
    for (const name of only) {
      progress(`${name}: start`);
      const before = loadavg()[0];
      (sections as Record<string, unknown>)[name] = await SUITES[name](ctx);
      suiteLoad[name] = [Number(before.toFixed(2)), Number(loadavg()[0].toFixed(2))];
    }

    const table = resultsTable(sections);
    const profiles = sections.consume?.profiles ?? {};
    const results = {
      command: 'npm run bench',
      revision: built,
      startedAt: new Date(started).toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      machine: {
        ...machine(),
        loadAverageBefore: loadBefore.map((l) => Number(l.toFixed(2))),
        loadAverageAfter: loadavg().map((l) => Number(l.toFixed(2))),
        suiteLoad,
      },
      broker: { bootstrap, startedByBench: Boolean(broker), version: broker ? `${broker.version} (KRaft, single node)` : 'not started by the benchmark' },
      runs,
      targets: targets(sections),
      ...sections,
      table,
    };
    writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);

    const m = results.machine;
    const out = [
      `Benchmarks of ${results.revision}, ${results.startedAt}: ${m.nproc} CPUs (${m.cpuModel}), Node ${m.node}, Kafka ${results.broker.version}, ` +
        `medians of ${runs} runs (min–max), load average before/after ${m.loadAverageBefore[0]} / ${m.loadAverageAfter[0]}`,
      '',
      table,
    ];
    if (profiles.pipeline) {
      out.push('', 'Where the consumers spend CPU (--cpu-prof, measured window only):', '', profileTable(profiles, 'byCaller'));
      out.push('', profileTable(profiles, 'byOwner'));
      out.push('', 'Top self-time functions of the pipeline:', '', topFunctionsTable(profiles.pipeline));
    }
    if (sections.publish) {
      out.push('', 'Where publishBatch spends CPU:', '', profileTable({ publisher: sections.publish.publisherProfile }));
    }
    if (sections.probes) {
      const live = sections.probes.liveProfile;
      out.push('', 'Where the service spends CPU on /health/live:', '');
      out.push(profileTable({ 'service /health/live': { ...live, messagesPerSecond: live.requestsPerSecond } }, 'byCaller', 'request'));
      out.push('', topFunctionsTable(live, 12));
    }
    if (sections.startup) {
      out.push('', 'What each package adds to the start (medians):', '', moduleLoadTable(sections.startup));
    }
    // The benchmark itself keeps every CPU busy (client, server, broker): only a load well above that means a neighbour.
    const limit = m.nproc * 1.5;
    const busy = Object.entries(suiteLoad).filter(([, [before, after]]) => Math.max(before, after) > limit);
    if (busy.length > 0) {
      out.push('', `Warning: load average above ${limit} around ${busy.map(([name]) => name).join(', ')}: another process competed for the CPUs.`);
    }
    out.push('', `Results: bench/results/latest.json (${results.durationS} s)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
