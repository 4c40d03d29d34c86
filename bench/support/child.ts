import { ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REGISTER = join(__dirname, '..', 'register.js');

/** Children still running, killed if the benchmark stops early. */
const running = new Set<ChildProcess>();

export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface WorkerOptions {
  /** File that receives the worker's stderr, and its stdout unless stdoutFile is given. */
  logFile: string;
  /** File that receives the worker's stdout (fd 1): where the service writes its log lines, as in production. */
  stdoutFile?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  timeoutMs: number;
  env?: Record<string, string>;
}

/** Forks a TypeScript worker (bench/workers/*.ts) and resolves with the result it sends back. */
export function runWorker<R>(file: string, config: unknown, options: WorkerOptions): Promise<R> {
  const log = openSync(options.logFile, 'a');
  const out = options.stdoutFile ? openSync(options.stdoutFile, 'a') : log;
  let child: ChildProcess;
  try {
    child = fork(file, [JSON.stringify(config)], {
      execArgv: ['-r', REGISTER, ...(options.nodeArgs ?? [])],
      stdio: ['ignore', out, log, 'ipc'],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...options.env },
    });
  } finally {
    closeSync(log);
    if (out !== log) closeSync(out);
  }
  running.add(child);
  return new Promise<R>((resolve, reject) => {
    let answer: { ok: boolean; result?: R; error?: string } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not finish within ${options.timeoutMs} ms (log: ${options.logFile})`));
    }, options.timeoutMs);
    child.on('message', (message) => (answer = message as typeof answer));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (answer?.ok) resolve(answer.result as R);
      else reject(new Error(`${file} failed (exit ${code ?? signal}): ${answer?.error ?? `see ${options.logFile}`}`));
    });
  });
}

/** Starts a plain Node program (no TypeScript hook) as a child process, its output into logFile. */
export function spawnNode(args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', log, log] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    return child;
  } finally {
    closeSync(log);
  }
}

/** SIGTERM, then SIGKILL if it has not exited after timeoutMs. */
export async function stopChild(child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Resident set size of a process in MiB, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

let ticksPerSecond: number | undefined;

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc. */
export function cpuMs(pid: number): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
}
