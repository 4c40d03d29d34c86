import type { BacklogSection } from '../suites/backlog';
import { BACKLOG_PEAK_SHARE } from '../suites/backlog';
import type { ConsumeSection } from '../suites/consume';
import type { ConsumeIoSection } from '../suites/consume-io';
import type { FailingRunSection } from '../suites/failing-run';
import type { LatencySection } from '../suites/latency';
import type { ProbesSection } from '../suites/probes';
import type { PublishSection } from '../suites/publish';
import type { ScaleSection } from '../suites/scale';
import type { StartupSection } from '../suites/startup';
import type { ProfileSummary } from './profile';
import { round, Summary } from './stats';

export interface Sections {
  consume?: ConsumeSection;
  'consume-io'?: ConsumeIoSection;
  publish?: PublishSection;
  latency?: LatencySection;
  probes?: ProbesSection;
  startup?: StartupSection;
  backlog?: BacklogSection;
  'failing-run'?: FailingRunSection;
  scale?: ScaleSection;
}

export interface Target {
  figure: string;
  ratio: number;
  /** The ratio must be at least `min` or at most `max`. */
  min?: number;
  max?: number;
  met: boolean;
}

/** The issue's targets, as ratios against the baselines. */
export function targets(s: Sections): Target[] {
  const list: Target[] = [];
  const atLeast = (figure: string, ratio: number, min: number) => list.push({ figure, ratio, min, met: ratio >= min });
  const atMost = (figure: string, ratio: number, max: number) => list.push({ figure, ratio, max, met: ratio <= max });
  if (s.consume) {
    atLeast('consume: pipeline / stock Nest ServerKafka', s.consume.ratios.pipelineVsNestStock, 1.5);
    atLeast('consume: pipeline / kafkajs eachMessage', s.consume.ratios.pipelineVsEachMessage, 0.6);
    const kb = s.consume.allocatedKbPerMessage;
    const extra = kb.pipeline! - kb['kafkajs-each-message']!;
    list.push({ figure: 'consume: allocated per message, pipeline - eachMessage (KB)', ratio: extra, max: 4, met: extra <= 4 });
  }
  const io = s['consume-io'];
  if (io) {
    for (const mode of ['engine', 'pipeline'] as const) {
      for (const e of io[mode].filter((e) => e.maxInFlight <= 128)) {
        atLeast(`consume-io: ${mode} M=${e.maxInFlight} / (M / ${io.handlerMs} ms)`, io.ratios[`${mode}VsIdeal`][String(e.maxInFlight)]!, e.maxInFlight === 128 ? 0.85 : 0.8);
      }
      atLeast(`consume-io: ${mode} M=128 / kafkajs eachMessage`, io.ratios[`${mode}128VsEachMessage`], 20);
    }
  }
  if (s.publish) atLeast('publish: publishBatch / idempotent kafkajs sendBatch', s.publish.ratios.publisherVsIdempotent, 0.9);
  if (s.probes) atLeast('/health/live: service / bare node:http (req/s)', s.probes.ratios.liveVsBare, 0.8);
  if (s.startup) {
    // Issue 22: both were there before tracing came in.
    atMost('start-up: service / minimal Nest app', s.startup.ratios.startup, 1.4);
    atMost('idle RSS: service / minimal Nest app', s.startup.ratios.idleRss, 1.4);
  }
  if (s.backlog) atMost('backlog peak RSS / pod memory limit', s.backlog.ratios.manifestPeakVsLimit, BACKLOG_PEAK_SHARE);
  const failing = s['failing-run'];
  if (failing) {
    // An absolute bound, in seconds: the other partitions' p99 while one run fails for 20 s.
    const p99 = failing.modes.failing.otherPartitions.p99Ms.median / 1000;
    list.push({ figure: 'failing-run: other partitions p99 (s) during a one-run failure', ratio: p99, max: 1, met: p99 <= 1 });
  }
  if (s.scale) {
    for (const [replicas, ratio] of Object.entries(s.scale.ratios)) atLeast(`scale: ${replicas} processes / (${replicas} × one)`, ratio, 0.8);
    atMost('scale: events handled by two processes / their bound, worst scale-up', s.scale.worstDuplicateShareOfBound, 1);
  }
  return list;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (digits: number) => (n: number) => n.toFixed(digits);

/** "median (min–max)" of repeated runs. */
function cell(summary: Summary, format: (n: number) => string, unit: string): string {
  const range = summary.runs.length > 1 ? ` (${format(summary.min)}–${format(summary.max)})` : '';
  return `${format(summary.median)}${unit ? ` ${unit}` : ''}${range}`;
}

function targetCell(all: Target[], figure: string): string {
  const target = all.find((t) => t.figure === figure);
  if (!target) return '';
  const unit = target.figure.includes('(s)') ? ' s' : target.figure.includes('(KB)') ? ' KB' : 'x';
  const bound = target.min !== undefined ? `≥ ${target.min}${unit}` : `≤ ${target.max}${unit}`;
  return `${bound} ${target.met ? 'met' : '**missed**'}`;
}

/** The results table, in Markdown (printed as is and pasted into docs/benchmarks.md). */
export function resultsTable(s: Sections): string {
  const all = targets(s);
  const rows: string[][] = [];
  const row = (figure: string, service: string, baseline: string, ratio: number | string, target = '') =>
    rows.push([figure, service, baseline, typeof ratio === 'number' ? `${ratio.toFixed(2)}x` : ratio, target]);

  if (s.consume) {
    const m = s.consume.modes;
    const rate = (mode: keyof typeof m) => cell(m[mode].messagesPerSecond, int, 'msg/s');
    row('Consume 100k: pipeline vs stock Nest ServerKafka', rate('pipeline'), rate('nest-stock'), s.consume.ratios.pipelineVsNestStock,
      targetCell(all, 'consume: pipeline / stock Nest ServerKafka'));
    row('Consume 100k: pipeline vs kafkajs eachMessage + JSON.parse', rate('pipeline'), rate('kafkajs-each-message'),
      s.consume.ratios.pipelineVsEachMessage, targetCell(all, 'consume: pipeline / kafkajs eachMessage'));
    row('Consume 100k: pipeline vs kafkajs eachBatch + JSON.parse', rate('pipeline'), rate('kafkajs-each-batch'), s.consume.ratios.pipelineVsEachBatch);
    row('Consume 100k: pipeline traced (every event sampled, OTLP to a loopback sink) vs untraced', rate('pipeline-traced'), rate('pipeline'),
      s.consume.ratios.tracedVsPipeline);
    const dropped = s.consume.tracing.spans.map((spans) => `${spans.dropped} of ${spans.ended}`).join(', ');
    row('  spans dropped by the batch processor, per run', dropped, '', '');
    const cpu = (mode: keyof typeof m) => cell(m[mode].cpuUsPerMessage, fixed(1), 'µs');
    row('  consumer CPU per message: pipeline vs stock Nest', cpu('pipeline'), cpu('nest-stock'), m.pipeline.cpuUsPerMessage.median / m['nest-stock'].cpuUsPerMessage.median);
    row('  consumer CPU per message: pipeline vs kafkajs eachMessage', cpu('pipeline'), cpu('kafkajs-each-message'),
      m.pipeline.cpuUsPerMessage.median / m['kafkajs-each-message'].cpuUsPerMessage.median);
    const kb = s.consume.allocatedKbPerMessage;
    row('  allocated per message: pipeline vs kafkajs eachMessage (V8 sampling heap profiler)', `${kb.pipeline} KB`, `${kb['kafkajs-each-message']} KB`,
      `+${round(kb.pipeline! - kb['kafkajs-each-message']!, 1)} KB`, targetCell(all, 'consume: allocated per message, pipeline - eachMessage (KB)'));
    row('RSS after consume: pipeline vs stock Nest', cell(m.pipeline.rssAfterMb, fixed(0), 'MiB'), cell(m['nest-stock'].rssAfterMb, fixed(0), 'MiB'),
      m.pipeline.rssAfterMb.median / m['nest-stock'].rssAfterMb.median);
  }
  const io = s['consume-io'];
  if (io) {
    const rate = (f: { messagesPerSecond: Summary }) => cell(f.messagesPerSecond, int, 'msg/s');
    for (const mode of ['engine', 'pipeline'] as const) {
      for (const e of io[mode]) {
        const figure = `consume-io: ${mode} M=${e.maxInFlight} / (M / ${io.handlerMs} ms)`;
        row(`Consume, ${io.handlerMs} ms I/O handler, ${int(e.events)} events: ${mode} M=${e.maxInFlight} vs M / ${io.handlerMs} ms`, rate(e), `${int(e.ideal)} msg/s`,
          io.ratios[`${mode}VsIdeal`][String(e.maxInFlight)]!, targetCell(all, figure));
      }
      row(`  ${mode} M=128 vs kafkajs eachMessage (${io.partitions} partitions at once, ${int(io.slice)} events)`, rate(io[mode].find((e) => e.maxInFlight === 128)!),
        rate(io.eachMessage), io.ratios[`${mode}128VsEachMessage`], targetCell(all, `consume-io: ${mode} M=128 / kafkajs eachMessage`));
    }
    row(`  pipeline M=128 vs stock Nest ServerKafka (${io.partitions} partitions at once, ${int(io.slice)} events)`,
      rate(io.pipeline.find((e) => e.maxInFlight === 128)!), rate(io.nestStock), io.ratios.pipeline128VsNestStock);
  }
  if (s.publish) {
    const p = s.publish;
    const rate = (rows: typeof p.sequential, mode: keyof typeof p.sequential) => cell(rows[mode].messagesPerSecond, int, 'msg/s');
    row(`Publish 100k, ${p.batchSize}/batch, acks -1, 1 in flight: publishBatch vs idempotent sendBatch`, rate(p.sequential, 'publisher'),
      rate(p.sequential, 'kafkajs-idempotent'), p.ratios.publisherVsIdempotent, targetCell(all, 'publish: publishBatch / idempotent kafkajs sendBatch'));
    row(`  publishBatch vs idempotent sendBatch, each round: ${p.ratios.publisherVsIdempotentByRound.map((r) => r.toFixed(2)).join(', ')}`, '', '', '');
    row('  (extra) publishBatch vs sendBatch, 1 in flight', rate(p.sequential, 'publisher'), rate(p.sequential, 'kafkajs'),
      p.ratios.publisherVsSendBatch);
    row('  (extra) idempotent sendBatch vs sendBatch, 1 in flight', rate(p.sequential, 'kafkajs-idempotent'), rate(p.sequential, 'kafkajs'),
      p.ratios.idempotentVsSendBatch);
    row('  (extra) publishBatch vs sendBatch, 4 in flight', rate(p.concurrent4, 'publisher'), rate(p.concurrent4, 'kafkajs'),
      p.ratios.publisherVsSendBatchConcurrent4);
    row('  (extra) idempotent sendBatch vs sendBatch, 4 in flight', rate(p.concurrent4, 'kafkajs-idempotent'), rate(p.concurrent4, 'kafkajs'),
      p.ratios.idempotentVsSendBatchConcurrent4);
  }
  if (s.latency) {
    const l = s.latency;
    const ms = (mode: keyof typeof l.modes, key: 'p50Ms' | 'p99Ms' | 'p999Ms' | 'ackP99Ms') => cell(l.modes[mode][key], fixed(2), 'ms');
    const at = `${l.ratePerSecond}/s`;
    row(`Latency publish→handler p50 at ${at}: service vs kafkajs`, ms('pipeline', 'p50Ms'), ms('kafkajs', 'p50Ms'), l.ratios.p50);
    row(`Latency p99 at ${at}`, ms('pipeline', 'p99Ms'), ms('kafkajs', 'p99Ms'), l.ratios.p99);
    row(`Latency p99.9 at ${at}`, ms('pipeline', 'p999Ms'), ms('kafkajs', 'p999Ms'), l.ratios.p999);
    row('  publish→ack p99 (the producer alone)', ms('pipeline', 'ackP99Ms'), ms('kafkajs', 'ackP99Ms'),
      l.modes.pipeline.ackP99Ms.median / l.modes.kafkajs.ackP99Ms.median);
    row('  most sends waiting for their ack at once', cell(l.modes.pipeline.maxOutstanding, int, ''), cell(l.modes.kafkajs.maxOutstanding, int, ''), '');
    row('  (extra) kafkajs with an idempotent producer: p99 / ack p99', `${ms('kafkajs-idempotent', 'p99Ms')} / ${ms('kafkajs-idempotent', 'ackP99Ms')}`,
      `${ms('kafkajs', 'p99Ms')} / ${ms('kafkajs', 'ackP99Ms')}`, l.modes['kafkajs-idempotent'].p99Ms.median / l.modes.kafkajs.p99Ms.median);
  }
  if (s.probes) {
    const t = s.probes.targets;
    const rate = (target: keyof typeof t) => cell(t[target].requestsPerSecond, int, 'req/s');
    const p99 = (target: keyof typeof t) => cell(t[target].p99Ms, fixed(0), 'ms');
    const cpu = (target: keyof typeof t) => cell(t[target].serverCpuUsPerRequest, fixed(0), 'µs');
    row(`/health/live req/s (${s.probes.connections} connections): service vs bare node:http`, rate('service /health/live'), rate('bare /health/live'),
      s.probes.ratios.liveVsBare, targetCell(all, '/health/live: service / bare node:http (req/s)'));
    row('  /health/live req/s: service vs minimal Nest app (same Nest + Fastify)', rate('service /health/live'), rate('minimal Nest /health/live'),
      s.probes.ratios.liveVsMinimalNest);
    row('  /health/live req/s: minimal Nest app vs bare node:http', rate('minimal Nest /health/live'), rate('bare /health/live'), s.probes.ratios.minimalNestVsBare);
    row('  /health/live server CPU per request: service vs bare', cpu('service /health/live'), cpu('bare /health/live'),
      t['service /health/live'].serverCpuUsPerRequest.median / t['bare /health/live'].serverCpuUsPerRequest.median);
    row('/health/live p99', p99('service /health/live'), p99('bare /health/live'), '');
    row(`/health/ready req/s (fakes up, cached ${s.probes.cacheTtlMs} ms): service vs bare`, rate('service /health/ready'), rate('bare /health/ready'),
      s.probes.ratios.readyVsBare);
    row('/health/ready p99', p99('service /health/ready'), p99('bare /health/ready'), '');
    row(`Calls reaching fake Vault / Ory during ${int(s.probes.readyRequests)} readiness probes`, `${s.probes.vaultCalls} / ${s.probes.oryCalls}`, '', '');
  }
  if (s.startup) {
    const a = s.startup.apps;
    row('Start-up to /health/live: node dist/main.js vs minimal Nest app', cell(a.service.startupMs, int, 'ms'), cell(a['minimal-nest'].startupMs, int, 'ms'),
      s.startup.ratios.startup, targetCell(all, 'start-up: service / minimal Nest app'));
    row('  CPU time until then (all threads)', cell(a.service.startupCpuMs, int, 'ms'), cell(a['minimal-nest'].startupCpuMs, int, 'ms'), s.startup.ratios.startupCpu);
    row('Idle RSS', cell(a.service.idleRssMb, fixed(1), 'MiB'), cell(a['minimal-nest'].idleRssMb, fixed(1), 'MiB'), s.startup.ratios.idleRss,
      targetCell(all, 'idle RSS: service / minimal Nest app'));
  }
  if (s.backlog) {
    const b = s.backlog.modes;
    const k = Math.round(s.backlog.messages / 1000);
    row(`Peak RSS draining a ${k}k backlog: manifest NODE_OPTIONS vs pod memory limit`, cell(b.manifest.peakRssMb, fixed(1), 'MiB'),
      `${s.backlog.memoryLimitMiB} MiB`, s.backlog.ratios.manifestPeakVsLimit, targetCell(all, 'backlog peak RSS / pod memory limit'));
    row('  peak RSS draining the backlog: manifest NODE_OPTIONS vs Node defaults', cell(b.manifest.peakRssMb, fixed(1), 'MiB'),
      cell(b['node-defaults'].peakRssMb, fixed(1), 'MiB'), s.backlog.ratios.manifestVsNodeDefaults);
    row('  time to drain, start-up included: manifest NODE_OPTIONS vs Node defaults', cell(b.manifest.drainMs, int, 'ms'),
      cell(b['node-defaults'].drainMs, int, 'ms'), b.manifest.drainMs.median / b['node-defaults'].drainMs.median);
  }
  const failing = s['failing-run'];
  if (failing) {
    const f = failing.modes;
    const ms = (mode: keyof typeof f, where: 'samePartition' | 'otherPartitions', key: 'p50Ms' | 'p99Ms' | 'maxMs') => cell(f[mode][where][key], int, 'ms');
    const blip = `one run failing ${failing.failForMs / 1000} s, ${failing.ratePerSecond}/s on ${failing.partitions} partitions`;
    row(`Other runs' latency p99, other partitions, ${blip}: vs no failure`, ms('failing', 'otherPartitions', 'p99Ms'), ms('healthy', 'otherPartitions', 'p99Ms'),
      f.failing.otherPartitions.p99Ms.median / f.healthy.otherPartitions.p99Ms.median, targetCell(all, 'failing-run: other partitions p99 (s) during a one-run failure'));
    row('  other partitions p50 / max', `${ms('failing', 'otherPartitions', 'p50Ms')} / ${ms('failing', 'otherPartitions', 'maxMs')}`,
      `${ms('healthy', 'otherPartitions', 'p50Ms')} / ${ms('healthy', 'otherPartitions', 'maxMs')}`, '');
    row("  the failing run's partition p50 / p99 / max (they wait for it)",
      `${ms('failing', 'samePartition', 'p50Ms')} / ${ms('failing', 'samePartition', 'p99Ms')} / ${ms('failing', 'samePartition', 'maxMs')}`,
      `${ms('healthy', 'samePartition', 'p50Ms')} / ${ms('healthy', 'samePartition', 'p99Ms')} / ${ms('healthy', 'samePartition', 'maxMs')}`, '');
    row('  the failing run handled after / attempts', `${cell(f.failing.failingHandledAfterMs, int, 'ms')} / ${cell(f.failing.failingAttempts, int, '')}`, '', '');
    const o = failing.outage;
    row(`Outage: every handler throws RetryLaterError(${o.retryAfterMs}) for ${o.failForMs / 1000} s, ${int(o.events)} events: handled / twice / out of order / dead-lettered`,
      `${int(o.handled)} / ${o.handledTwice} / ${o.outOfOrder} / ${int(o.unhandled)}`, '', '');
    row('  drained after the outage / handler attempts in all', `${int(o.drainMs)} ms / ${int(o.attempts)}`, '', '');
  }
  if (s.scale) {
    const c = s.scale;
    const rate = (replicas: string) => cell(c.throughput[replicas], int, 'events/s');
    const setup = `${c.handlerMs} ms handler, KAFKA_MAX_IN_FLIGHT=${c.maxInFlight}, ${c.partitions} partitions`;
    for (const [replicas, ratio] of Object.entries(c.ratios)) {
      const figure = `scale: ${replicas} processes / (${replicas} × one)`;
      row(`Scale, ${setup}: ${replicas} processes vs ${replicas} × one`, rate(replicas), `${replicas} × ${rate('1')}`, ratio, targetCell(all, figure));
    }
    const ups = c.scaleUps;
    row(`Scale-up 1 → 3 after ${int(c.scaleUpAt)} of ${int(c.scaleUpEvents)} events, ${ups.length} times: handled by two processes vs bound`,
      ups.map((u) => u.handledByTwo).join(', '), ups.map((u) => u.bound).join(', '), c.worstDuplicateShareOfBound,
      targetCell(all, 'scale: events handled by two processes / their bound, worst scale-up'));
    row('  partitions that changed owner, per scale-up', ups.map((u) => u.partitionMoves).join(', '), `bound: moves × ${int(c.eventsPerBatchBound)}`, '');
    row('  longest pause in handling, per scale-up', ups.map((u) => `${u.longestPauseMs} ms`).join(', '), '', '');
    row('  first event of a new process after its start, per scale-up', ups.map((u) => `${u.firstByNewMs} ms`).join(', '), '', '');
  }
  return markdown(['Figure', 'Service', 'Baseline', 'Ratio', 'Target'], rows);
}

/**
 * CPU time by owner of the code, per profiled consumer, in microseconds per
 * message: `self` counts Node built-ins as "node core"; `byCaller` charges
 * them to the library that called them.
 */
export function profileTable(
  profiles: Partial<Record<string, ProfileSummary & { messagesPerSecond: number }>>,
  view: 'byOwner' | 'byCaller' = 'byCaller',
  unit: 'message' | 'request' = 'message',
): string {
  const modes = Object.keys(profiles);
  if (modes.length === 0) return '';
  const owners = [...new Set(modes.flatMap((mode) => profiles[mode]![view].map((o) => o.owner)))];
  const perMessage = (mode: string, owner: string) => {
    const entry = profiles[mode]![view].find((o) => o.owner === owner);
    return entry ? `${entry.usPerMessage.toFixed(2)} (${Math.round(entry.share * 100)}%)` : '';
  };
  const rows = owners.map((owner) => [owner, ...modes.map((mode) => perMessage(mode, owner))]);
  rows.push(['busy total', ...modes.map((mode) => `${profiles[mode]!.busyUsPerMessage.toFixed(2)}`)]);
  rows.push([`${unit === 'message' ? 'msg' : 'req'}/s under the profiler`, ...modes.map((mode) => int(profiles[mode]!.messagesPerSecond))]);
  const title = view === 'byCaller' ? `CPU µs per ${unit} (built-ins charged to their caller)` : `CPU self time, µs per ${unit}`;
  return markdown([title, ...modes], rows);
}

/** What each package adds to the start, loaded in a fresh process in the order the service pulls them in. */
export function moduleLoadTable(startup: StartupSection): string {
  const t = startup.moduleLoadTotals;
  return markdown(
    ['Module', 'ms', 'RSS MiB', 'in the minimal app'],
    [
      ...startup.moduleLoadMs.map((m) => [m.module, String(m.ms), m.rssMb.toFixed(1), m.inMinimalApp ? 'yes' : '']),
      ['total: service / minimal app', `${t.service} / ${t.minimalApp}`, `${t.serviceRssMb} / ${t.minimalAppRssMb}`, ''],
    ],
  );
}

export function topFunctionsTable(profile: ProfileSummary, count = 20): string {
  return markdown(
    ['Function', 'Owner', 'Where', 'Self ms', 'Share'],
    profile.topFunctions.slice(0, count).map((f) => [f.function, f.owner, f.location, f.selfMs.toFixed(1), `${(f.share * 100).toFixed(1)}%`]),
  );
}

function markdown(header: string[], rows: string[][]): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `| ${header.map(escape).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ].join('\n');
}
