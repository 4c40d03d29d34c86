import { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type * as SettingsModule from '../../src/settings';
import { cpuMs, stopChild } from '../support/child';
import { DIST_DIR } from '../support/dist';
import { FakeDependency } from '../support/fakes';
import { freePort, get, until } from '../support/http';
import { ProfileSummary, summariseProfile } from '../support/profile';
import { spawnBareHttp, spawnMinimalNest, spawnService } from '../support/service-process';
import { round, summarise, Summary } from '../support/stats';
import { profileClockUs } from '../support/worker';
import { BenchContext, rotate } from './context';

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = require('autocannon') as (options: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

export const CONNECTIONS = 10;
export const DURATION_S = 5;
const WARMUP_S = 1;

type Target = 'service /health/live' | 'minimal Nest /health/live' | 'bare /health/live' | 'service /health/ready' | 'bare /health/ready';
const TARGETS: Target[] = ['service /health/live', 'minimal Nest /health/live', 'bare /health/live', 'service /health/ready', 'bare /health/ready'];

export interface ProbesSection {
  connections: number;
  durationS: number;
  cacheTtlMs: number;
  /** Per target: requests per second and latency seen by autocannon, and the server process' CPU time per request. */
  targets: Record<Target, { requestsPerSecond: Summary; p99Ms: Summary; p50Ms: Summary; serverCpuUsPerRequest: Summary }>;
  ratios: { liveVsBare: number; liveVsMinimalNest: number; minimalNestVsBare: number; readyVsBare: number };
  /** Requests that reached the fakes while the service answered `readyRequests` readiness probes. */
  readyRequests: number;
  vaultCalls: number;
  oryCalls: number;
  /** CPU profile of the service under the /health/live load (one more run, under --cpu-prof); "messages" are requests. */
  liveProfile: ProfileSummary & { requestsPerSecond: number; file: string };
}

/**
 * The service (`node dist/main.js`, Vault and Ory fakes up, Kafka up, default
 * cache TTL) against a bare node:http server answering the same JSON bodies,
 * and against the minimal Nest app of the start-up benchmark; autocannon runs
 * in this process, each server in its own.
 */
export async function probesSuite(ctx: BenchContext): Promise<ProbesSection> {
  const [vault, ory] = await Promise.all([FakeDependency.vault(), FakeDependency.ory()]);
  const [servicePort, barePort, minimalPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const service = spawnService({
    port: servicePort,
    bootstrap: ctx.bootstrap,
    prefix: `${ctx.prefix}-probes`,
    vaultUrl: vault.url,
    oryUrl: ory.url,
    logFile: join(ctx.workDir, 'service-probes.log'),
  });
  const minimal = spawnMinimalNest(minimalPort, join(ctx.workDir, 'minimal-nest-probes.log'));
  let bare: ChildProcess | undefined;
  try {
    const base = `http://127.0.0.1:${servicePort}`;
    await until(`${base}/health/ready`, 200, 60_000, 50);
    const bodies = {
      '/health/live': JSON.parse((await get(`${base}/health/live`))!.body) as unknown,
      '/health/ready': JSON.parse((await get(`${base}/health/ready`))!.body) as unknown,
    };
    bare = spawnBareHttp(barePort, bodies, join(ctx.workDir, 'bare-http.log'));
    await until(`http://127.0.0.1:${barePort}/health/live`, 200, 10_000);
    await until(`http://127.0.0.1:${minimalPort}/health/live`, 200, 30_000);
    const servers: Record<Target, { url: string; process: ChildProcess }> = {
      'service /health/live': { url: `${base}/health/live`, process: service },
      'minimal Nest /health/live': { url: `http://127.0.0.1:${minimalPort}/health/live`, process: minimal },
      'bare /health/live': { url: `http://127.0.0.1:${barePort}/health/live`, process: bare },
      'service /health/ready': { url: `${base}/health/ready`, process: service },
      'bare /health/ready': { url: `http://127.0.0.1:${barePort}/health/ready`, process: bare },
    };

    const results = new Map<Target, Array<AutocannonResult & { serverCpuUsPerRequest: number }>>(TARGETS.map((target) => [target, []]));
    let readyRequests = 0;
    let vaultCalls = 0;
    let oryCalls = 0;
    for (let run = 0; run < ctx.runs; run += 1) {
      for (const target of rotate(TARGETS, run)) {
        const { url, process: server } = servers[target];
        await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S });
        const before = { vault: vault.calls, ory: ory.calls, cpuMs: cpuMs(server.pid!) };
        const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
        const serverCpuUsPerRequest = ((cpuMs(server.pid!) - before.cpuMs) * 1000) / result.requests.total;
        if (result.non2xx + result.errors + result.timeouts > 0) {
          throw new Error(`${target}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
        }
        if (target === 'service /health/ready') {
          readyRequests += result.requests.total;
          vaultCalls += vault.calls - before.vault;
          oryCalls += ory.calls - before.ory;
        }
        results.get(target)!.push({ ...result, serverCpuUsPerRequest });
        ctx.progress(
          `probes: run ${run + 1}/${ctx.runs} ${target}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, ` +
            `server CPU ${serverCpuUsPerRequest.toFixed(0)} us/request`,
        );
      }
    }
    const targets = Object.fromEntries(
      TARGETS.map((target) => {
        const runs = results.get(target)!;
        return [
          target,
          {
            requestsPerSecond: summarise(runs.map((r) => round(r.requests.average, 0))),
            p99Ms: summarise(runs.map((r) => r.latency.p99)),
            p50Ms: summarise(runs.map((r) => r.latency.p50)),
            serverCpuUsPerRequest: summarise(runs.map((r) => round(r.serverCpuUsPerRequest, 1))),
          },
        ];
      }),
    ) as ProbesSection['targets'];
    const rate = (target: Target) => targets[target].requestsPerSecond.median;
    const liveProfile = await profileLive(ctx, vault, ory);
    return {
      connections: CONNECTIONS,
      durationS: DURATION_S,
      // The default the service ran with (COFFEEBUDDY_HEALTH_CACHE_TTL_MS unset).
      cacheTtlMs: (require(join(DIST_DIR, 'settings')) as typeof SettingsModule).parseSettings({}).health.cacheTtlMs,
      targets,
      ratios: {
        liveVsBare: round(rate('service /health/live') / rate('bare /health/live')),
        liveVsMinimalNest: round(rate('service /health/live') / rate('minimal Nest /health/live')),
        minimalNestVsBare: round(rate('minimal Nest /health/live') / rate('bare /health/live')),
        readyVsBare: round(rate('service /health/ready') / rate('bare /health/ready')),
      },
      readyRequests,
      vaultCalls,
      oryCalls,
      liveProfile,
    };
  } finally {
    await Promise.all([stopChild(service), stopChild(minimal), bare ? stopChild(bare) : undefined]);
    await Promise.all([vault.close(), ory.close()]);
  }
}

/** One more service process, under --cpu-prof, loaded on /health/live as in the measured runs. */
async function profileLive(ctx: BenchContext, vault: FakeDependency, ory: FakeDependency): Promise<ProbesSection['liveProfile']> {
  const dir = join(ctx.workDir, 'profile-live');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const service = spawnService({
    port,
    bootstrap: ctx.bootstrap,
    prefix: `${ctx.prefix}-probes-profiled`,
    vaultUrl: vault.url,
    oryUrl: ory.url,
    logFile: join(ctx.workDir, 'service-probes-profiled.log'),
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  let result: AutocannonResult;
  let windowUs: [number, number];
  try {
    const url = `http://127.0.0.1:${port}/health/live`;
    await until(`http://127.0.0.1:${port}/health/ready`, 200, 60_000, 50);
    await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S });
    const started = profileClockUs();
    result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
    windowUs = [started, profileClockUs()];
  } finally {
    // The profile is written when the process exits (its SIGTERM drain ends in process.exit).
    await stopChild(service);
  }
  const file = join(dir, readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!);
  const kept = join(ctx.resultsDir, 'probes-live.cpuprofile');
  copyFileSync(file, kept);
  ctx.progress(`probes: profiled the service on /health/live (${Math.round(result.requests.average)} req/s under the profiler)`);
  return { ...summariseProfile(file, windowUs, result.requests.total), requestsPerSecond: result.requests.average, file: kept };
}
