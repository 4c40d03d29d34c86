import { spawnSync } from 'node:child_process';
import { cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp-dir';

/** A PATH holding only the given programs, so the script sees what a bare machine would. */
function pathWith(programs: Record<string, string>): string {
  const dir = tempDir('bin-');
  for (const [name, target] of Object.entries(programs)) symlinkSync(target, join(dir, name));
  return dir;
}

function which(program: string): string {
  return spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim();
}

function install(root: string, path: string) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'kafka-broker.js'), 'install'], {
    env: { PATH: path, HOME: process.env.HOME },
    encoding: 'utf8',
  });
}

describe('the local broker script on a machine that lacks its tools', () => {
  it('names the Java package to install when java is missing', () => {
    const bin = pathWith({ node: process.execPath });
    const result = install(process.cwd(), bin);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'kafka-broker: Java 17+ is required to run the local Kafka broker (no `java` on PATH): install it with `apt-get install openjdk-17-jre-headless`',
    );
  });

  it('names the Maven package to install when the broker must be downloaded and mvn is missing', () => {
    // A checkout with no downloaded broker yet.
    const root = tempDir('checkout-');
    cpSync(join(process.cwd(), 'scripts'), join(root, 'scripts'), { recursive: true });
    symlinkSync(join(process.cwd(), 'node_modules'), join(root, 'node_modules'));
    const bin = pathWith({ node: process.execPath, java: which('java') });
    const result = install(root, bin);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'kafka-broker: Maven is required to download the local Kafka broker from Maven Central: install it with `apt-get install maven`',
    );
  });
});
