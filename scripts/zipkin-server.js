'use strict';
// Runs a real Zipkin server (in-memory storage) on 127.0.0.1, from the
// executable jar on Maven Central, for the tracing tests. No Docker needed.
// Library: see zipkin-server.d.ts. CLI: node scripts/zipkin-server.js install|run

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const ZIPKIN_VERSION = '3.4.3';
const ARTIFACT = `io.zipkin:zipkin-server:${ZIPKIN_VERSION}:jar:exec`;
const ROOT = path.resolve(__dirname, '..');
const CACHE_DIR = path.join(ROOT, '.cache', `zipkin-${ZIPKIN_VERSION}`);
const JAR = path.join(CACHE_DIR, `zipkin-server-${ZIPKIN_VERSION}-exec.jar`);
const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';

/** Downloads the jar once through Maven (and ~/.m2) into .cache/; returns its path. */
function ensureZipkinInstalled() {
  const java = spawnSync(JAVA, ['-version'], { encoding: 'utf8' });
  const major = Number((/version "(\d+)/.exec(`${java.stderr}${java.stdout}`) || [])[1] || 0);
  if (java.error || major < 17) {
    throw new Error('Java 17+ is required to run Zipkin: install it with `apt-get install openjdk-17-jre-headless`');
  }
  if (fs.existsSync(JAR)) return JAR;
  // Copied to a fresh folder, then renamed: a concurrent or interrupted download never leaves half a jar at JAR.
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const staging = fs.mkdtempSync(path.join(CACHE_DIR, 'download-'));
  try {
    const r = spawnSync('mvn', ['-B', '-q', 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy',
      `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${staging}`], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : `${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join('\n');
      throw new Error(`Maven could not download ${ARTIFACT} (install Maven with \`apt-get install maven\`): ${why}`);
    }
    fs.renameSync(path.join(staging, path.basename(JAR)), JAR);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return JAR;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts Zipkin on a free loopback port and resolves once GET /health answers UP. It dies with this process. */
async function startZipkin({ timeoutMs = 90_000 } = {}) {
  const jar = ensureZipkinInstalled();
  const port = await freePort();
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'coffeebuddy-zipkin-')), 'zipkin.log');
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(JAVA, ['-Xmx256m', '-jar', jar], {
    env: { ...process.env, QUERY_PORT: String(port), STORAGE_TYPE: 'mem' },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', (err) => resolve(err.message));
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  let gone = false;
  exited.then(() => { gone = true; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`Zipkin exited before it was ready; log: ${logFile}\n${tail(logFile)}`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.ok && (await response.json()).status === 'UP') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Zipkin was not ready at ${url} within ${timeoutMs} ms; log: ${logFile}\n${tail(logFile)}`);
    }
    await sleep(200); // pause between polls, not a readiness guess
  }
  return { url, port, spansEndpoint: `${url}/api/v2/spans`, logFile, pid: child.pid, stop };
}

function tail(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

module.exports = { ensureZipkinInstalled, startZipkin };

if (require.main === module) {
  const command = process.argv[2];
  if (command === 'install') {
    console.log(ensureZipkinInstalled());
  } else if (command === 'run') {
    startZipkin().then((zipkin) => {
      console.log(`Zipkin ready at ${zipkin.url} (spans: ${zipkin.spansEndpoint}); Ctrl-C stops it`);
      process.once('SIGINT', () => zipkin.stop());
      process.once('SIGTERM', () => zipkin.stop());
    }, (err) => {
      console.error(err.message);
      process.exit(1);
    });
  } else {
    console.error('usage: node scripts/zipkin-server.js install|run');
    process.exit(2);
  }
}
