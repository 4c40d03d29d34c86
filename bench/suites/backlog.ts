import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { stopChild } from '../support/child';
import { benchEvents, EVENT_BYTES } from '../support/events';
import { FakeDependency } from '../support/fakes';
import { freePort } from '../support/http';
import { committedCount, createTopics, kafkaClient, produceEvents } from '../support/kafka';
import { spawnService } from '../support/service-process';
import { round, summarise, Summary } from '../support/stats';
import { BenchContext, ROOT, rotate } from './context';

export const BACKLOG_MESSAGES = 100_000;
const PARTITIONS = 6;
/** Peak RSS allowed while draining a backlog, as a share of the pod's memory limit (docs/deploy.md, "Memory"). */
export const BACKLOG_PEAK_SHARE = 0.75;

/** With the manifest's NODE_OPTIONS, as the pod runs; and with Node's defaults, which size the heap from the machine. */
type Mode = 'manifest' | 'node-defaults';
const MODES: Mode[] = ['manifest', 'node-defaults'];

export interface BacklogSection {
  messages: number;
  eventBytes: number;
  nodeOptions: string;
  memoryLimitMiB: number;
  modes: Record<Mode, { peakRssMb: Summary; drainMs: Summary }>;
  ratios: { manifestPeakVsLimit: number; manifestVsNodeDefaults: number };
}

/** NODE_OPTIONS and the memory limit of the app container in deploy/base/deployment.yaml. */
function manifest(): { nodeOptions: string; memoryLimitMiB: number } {
  const deployment = parse(readFileSync(join(ROOT, 'deploy', 'base', 'deployment.yaml'), 'utf8'));
  const [container] = deployment.spec.template.spec.containers;
  const nodeOptions = container.env.find((variable: { name: string }) => variable.name === 'NODE_OPTIONS')?.value;
  const limit = /^(\d+)Mi$/.exec(container.resources.limits.memory);
  if (!nodeOptions || !limit) throw new Error('deploy/base/deployment.yaml: no NODE_OPTIONS, or a memory limit not in Mi');
  return { nodeOptions, memoryLimitMiB: Number(limit[1]) };
}

/**
 * `node dist/main.js` starts with 100,000 events of 500 bytes waiting on its
 * topic and drains them; the figure is its peak resident memory (VmHWM) once
 * every offset is committed, against the pod's memory limit.
 */
export async function backlogSuite(ctx: BenchContext): Promise<BacklogSection> {
  const { nodeOptions, memoryLimitMiB } = manifest();
  const [vault, ory] = await Promise.all([FakeDependency.vault(), FakeDependency.ory()]);
  const admin = kafkaClient(ctx.bootstrap, 'bench-backlog').admin();
  await admin.connect();
  const results = new Map<Mode, Array<{ peakRssMb: number; drainMs: number }>>(MODES.map((mode) => [mode, []]));
  let n = 0;
  try {
    for (let run = 0; run < ctx.runs; run += 1) {
      for (const mode of rotate(MODES, run)) {
        n += 1;
        const prefix = `${ctx.prefix}-backlog${n}`;
        const topic = `${prefix}.run.events`;
        await createTopics(ctx.bootstrap, [topic], PARTITIONS);
        await produceEvents(ctx.bootstrap, topic, benchEvents(BACKLOG_MESSAGES));
        const started = performance.now();
        const child = spawnService({
          port: await freePort(),
          bootstrap: ctx.bootstrap,
          prefix,
          vaultUrl: vault.url,
          oryUrl: ory.url,
          logFile: join(ctx.workDir, `service-backlog-${n}.log`),
          env: mode === 'manifest' ? { NODE_OPTIONS: nodeOptions } : {},
        });
        try {
          for (;;) {
            if ((await committedCount(admin, `${prefix}-group`, topic)) >= BACKLOG_MESSAGES) break;
            if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}) while draining; log in ${ctx.workDir}`);
            if (performance.now() - started > 300_000) throw new Error('the backlog was not drained within 300 s');
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          const drainMs = performance.now() - started;
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          const peakRssMb = Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
          results.get(mode)!.push({ peakRssMb, drainMs });
          ctx.progress(`backlog: run ${run + 1}/${ctx.runs} ${mode}: peak RSS ${peakRssMb.toFixed(1)} MiB, drained in ${Math.round(drainMs)} ms`);
        } finally {
          await stopChild(child);
        }
      }
    }
  } finally {
    await admin.disconnect();
    await Promise.all([vault.close(), ory.close()]);
  }
  const modes = Object.fromEntries(
    [...results].map(([mode, runs]) => [
      mode,
      { peakRssMb: summarise(runs.map((r) => round(r.peakRssMb, 1))), drainMs: summarise(runs.map((r) => round(r.drainMs, 0))) },
    ]),
  ) as BacklogSection['modes'];
  return {
    messages: BACKLOG_MESSAGES,
    eventBytes: EVENT_BYTES,
    nodeOptions,
    memoryLimitMiB,
    modes,
    ratios: {
      manifestPeakVsLimit: round(modes.manifest.peakRssMb.median / memoryLimitMiB),
      manifestVsNodeDefaults: round(modes.manifest.peakRssMb.median / modes['node-defaults'].peakRssMb.median),
    },
  };
}
