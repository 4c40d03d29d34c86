import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`node dist/cli.js`) as an operator would, without a terminal, and collects its output. */
export function runCliProcess(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(process.cwd(), 'dist', 'cli.js'), ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** True when `text` is one line with no stack trace. */
export function isOneLine(text: string): boolean {
  return text.trim() !== '' && text.trim().split('\n').length === 1 && !/\n\s+at /.test(text);
}
