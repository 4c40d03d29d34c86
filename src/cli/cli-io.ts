import { createInterface } from 'node:readline/promises';

/** Where the CLI writes and how it asks; the entry gives it the terminal, tests give it buffers. */
export interface CliIo {
  /** Results (lines, JSON). */
  out(line: string): void;
  /** Progress and errors. */
  err(line: string): void;
  /** True when a person can answer a question (stdin is a terminal). */
  readonly interactive: boolean;
  /** Asks a yes/no question; only called when interactive. */
  confirm(question: string): Promise<boolean>;
}

export function terminalIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    interactive: process.stdin.isTTY === true,
    async confirm(question) {
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
      } finally {
        prompt.close();
      }
    },
  };
}
