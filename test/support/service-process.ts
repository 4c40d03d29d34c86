import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './wait';

/**
 * The built service (`node dist/main.js`) as a real child process, with its
 * JSON log lines collected from stdout.
 */
export class ServiceProcess {
  readonly lines: Array<Record<string, any>> = [];
  stderr = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private buffered = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.collect(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static spawn(env: Record<string, string | undefined>): ServiceProcess {
    const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'main.js')], {
      env: { PATH: process.env.PATH, COFFEEBUDDY_ENVIRONMENT: 'test', COFFEEBUDDY_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(child);
  }

  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  withMessage(msg: string): Array<Record<string, any>> {
    return this.lines.filter((line) => line.msg === msg);
  }

  /** Waits until the process logs a line with this message. */
  waitForLine(msg: string, timeoutMs = 30000): Promise<Record<string, any>> {
    return waitFor(() => this.withMessage(msg)[0], `log line "${msg}" (stderr: ${this.stderr})`, timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
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
