import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const LINES = 20_000;

/**
 * A process that logs LINES lines through the service's own stdout destination, then,
 * `awaitWritten` or not, SIGKILLs itself: what its stdout received is what a pod killed
 * at that moment would have left in its log.
 */
function logThenSigkill(awaitWritten: boolean): { lines: string[]; signal: NodeJS.Signals | null } {
  const script = `
    const { AppLogger, createDestination } = require(${JSON.stringify(join(process.cwd(), 'dist', 'runtime', 'logger.js'))});
    const settings = { level: 'info', format: 'json' };
    const logger = new AppLogger(settings, createDestination(settings));
    const log = logger.child('LogLinesTest');
    for (let seq = 0; seq < ${LINES}; seq += 1) log.info({ seq }, 'run event handled');
    const kill = () => process.kill(process.pid, 'SIGKILL');
    ${awaitWritten ? 'logger.written().then(kill);' : 'kill();'}
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 30_000 });
  return { lines: child.stdout.split('\n').filter((line) => line.length > 0), signal: child.signal };
}

describe('log lines and SIGKILL', () => {
  it('once written() has resolved, every line logged before it is on stdout, even if the process is SIGKILLed at once', () => {
    const { lines, signal } = logThenSigkill(true);
    expect(signal).toBe('SIGKILL');
    expect(lines).toHaveLength(LINES);
    expect(lines.map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(Array.from({ length: LINES }, (_, seq) => seq));
  });

  it('without waiting for written(), a SIGKILL loses the lines still in the process (what written() is for)', () => {
    const { lines, signal } = logThenSigkill(false);
    expect(signal).toBe('SIGKILL');
    expect(lines.length).toBeLessThan(LINES);
  });
});
