import { readFileSync } from 'node:fs';
import { DIST_DIR } from './dist';

/** The parts of a V8 .cpuprofile this analysis reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Who owns the code a sample was in: ours, a library, Node itself, or V8 (GC). */
export const OWNERS = [
  'service (dist/)',
  'benchmark',
  'kafkajs',
  'Nest',
  'rxjs',
  'zod',
  'pino',
  'prom-client',
  'node core',
  'garbage collector',
  'other',
] as const;
export type Owner = (typeof OWNERS)[number];

const PINO_PACKAGES = ['pino', 'sonic-boom', 'fast-redact', '@pinojs', 'pino-std-serializers', 'quick-format-unescaped', 'safe-stable-stringify', 'thread-stream', 'atomic-sleep', 'on-exit-leak-free', 'fast-safe-stringify'];

export function ownerOf(url: string, functionName: string): Owner | 'idle' {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collector';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) {
    if (pkg === 'kafkajs') return 'kafkajs';
    if (pkg.startsWith('@nestjs/') || pkg === 'reflect-metadata' || pkg === 'iterare') return 'Nest';
    if (pkg === 'rxjs' || pkg === 'tslib') return 'rxjs';
    if (pkg === 'zod') return 'zod';
    if (pkg === 'prom-client' || pkg === 'tdigest' || pkg === 'bintrees') return 'prom-client';
    if (PINO_PACKAGES.includes(pkg) || PINO_PACKAGES.some((p) => pkg.startsWith(`${p}/`))) return 'pino';
    return 'other';
  }
  if (url.includes(DIST_DIR)) return 'service (dist/)';
  if (url.includes('/bench/')) return 'benchmark';
  // Builtins and frames without a script (native code, "(program)") are the runtime's own work.
  if (url.startsWith('node:') || url === '') return 'node core';
  return 'other';
}

export interface FunctionCost {
  owner: Owner;
  function: string;
  location: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  messages: number;
  /** Wall time of the window, and how much of it the main thread was busy. */
  windowMs: number;
  busyUsPerMessage: number;
  busyMs: number;
  idleMs: number;
  /** Self time by owner, in ms and as a share of busy time. */
  byOwner: Array<{ owner: Owner; selfMs: number; share: number; usPerMessage: number }>;
  /**
   * The same, with the time of Node built-ins (JSON.parse, Buffer, streams,
   * timers...) charged to the owner of the JavaScript that called them;
   * what stays "node core" ran with no library caller (event loop, microtask queue).
   */
  byCaller: Array<{ owner: Owner; selfMs: number; share: number; usPerMessage: number }>;
  topFunctions: FunctionCost[];
}

/**
 * Self time per function and per owner, over the samples inside a window on
 * the profile's clock (the measured part of the run: start-up is left out).
 */
export function summariseProfile(file: string, windowUs: [number, number], messages: number, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  /** The owner of the nearest caller that is not Node itself. */
  const callerOwner = (id: number): Owner => {
    for (let at = parents.get(id); at !== undefined; at = parents.get(at)) {
      const { url, functionName } = nodes.get(at)!.callFrame;
      const owner = ownerOf(url, functionName);
      if (owner !== 'node core' && owner !== 'idle') return owner;
    }
    return 'node core';
  };
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    t += profile.timeDeltas[i];
    // A sample stands for the time until the next one.
    const weight = profile.timeDeltas[i + 1] ?? 0;
    if (t < windowUs[0] || t > windowUs[1]) continue;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + weight);
  }
  const byOwner = new Map<Owner, number>();
  const byCaller = new Map<Owner, number>();
  const byFunction = new Map<string, FunctionCost>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    const owner = ownerOf(url, functionName);
    if (owner === 'idle') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
    const charged = owner === 'node core' ? callerOwner(id) : owner;
    byCaller.set(charged, (byCaller.get(charged) ?? 0) + us);
    const location = url ? `${shortUrl(url)}:${lineNumber + 1}` : '(native)';
    const key = `${functionName}@${location}`;
    const entry = byFunction.get(key) ?? { owner, function: functionName || '(anonymous)', location, selfMs: 0, share: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
  }
  const busyMs = busyUs / 1000;
  const table = (totals: Map<Owner, number>) =>
    OWNERS.filter((owner) => totals.has(owner))
      .map((owner) => ({
        owner,
        selfMs: totals.get(owner)! / 1000,
        share: totals.get(owner)! / busyUs,
        usPerMessage: totals.get(owner)! / messages,
      }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return {
    messages,
    windowMs: (windowUs[1] - windowUs[0]) / 1000,
    busyUsPerMessage: busyUs / messages,
    busyMs,
    idleMs: idleUs / 1000,
    byOwner: table(byOwner),
    byCaller: table(byCaller),
    topFunctions: [...byFunction.values()]
      .map((entry) => ({ ...entry, share: entry.selfMs / busyMs }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top),
  };
}

function shortUrl(url: string): string {
  const inModules = url.lastIndexOf('node_modules/');
  if (inModules >= 0) return url.slice(inModules + 'node_modules/'.length);
  const inDist = url.indexOf(DIST_DIR);
  if (inDist >= 0) return `dist${url.slice(inDist + DIST_DIR.length)}`;
  return url.replace(/^file:\/\//, '');
}
