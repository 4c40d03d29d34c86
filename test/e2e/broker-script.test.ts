import { spawn, spawnSync } from 'node:child_process';
import { cpSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { kafkaVersion } from '../../scripts/kafka-broker';
import { onCleanup } from '../support/cleanup';
import { tempDir } from '../support/temp-dir';
import { testTimeout, within } from '../support/wait';

/** A broker's start on a loaded machine (a cold JVM), plus its exit. */
const START_MS = 90_000;

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

describe('the local broker script', () => {
  it('refuses a KAFKA_VERSION that is not a release number, naming the variable', () => {
    const result = spawnSync(process.execPath, [join(process.cwd(), 'scripts', 'kafka-broker.js'), 'install'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, KAFKA_VERSION: '4.4' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('kafka-broker: KAFKA_VERSION must be a Kafka release such as 4.4.0, got "4.4"');
  });

  it(
    `shows the last lines of the broker's own log when the broker cannot start (Kafka ${kafkaVersion()})`,
    async () => {
      // The broker's PLAINTEXT port is taken: Kafka logs why it cannot bind, and exits.
      const taken = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      onCleanup('the server holding the port', () => new Promise((resolve) => taken.close(resolve)));
      const port = (taken.address() as { port: number }).port;
      const dataDir = tempDir('kafka-data-');

      // KAFKA_VERSION passes through: the suite checks the release it runs on.
      const cli = spawn(process.execPath, ['scripts/kafka-broker.js', 'start', '--data-dir', dataDir, '--port', String(port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      onCleanup(`kafka-broker.js ${cli.pid}`, () => cli.kill('SIGKILL'));
      let stderr = '';
      cli.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await within(new Promise((resolve) => cli.on('close', resolve)), `the script to give up (stderr: ${stderr})`, START_MS);

      expect(code).toBe(1);
      expect(stderr).toMatch(/^kafka-broker: Kafka broker exited \(1\) before it was ready; log: .*broker\.log\n/);
      // A line the broker wrote through its logging backend, with the reason.
      expect(stderr).toContain(`failed to bind to 127.0.0.1:${port}: Address already in use`);
    },
    testTimeout(START_MS),
  );
});
