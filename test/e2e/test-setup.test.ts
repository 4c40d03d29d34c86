import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { kafkaVersion } from '../../scripts/kafka-broker';
import { onCleanup } from '../support/cleanup';

const SCRIPTS = join(process.cwd(), 'scripts');
// The user nobody: neither root nor allowed to sudo, like a developer's own account without rights.
const NOBODY = 65534;
// As root (CI here), become a user without rights; any other user already is one.
const AS_USER_WITHOUT_RIGHTS: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
// Where a directory that user can use may be made: TMPDIR may be private, and /tmp or /dev/shm mounted noexec.
const PUBLIC_BASES = [tmpdir(), '/tmp', '/var/tmp', '/dev/shm'];

/** Whether every directory from `/` down to `dir` lets any user through. */
function openToAll(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (dirname(at) === at) return true;
  }
}

/** Creates a file with `create`, then gives it `mode`: a private umask (077) must not hide it from the other user. */
function place(path: string, mode: number, create: (path: string) => void): void {
  create(path);
  chmodSync(path, mode);
}

function makeDir(path: string): void {
  place(path, 0o755, (at) => mkdirSync(at));
}

/**
 * A fresh directory holding a copy of node, under the first base where the
 * user without rights can enter and run it (checked by running it), or an
 * error naming the bases tried.
 */
function directoryTheOtherUserCanRunFrom(): string {
  for (const base of PUBLIC_BASES.filter((candidate) => existsSync(candidate) && openToAll(candidate))) {
    const dir = mkdtempSync(join(base, 'test-setup-')); // mode 0700, whatever the umask
    chmodSync(dir, 0o755);
    makeDir(join(dir, 'bin'));
    // A copy, not the running node: that one may lie where the other user cannot reach (e.g. under /root/.nvm).
    place(join(dir, 'bin', 'node'), 0o755, (to) => copyFileSync(process.execPath, to));
    const probe = spawnSync(join(dir, 'bin', 'node'), ['-e', ''], { ...AS_USER_WITHOUT_RIGHTS, cwd: dir, timeout: 20000 });
    onCleanup(`directory ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    if (probe.status === 0) return dir;
  }
  throw new Error(`no directory under ${PUBLIC_BASES.join(', ')} where another user may run a copy of node`);
}

describe('the test set-up script (npm test runs it before jest)', () => {
  it('stops at once with one line naming the apt-get command when it may not install the missing tools', () => {
    const dir = directoryTheOtherUserCanRunFrom();
    // The scripts, so whatever test-setup.js requires of its own is there; the other user may not enter the checkout.
    makeDir(join(dir, 'scripts'));
    for (const file of readdirSync(SCRIPTS).filter((name) => name.endsWith('.js'))) {
      place(join(dir, 'scripts', file), 0o644, (to) => copyFileSync(join(SCRIPTS, file), to));
    }
    // A PATH with node, Java, Maven and kubectl, but neither promtool nor prometheus. Stubs, not links to the
    // real programs: those may lie where the other user cannot reach, and would then look missing too.
    for (const program of ['java', 'mvn', 'kubectl']) {
      place(join(dir, 'bin', program), 0o755, (to) => writeFileSync(to, '#!/bin/sh\nexit 0\n'));
    }

    const result = spawnSync(join(dir, 'bin', 'node'), [join(dir, 'scripts', 'test-setup.js')], {
      ...AS_USER_WITHOUT_RIGHTS,
      env: { PATH: join(dir, 'bin') }, // no sudo on it either
      cwd: dir,
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(result.stderr).toBe(
      'test-setup: missing promtool, prometheus: run `sudo apt-get install -y prometheus`, then npm test again\n',
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
  });

  it('installs nothing on a machine that has every tool, and makes the Kafka broker ready', () => {
    const result = spawnSync(process.execPath, [join(SCRIPTS, 'test-setup.js')], { encoding: 'utf8', timeout: 15 * 60_000 });
    expect(result.stderr).not.toContain('installing');
    expect(result.stderr).toContain(`test-setup: Kafka broker ready in .cache/kafka-${kafkaVersion()}/lib`);
    expect(result.status).toBe(0);
  });
});
