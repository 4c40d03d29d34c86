/** A pino destination that keeps every line in memory, so tests read what the service logged. */
export class LogCapture {
  private readonly raw: string[] = [];

  write(chunk: string): void {
    for (const line of chunk.split('\n')) if (line) this.raw.push(line);
  }

  text(): string {
    return this.raw.join('\n');
  }

  lines(): Array<Record<string, unknown>> {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  withMessage(msg: string): Array<Record<string, unknown>> {
    return this.lines().filter((line) => line.msg === msg);
  }
}
