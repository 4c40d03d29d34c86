import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { onCleanup } from './cleanup';
import { freePort } from './ports';
import { waitFor, within } from './wait';

export type ProcessExit = { code: number | null; signal: NodeJS.Signals | null };

/** How long a process may take to die after SIGKILL before its cleanup reports it. */
const KILL_WAIT_MS = 10_000;

/**
 * The built service (`node dist/main.js`) as a real child process, with its
 * JSON log lines collected from stdout. It joins the cleanup registry the
 * moment it is spawned: whatever happens in the test, it is SIGKILLed and
 * waited for afterwards.
 */
export class ServiceProcess {
  readonly lines: Array<Record<string, any>> = [];
  stderr = '';
  private readonly exited: Promise<ProcessExit>;
  private buffered = '';

  private constructor(
    readonly child: ChildProcess,
    /** The environment it was started with (beside PATH and the test defaults). */
    readonly env: Record<string, string | undefined>,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.collect(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // 'close', not 'exit': by then every line the process wrote has been read.
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /**
   * `node dist/main.js` with this environment; with `handlerMs`, the same
   * service whose run-event handlers wait that long per event
   * (test/support/service-with-slow-handlers.js); with `failingRun`, the same
   * service whose handler fails every event of that run until the wall-clock
   * time `until` (test/support/service-with-failing-run.js). `nodeArgs` go
   * before the entry point (e.g. `--require` of a preload).
   */
  static spawn(
    env: Record<string, string | undefined>,
    options: { handlerMs?: number; failingRun?: { runId: string; until: number }; nodeArgs?: string[] } = {},
  ): ServiceProcess {
    const { handlerMs, failingRun } = options;
    const entry =
      handlerMs !== undefined
        ? [join(__dirname, 'service-with-slow-handlers.js'), String(handlerMs)]
        : failingRun !== undefined
          ? [join(__dirname, 'service-with-failing-run.js'), failingRun.runId, String(failingRun.until)]
          : [join(process.cwd(), 'dist', 'main.js')];
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
      env: { PATH: process.env.PATH, COFFEEBUDDY_ENVIRONMENT: 'test', COFFEEBUDDY_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child, env);
    onCleanup(`service process ${child.pid}`, () => service.stop());
    return service;
  }

  /** `spawn` on a free loopback port, resolved once it answers 200 on /health/live; `url` is its base URL. */
  static async spawnServing(
    env: Record<string, string | undefined> = {},
    options: { nodeArgs?: string[]; timeoutMs?: number } = {},
  ): Promise<{ service: ServiceProcess; url: string }> {
    const port = await freePort();
    const service = ServiceProcess.spawn({ COFFEEBUDDY_HTTP_PORT: String(port), COFFEEBUDDY_HTTP_HOST: '127.0.0.1', ...env }, options);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${url}/health/live`).then((response) => response.status === 200), 'the service to answer /health/live', options.timeoutMs);
    return { service, url };
  }

  exit(): Promise<ProcessExit> {
    return this.exited;
  }

  /** Waits for the process to exit, failing with `why` (what should have ended it) after `timeoutMs`. */
  waitForExit(why: string, timeoutMs = 30000): Promise<ProcessExit> {
    return within(this.exited, `process ${this.child.pid} to exit after ${why} (stderr: ${this.stderr})`, timeoutMs);
  }

  /** SIGKILL unless it already exited, then wait for the exit. */
  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.waitForExit('SIGKILL', KILL_WAIT_MS);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  withMessage(msg: string): Array<Record<string, any>> {
    return this.lines.filter((line) => line.msg === msg);
  }

  /** Waits until the process logs a line with this message. */
  waitForLine(msg: string, timeoutMs = 30000): Promise<Record<string, any>> {
    return waitFor(() => this.withMessage(msg)[0], `log line "${msg}" (stderr: ${this.stderr})`, timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  private collect(chunk: string): void {
    this.buffered += chunk;
    const parts = this.buffered.split('\n');
    this.buffered = parts.pop() ?? '';
    for (const part of parts) {
      if (part.startsWith('{')) this.lines.push(JSON.parse(part));
    }
  }
}
