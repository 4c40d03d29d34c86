import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaVersion } from '../../scripts/kafka-broker';

const SCRIPT = join(process.cwd(), 'scripts', 'test-setup.js');
// The user nobody: neither root nor allowed to sudo, like a developer's own account without rights.
const NOBODY = 65534;

function which(program: string): string {
  return spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim();
}

describe('the test set-up script (npm test runs it before jest)', () => {
  let bin: string;

  beforeEach(() => {
    // A PATH with node, Java, Maven and kubectl, but neither promtool nor prometheus.
    bin = mkdtempSync(join(tmpdir(), 'bin-'));
    chmodSync(bin, 0o755);
    for (const program of ['java', 'mvn', 'kubectl']) symlinkSync(which(program), join(bin, program));
    // A copy, not a link: the user nobody may not reach the running node (e.g. one under /root/.npm).
    copyFileSync(process.execPath, join(bin, 'node'));
    chmodSync(join(bin, 'node'), 0o755);
  });

  afterEach(() => rmSync(bin, { recursive: true, force: true }));

  it('stops at once with one line naming the apt-get command when it may not install the missing tools', () => {
    const result = spawnSync(join(bin, 'node'), [SCRIPT], {
      env: { PATH: bin }, // no sudo on it either
      // As root (CI here), become a user without rights; any other user already is one.
      ...(process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {}),
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'test-setup: missing promtool, prometheus: run `sudo apt-get install -y prometheus`, then npm test again\n',
    );
    expect(result.stdout).toBe('');
  });

  it('installs nothing on a machine that has every tool, and makes the Kafka broker ready', () => {
    const result = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', timeout: 15 * 60_000 });
    expect(result.stderr).not.toContain('installing');
    expect(result.stderr).toContain(`test-setup: Kafka broker ready in .cache/kafka-${kafkaVersion()}/lib`);
    expect(result.status).toBe(0);
  });
});
