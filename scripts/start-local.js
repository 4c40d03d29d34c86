'use strict';
// `npm start`: builds the service and runs it on http://127.0.0.1:8080 with a
// real local Kafka broker, unless KAFKA_BOOTSTRAP_SERVERS points at one.
// Ctrl-C stops the service (graceful drain), then the broker.

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { kafkaVersion, startBroker } = require('./kafka-broker');

const ROOT = path.resolve(__dirname, '..');
// Read by the CLI (src/cli/cli-settings.ts) when KAFKA_BOOTSTRAP_SERVERS is unset.
const LOCAL_BROKER_FILE = path.join(ROOT, '.cache', 'local-kafka.json');

async function main() {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const env = { COFFEEBUDDY_HTTP_HOST: '127.0.0.1', ...process.env };
  let broker;
  if (!env.KAFKA_BOOTSTRAP_SERVERS) {
    const version = kafkaVersion(); // KAFKA_VERSION, else the default
    process.stderr.write(`starting the local Kafka broker (Kafka ${version})...\n`);
    // One data directory per release: storage formatted by one release is not for another.
    broker = await startBroker({ version, dataDir: path.join(ROOT, '.cache', `kafka-local-${version}`) });
    env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap;
    process.stderr.write(`Kafka broker on ${broker.bootstrap} (data in ${broker.dataDir})\n`);
    fs.writeFileSync(LOCAL_BROKER_FILE, `${JSON.stringify({ bootstrap: broker.bootstrap, pid: process.pid }, null, 2)}\n`);
  }
  const service = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], { cwd: ROOT, env, stdio: 'inherit' });
  // The service drains on the signal; the broker stops once it has exited.
  // Forwarded as SIGTERM: a terminal's Ctrl-C reaches the service too (same
  // process group), and a forwarded SIGINT would count as a second Ctrl-C,
  // which forces the exit. A repeated SIGTERM never cuts the drain short.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => service.kill('SIGTERM'));
  service.on('exit', async (code) => {
    if (broker) fs.rmSync(LOCAL_BROKER_FILE, { force: true });
    await broker?.stop();
    process.exit(code ?? 1);
  });
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
