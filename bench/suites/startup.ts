import { ChildProcess, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cpuMs, rssMb, stopChild } from '../support/child';
import { DIST_DIR } from '../support/dist';
import { FakeDependency } from '../support/fakes';
import { freePort, until } from '../support/http';
import { spawnMinimalNest, spawnService } from '../support/service-process';
import { round, summarise, Summary } from '../support/stats';
import { BenchContext, ROOT, rotate } from './context';

/** After start-up, how long a process is left alone before its RSS is read. */
export const SETTLE_MS = 2000;
/** Start-up times scatter more than the other figures, and a run costs only seconds: at least this many runs. */
const MIN_RUNS = 5;

type App = 'service' | 'minimal-nest';

/**
 * What the service loads at start, in the order a fresh process pulls it in:
 * the first four are all the minimal Nest app loads; the rest is the
 * service's own (dist/app.js last, with what is left of its imports).
 */
export const LOAD_ORDER = [
  'reflect-metadata',
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-fastify',
  '@nestjs/microservices',
  '@nestjs/terminus',
  '@willsoto/nestjs-prometheus',
  'prom-client',
  'kafkajs',
  'axios',
  'zod',
  'pino',
  'dist/app.js',
];
const MINIMAL_LOADS = 4;

export interface StartupSection {
  runs: number;
  settleMs: number;
  /** startupCpuMs: CPU time (all threads) the process used until its first 200, which a busy neighbour does not inflate as it does the wall time. */
  apps: Record<App, { startupMs: Summary; startupCpuMs: Summary; idleRssMb: Summary }>;
  ratios: { startup: number; startupCpu: number; idleRss: number };
  /** Time and resident memory each module adds when loaded in LOAD_ORDER by a fresh process (medians of the runs). */
  moduleLoadMs: Array<{ module: string; ms: number; rssMb: number; inMinimalApp: boolean }>;
  moduleLoadTotals: { minimalApp: number; service: number; minimalAppRssMb: number; serviceRssMb: number };
}

export async function startupSuite(ctx: BenchContext): Promise<StartupSection> {
  const [vault, ory] = await Promise.all([FakeDependency.vault(), FakeDependency.ory()]);
  const results = new Map<App, Array<{ startupMs: number; startupCpuMs: number; idleRssMb: number }>>([
    ['service', []],
    ['minimal-nest', []],
  ]);
  let n = 0;
  const runs = Math.max(ctx.runs, MIN_RUNS);
  try {
    for (let run = 0; run < runs; run += 1) {
      for (const app of rotate(['service', 'minimal-nest'] as App[], run)) {
        n += 1;
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        const started = performance.now();
        const child: ChildProcess =
          app === 'service'
            ? spawnService({
                port,
                bootstrap: ctx.bootstrap,
                prefix: `${ctx.prefix}-startup${n}`,
                vaultUrl: vault.url,
                oryUrl: ory.url,
                logFile: join(ctx.workDir, `service-startup-${n}.log`),
              })
            : spawnMinimalNest(port, join(ctx.workDir, `minimal-nest-${n}.log`));
        try {
          await until(`${base}/health/live`, 200, 30_000, 2);
          const startupMs = performance.now() - started;
          const startupCpuMs = cpuMs(child.pid!);
          // Idle: the service once it is ready (Kafka consumer in its group, Vault and Ory checked), then left alone.
          if (app === 'service') await until(`${base}/health/ready`, 200, 60_000, 50);
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
          const idleRssMb = rssMb(child.pid!);
          results.get(app)!.push({ startupMs, startupCpuMs, idleRssMb });
          ctx.progress(
            `start-up: run ${run + 1}/${runs} ${app}: ${Math.round(startupMs)} ms to /health/live (${Math.round(startupCpuMs)} ms of CPU), idle RSS ${idleRssMb.toFixed(1)} MiB`,
          );
        } finally {
          await stopChild(child);
        }
      }
    }
  } finally {
    await Promise.all([vault.close(), ory.close()]);
  }
  const loads: Array<Array<{ module: string; ms: number; rssMb: number }>> = [];
  for (let run = 0; run < ctx.runs; run += 1) {
    const modules = LOAD_ORDER.map((name) => (name === 'dist/app.js' ? join(DIST_DIR, 'app.js') : name));
    const output = execFileSync(process.execPath, [join(ROOT, 'bench', 'apps', 'load-times.js'), ...modules], { cwd: ROOT, encoding: 'utf8' });
    loads.push(JSON.parse(output.trim().split('\n').pop()!) as Array<{ module: string; ms: number; rssMb: number }>);
  }
  const moduleLoadMs = LOAD_ORDER.map((module, i) => ({
    module,
    ms: round(summarise(loads.map((run) => run[i].ms)).median, 0),
    rssMb: round(summarise(loads.map((run) => run[i].rssMb)).median, 1),
    inMinimalApp: i < MINIMAL_LOADS,
  }));
  const sum = (rows: typeof moduleLoadMs, key: 'ms' | 'rssMb' = 'ms') => round(rows.reduce((total, row) => total + row[key], 0), 1);
  ctx.progress(`start-up: loading code takes ${sum(moduleLoadMs)} ms for the service, ${sum(moduleLoadMs.slice(0, MINIMAL_LOADS))} ms for the minimal app`);

  const apps = Object.fromEntries(
    [...results].map(([app, runs]) => [
      app,
      {
        startupMs: summarise(runs.map((r) => round(r.startupMs, 0))),
        startupCpuMs: summarise(runs.map((r) => round(r.startupCpuMs, 0))),
        idleRssMb: summarise(runs.map((r) => round(r.idleRssMb, 1))),
      },
    ]),
  ) as StartupSection['apps'];
  return {
    runs,
    settleMs: SETTLE_MS,
    apps,
    ratios: {
      startup: round(apps.service.startupMs.median / apps['minimal-nest'].startupMs.median),
      startupCpu: round(apps.service.startupCpuMs.median / apps['minimal-nest'].startupCpuMs.median),
      idleRss: round(apps.service.idleRssMb.median / apps['minimal-nest'].idleRssMb.median),
    },
    moduleLoadMs,
    moduleLoadTotals: {
      minimalApp: sum(moduleLoadMs.slice(0, MINIMAL_LOADS)),
      service: sum(moduleLoadMs),
      minimalAppRssMb: sum(moduleLoadMs.slice(0, MINIMAL_LOADS), 'rssMb'),
      serviceRssMb: sum(moduleLoadMs, 'rssMb'),
    },
  };
}
