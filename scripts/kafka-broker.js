'use strict';
// Runs a real single-node Apache Kafka broker (KRaft, broker+controller) on
// 127.0.0.1, from jars downloaded from Maven Central. No Docker needed.
// Kafka 4.4.0 by default; KAFKA_VERSION=<version> (e.g. 3.9.2) runs another
// release, each downloaded into .cache/kafka-<version>/ the first time it is asked for.
// Library: see kafka-broker.d.ts. CLI: node scripts/kafka-broker.js --help

const { spawn, spawnSync, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const DEFAULT_KAFKA_VERSION = '4.4.0';
const ROOT = path.resolve(__dirname, '..');
const POM = 'scripts/kafka/pom.xml'; // relative to ROOT
const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';

/** The release to run: the one asked for, else KAFKA_VERSION, else the default. */
function kafkaVersion(version = process.env.KAFKA_VERSION || DEFAULT_KAFKA_VERSION) {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`KAFKA_VERSION must be a Kafka release such as ${DEFAULT_KAFKA_VERSION}, got ${JSON.stringify(version)}`);
  }
  return version;
}

/**
 * Where a release's jars live, and how it logs: Kafka 3 through log4j 1
 * (reload4j, -Dlog4j.configuration), Kafka 4 through log4j2
 * (-Dlog4j2.configurationFile; the older property is ignored there).
 */
function release(version) {
  const cacheDir = path.join(ROOT, '.cache', `kafka-${version}`);
  const log4j2 = Number(version.split('.')[0]) >= 4;
  return {
    version,
    cacheDir,
    libDir: path.join(cacheDir, 'lib'),
    marker: path.join(cacheDir, 'lib.complete'),
    profile: log4j2 ? 'log4j2' : 'reload4j',
    logConfig: log4j2
      ? { file: 'log4j2.properties', property: 'log4j2.configurationFile', text: LOG4J2_PROPERTIES }
      : { file: 'log4j.properties', property: 'log4j.configuration', text: LOG4J_PROPERTIES },
  };
}

// Both log WARN and above to the console (the broker's log file), plus one INFO
// line per start and stop ("Kafka Server started") from KafkaRaftServer.
const LOG4J_PROPERTIES = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  '',
].join('\n');

const LOG4J2_PROPERTIES = [
  // log4j2's own shutdown hook would stop logging before the broker's shutdown has logged anything.
  'shutdownHook=disable',
  'appender.stdout.type=Console',
  'appender.stdout.name=STDOUT',
  'appender.stdout.layout.type=PatternLayout',
  'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
  'rootLogger.level=WARN',
  'rootLogger.appenderRef.stdout.ref=STDOUT',
  'logger.raft.name=kafka.server.KafkaRaftServer',
  'logger.raft.level=INFO',
  '',
].join('\n');

// ---------------------------------------------------------------- install

function checkJava() {
  const r = spawnSync(JAVA, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (r.error || major < 17) {
    const found = r.error ? 'no `java` on PATH' : `found Java ${major || 'of unknown version'}`;
    throw new Error(
      `Java 17+ is required to run the local Kafka broker (${found}): install it with \`apt-get install openjdk-17-jre-headless\``,
    );
  }
}

function checkMaven() {
  const r = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      'Maven is required to download the local Kafka broker from Maven Central: install it with `apt-get install maven`',
    );
  }
}

// The marker holds a hash of the POM, so editing the POM triggers a new download.
function pomHash() {
  return crypto.createHash('sha256').update(fs.readFileSync(path.join(ROOT, POM))).digest('hex');
}

function installed({ marker }) {
  try {
    return fs.readFileSync(marker, 'utf8').trim() === pomHash();
  } catch {
    return false;
  }
}

// Several jest workers may call this at once on a clean cache: a lock
// directory (mkdir is atomic) lets one of them download while the others wait.
async function withLock(dir, fn) {
  const lock = path.join(dir, '.lock');
  fs.mkdirSync(dir, { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        // A lock older than 10 minutes was left by a crashed download.
        if (Date.now() - fs.statSync(lock).mtimeMs > 600_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {}
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function ensureKafkaInstalled(version) {
  const kafka = release(kafkaVersion(version));
  checkJava();
  if (installed(kafka)) return kafka.libDir;
  return withLock(kafka.cacheDir, async () => {
    if (installed(kafka)) return kafka.libDir; // another process finished meanwhile
    checkMaven();
    fs.rmSync(kafka.libDir, { recursive: true, force: true }); // drop a partial or outdated download
    const args = ['-B', '-q', '-f', POM, `-Dkafka.version=${kafka.version}`, `-P${kafka.profile}`,
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
      '-DincludeScope=runtime', `-DoutputDirectory=${kafka.libDir}`];
    const r = await run('mvn', args, { cwd: ROOT, timeout: 15 * 60_000 });
    if (r.code !== 0) {
      throw new Error(`Maven could not download Kafka ${kafka.version} (exit ${r.code}): ${lastLines(r.output, 5)}`);
    }
    fs.writeFileSync(kafka.marker, `${pomHash()}\n`);
    return kafka.libDir;
  });
}

// ---------------------------------------------------------------- broker

async function startBroker(opts = {}) {
  const kafka = release(kafkaVersion(opts.version));
  const libDir = await ensureKafkaInstalled(kafka.version);
  const dataDir = path.resolve(opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'coffeebuddy-kafka-')));
  fs.mkdirSync(path.join(dataDir, 'tmp'), { recursive: true });
  const previous = readBrokerInfo(dataDir);
  if (previous && isKafkaPid(previous.pid)) {
    throw new Error(`A Kafka broker (pid ${previous.pid}) is already running on ${dataDir}`);
  }
  // Reuse the ports of an earlier run on the same data when they are free.
  const reuse = async (name) => (previous && previous[name] && (await portFree(previous[name])) ? previous[name] : undefined);
  const [port, controllerPort, proxiedPort, proxyPort] = await pickPorts([
    opts.port ?? (await reuse('port')),
    opts.controllerPort ?? (await reuse('controllerPort')),
    await reuse('proxiedPort'),
    await reuse('proxyPort'),
  ]);
  const state = {
    kafka, libDir, dataDir, port, controllerPort, proxiedPort, proxyPort,
    logFile: path.resolve(opts.logFile || path.join(dataDir, 'broker.log')),
    timeoutMs: opts.timeoutMs ?? 60_000,
    detached: Boolean(opts.detached),
    child: null,
  };
  writeConfig(state);
  await formatStorage(state);

  const handle = {
    version: kafka.version,
    bootstrap: `127.0.0.1:${port}`,
    port,
    controllerPort,
    proxiedPort,
    proxyPort,
    dataDir,
    logFile: state.logFile,
    pid: 0,
    stop: (timeoutMs = 15_000) => stopChild(state, timeoutMs),
    kill: () => killChild(state),
    restart: async () => {
      await stopChild(state, 15_000);
      await launch(state, handle);
    },
  };
  await launch(state, handle);
  return handle;
}

// The PROXIED listener (proxiedPort) advertises proxyPort, where nothing of
// the broker's listens: a fault-injecting proxy started there, forwarding to
// proxiedPort, stays between its clients and the broker, since metadata sends
// them back to proxyPort.
function writeConfig({ kafka, dataDir, port, controllerPort, proxiedPort, proxyPort }) {
  const props = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},PROXIED://127.0.0.1:${proxiedPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},PROXIED://127.0.0.1:${proxyPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT',
    'log.dirs': path.join(dataDir, 'logs'),
    'num.partitions': 1,
    'auto.create.topics.enable': true,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1, // the default 50 slows the first consumer group down
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0, // the default 3 s delays every first join
    // After a hard kill the restarted controller refuses the broker's new
    // registration until the old one's session expires (default 9 s).
    'broker.session.timeout.ms': 3000,
    'broker.heartbeat.interval.ms': 500,
  };
  const text = Object.entries(props).map(([k, v]) => `${k}=${String(v).replace(/\\/g, '\\\\')}\n`).join('');
  fs.writeFileSync(path.join(dataDir, 'server.properties'), text);
  fs.writeFileSync(path.join(dataDir, kafka.logConfig.file), kafka.logConfig.text);
}

function javaArgs({ kafka, dataDir, libDir }, heap) {
  const { file, property } = kafka.logConfig;
  return [...heap, `-Djava.io.tmpdir=${path.join(dataDir, 'tmp')}`,
    `-D${property}=file:${path.join(dataDir, file)}`, '-cp', path.join(libDir, '*')];
}

async function formatStorage(state) {
  if (fs.existsSync(path.join(state.dataDir, 'logs', 'meta.properties'))) return; // formatted by an earlier run
  const r = await run(JAVA, [...javaArgs(state, ['-Xmx256m']), 'kafka.tools.StorageTool', 'format',
    '-t', clusterId(), '-c', path.join(state.dataDir, 'server.properties'), '--ignore-formatted'],
  { cwd: state.dataDir, timeout: 120_000 });
  if (r.code !== 0) throw new Error(`Kafka storage format failed (exit ${r.code}): ${lastLines(r.output, 5)}`);
}

// Same format as `StorageTool random-uuid` (16 random bytes, base64url) without
// starting a second JVM; Kafka rejects ids starting with '-' on the command line.
function clusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function launch(state, handle) {
  const { dataDir } = state;
  fs.appendFileSync(state.logFile, `\n=== kafka-broker.js start ${new Date().toISOString()} ===\n`);
  const logFd = fs.openSync(state.logFile, 'a');
  let child;
  try {
    child = spawn(JAVA, [...javaArgs(state, ['-Xms128m', '-Xmx512m']), 'kafka.Kafka', 'server.properties'], {
      cwd: dataDir,
      stdio: ['ignore', logFd, logFd], // a file, not pipes: nothing to drain, no handle kept open
      detached: state.detached, // own session: survives this process and the terminal
    });
  } finally {
    fs.closeSync(logFd); // the child has its own copy
  }
  state.child = child;
  children.set(handle, child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', (err) => resolve(err.message)); // spawn failure: no 'exit' follows
  });
  handle.pid = child.pid ?? 0;
  writeBrokerInfo(handle);
  if (state.detached) child.unref();
  else track(child);

  const aborter = new AbortController();
  child.exited.then(() => aborter.abort());
  try {
    await waitForBroker(handle.bootstrap, state.timeoutMs, { signal: aborter.signal });
  } catch (err) {
    const early = aborter.signal.aborted;
    await killChild(state);
    const why = early
      ? `Kafka broker exited (${await child.exited}) before it was ready`
      : `Kafka broker was not ready at ${handle.bootstrap} within ${state.timeoutMs} ms (${err.message})`;
    throw new Error(`${why}; log: ${state.logFile}\n${tail(state.logFile)}`);
  }
  // Do not keep the event loop alive for the broker alone: a process that ends
  // without stop() kills it in its 'exit' hook (see track()).
  if (!state.detached) child.unref();
}

// handle -> current ChildProcess, for the CLI's `run`; kept off the public API.
const children = new WeakMap();

async function stopChild(state, timeoutMs) {
  const child = state.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep the process alive until the broker is gone
  child.kill('SIGTERM');
  if (!(await exitWithin(child, timeoutMs))) await killChild(state);
}

async function killChild(state) {
  const child = state.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  child.kill('SIGKILL');
  if (!(await exitWithin(child, 10_000))) throw new Error(`Kafka broker (pid ${child.pid}) did not exit after SIGKILL`);
}

async function exitWithin(child, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms, false); });
  const done = await Promise.race([child.exited.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

// Brokers started here without `detached` die with this process. 'exit' covers
// process.exit() and a drained event loop; a SIGINT/SIGTERM/SIGHUP that nobody
// else handles would kill Node without 'exit', so it is caught and re-raised.
const live = new Set();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killLive() {
  for (const child of live) {
    try { process.kill(child.pid, 'SIGKILL'); } catch {}
  }
}

function onSignal(signal) {
  if (process.listenerCount(signal) > 1) return; // someone else owns shutdown; 'exit' still covers us
  killLive();
  untrackAll();
  process.kill(process.pid, signal);
}

function track(child) {
  if (live.size === 0) {
    process.on('exit', killLive);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  live.add(child);
  child.exited.then(() => {
    live.delete(child);
    if (live.size === 0) untrackAll();
  });
}

function untrackAll() {
  live.clear();
  process.removeListener('exit', killLive);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

// ---------------------------------------------------------------- readiness

// Polls a TCP connect (the PLAINTEXT port opens only once the broker can
// serve), then kafkajs describeCluster(), until one succeeds or time runs out.
async function waitForBroker(bootstrap, timeoutMs = 60_000, { signal } = {}) {
  const first = bootstrap.split(',')[0].trim();
  const sep = first.lastIndexOf(':');
  const host = first.slice(0, sep);
  const port = Number(first.slice(sep + 1));
  const deadline = Date.now() + timeoutMs;
  let lastError = new Error('no attempt made');
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      await tcpConnect(host, port, Math.min(1000, deadline - Date.now()));
      const cluster = await describeCluster(bootstrap);
      if (cluster.brokers.length > 0) return cluster;
      lastError = new Error('no broker registered yet');
    } catch (err) {
      lastError = err;
    }
    await sleep(100, undefined, { signal }); // pause between attempts, not a readiness guess
  }
  throw new Error(`Kafka at ${bootstrap} did not answer within ${timeoutMs} ms: ${lastError.message}`);
}

function tcpConnect(host, port, ms) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(Math.max(ms, 1), () => socket.destroy(new Error(`connect to ${host}:${port} timed out`)));
    socket.once('connect', () => { socket.destroy(); resolve(); });
    socket.once('error', reject);
  });
}

async function describeCluster(bootstrap) {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'kafka-broker-ready-check',
    brokers: bootstrap.split(',').map((b) => b.trim()),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 }, // this loop retries; kafkajs' own backoff would only slow it down
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// ---------------------------------------------------------------- other processes

function readBrokerInfo(dataDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, 'broker.json'), 'utf8'));
  } catch {
    return null;
  }
}

function writeBrokerInfo({ bootstrap, port, controllerPort, proxiedPort, proxyPort, dataDir, pid }) {
  const info = { bootstrap, port, controllerPort, proxiedPort, proxyPort, dataDir, pid };
  fs.writeFileSync(path.join(dataDir, 'broker.json'), `${JSON.stringify(info, null, 2)}\n`);
}

// True while pid is a live Kafka broker; a stale pid reused by another program,
// or a zombie (empty cmdline), counts as gone. Without /proc, liveness only.
function isKafkaPid(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka');
  } catch (e) {
    return e.code !== 'ENOENT' || !fs.existsSync('/proc/self');
  }
}

async function stopBrokerByPid(pid, timeoutMs = 15_000) {
  const gone = async (ms) => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (!isKafkaPid(pid)) return true;
    return !isKafkaPid(pid);
  };
  const signal = (s) => { try { process.kill(pid, s); } catch {} };
  if (!isKafkaPid(pid)) return;
  signal('SIGTERM');
  if (await gone(timeoutMs)) return;
  signal('SIGKILL');
  if (!(await gone(10_000))) throw new Error(`Kafka broker (pid ${pid}) did not exit after SIGKILL`);
}

// ---------------------------------------------------------------- helpers

async function pickPorts(wanted) {
  const servers = [];
  try {
    // Hold every probe socket open until all are bound, so the ports differ.
    for (const p of wanted) {
      if (p) continue;
      const server = net.createServer();
      await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
      servers.push(server);
    }
    const free = servers.map((s) => s.address().port);
    return wanted.map((p) => p || free.shift());
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function run(cmd, args, options) {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : err.signal || err.code || 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` || (err ? err.message : '') });
    });
  });
}

function lastLines(text, n) {
  return String(text).trim().split('\n').slice(-n).join(' | ');
}

function tail(file, n = 30) {
  try {
    const fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 16384));
    fs.readSync(fd, buf, 0, buf.length, size - buf.length);
    fs.closeSync(fd);
    return buf.toString('utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------- CLI

/** The CLI's data directory for a release: storage formatted by one release is not for another. */
const cliDataDir = (version) => path.join(release(version).cacheDir, 'data');

const usage = (version) => `usage: [KAFKA_VERSION=<version>] node scripts/kafka-broker.js <command> [options]
  install                               download the jars of Kafka <version>, print the lib dir
  start [--data-dir D] [--port P]       start in the background, print KAFKA_BOOTSTRAP_SERVERS=...
  stop [--data-dir D]                   stop the broker started on D
  run [--data-dir D] [--port P]         run in the foreground until SIGINT/SIGTERM
<version> defaults to ${DEFAULT_KAFKA_VERSION} (now ${version}); D defaults to ${path.relative(process.cwd(), cliDataDir(version))}`;

function parseArgs(argv, version) {
  const opts = { dataDir: cliDataDir(version), version };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--data-dir' && value) opts.dataDir = path.resolve(value);
    else if (flag === '--port' && /^\d+$/.test(value || '')) opts.port = Number(value);
    else throw new Error(`unknown or incomplete option ${flag} (see --help)`);
    i++;
  }
  return opts;
}

async function main([command, ...rest]) {
  const print = (line) => process.stdout.write(`${line}\n`);
  const info = (line) => process.stderr.write(`${line}\n`);
  const version = kafkaVersion();
  if (command === 'install') {
    print(await ensureKafkaInstalled(version));
  } else if (command === 'start') {
    const h = await startBroker({ ...parseArgs(rest, version), detached: true });
    info(`Kafka ${h.version} running in the background: pid ${h.pid}, data ${h.dataDir}, log ${h.logFile}`);
    print(`KAFKA_BOOTSTRAP_SERVERS=${h.bootstrap}`);
  } else if (command === 'stop') {
    const { dataDir } = parseArgs(rest, version);
    const b = readBrokerInfo(dataDir);
    if (!b || !isKafkaPid(b.pid)) return info(`no Kafka broker running on ${dataDir}`);
    await stopBrokerByPid(b.pid);
    info(`stopped Kafka broker pid ${b.pid}`);
  } else if (command === 'run') {
    // Our own handlers first: the library's only act when nobody else listens.
    let stopRequested;
    const requested = new Promise((resolve) => { stopRequested = resolve; });
    for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => stopRequested(s));
    const h = await startBroker(parseArgs(rest, version));
    info(`Kafka ${h.version} running: pid ${h.pid}, data ${h.dataDir}, log ${h.logFile}; Ctrl-C stops it`);
    print(`KAFKA_BOOTSTRAP_SERVERS=${h.bootstrap}`);
    const child = children.get(h);
    child.ref(); // the foreground broker is what keeps this process alive
    const outcome = await Promise.race([requested, child.exited.then((code) => ({ code }))]);
    if (typeof outcome === 'object') throw new Error(`Kafka broker exited (${outcome.code}); log: ${h.logFile}\n${tail(h.logFile)}`);
    await h.stop();
    info('Kafka broker stopped');
    process.exit(0);
  } else {
    if (command && command !== '--help' && command !== '-h') throw new Error(`unknown command ${command} (see --help)`);
    print(usage(version));
  }
}

module.exports = { DEFAULT_KAFKA_VERSION, kafkaVersion, ensureKafkaInstalled, startBroker, waitForBroker, stopBrokerByPid, readBrokerInfo };

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    // The whole message: a broker that failed to start ends it with the last lines of its log.
    process.stderr.write(`kafka-broker: ${String(err.message).trimEnd()}\n`);
    process.exit(1);
  });
}
