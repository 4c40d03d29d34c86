import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRETTY_PRINTER_MISSING } from '../../src/runtime/logger';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

/**
 * A copy of the built service beside a node_modules without pino-pretty, as in the
 * production image (npm ci --omit=dev). dist/ is copied, not linked, so Node resolves
 * packages from the copy's node_modules only.
 */
function installWithoutPinoPretty(): string {
  const root = mkdtempSync(join(tmpdir(), 'coffeebuddy-image-'));
  cpSync(join(process.cwd(), 'dist'), join(root, 'dist'), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  for (const name of readdirSync(join(process.cwd(), 'node_modules'))) {
    if (name !== 'pino-pretty' && name !== '.bin') symlinkSync(join(process.cwd(), 'node_modules', name), join(root, 'node_modules', name));
  }
  return root;
}

describe('pretty logs where pino-pretty is not installed', () => {
  let root: string;

  beforeAll(() => (root = installWithoutPinoPretty()));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('says so in one line on stderr and logs JSON lines instead', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(root, 'dist', 'main.js')], {
      cwd: root,
      env: { PATH: process.env.PATH, COFFEEBUDDY_LOG_FORMAT: 'pretty', COFFEEBUDDY_HTTP_HOST: '127.0.0.1', COFFEEBUDDY_HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => fetch(`http://127.0.0.1:${port}/health/live`).then((response) => response.status === 200),
        `the service to answer /health/live (stderr: ${stderr})`,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe(`${PRETTY_PRINTER_MISSING}\n`);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.msg)).toContain('shutdown complete');
  }, 60_000);
});
