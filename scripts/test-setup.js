'use strict';
// `npm test` runs this before jest: it brings everything the suite needs that
// `npm ci` does not. Missing system tools are installed with apt-get when this
// process may (root, or sudo without a password); otherwise it stops at once
// with one line naming the command to run. Nothing is ever skipped.
//
// To add a need, add an entry to SYSTEM_TOOLS (a program from a Debian
// package) or ARTIFACTS (something downloaded into .cache/, e.g. from Maven Central).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Programs the suite runs, and the Debian package that provides each. */
const SYSTEM_TOOLS = [
  { program: 'java', apt: 'openjdk-17-jre-headless', usedBy: 'the local Kafka broker' },
  { program: 'mvn', apt: 'maven', usedBy: 'downloads from Maven Central' },
  { program: 'kubectl', apt: 'kubernetes-client', usedBy: 'test/deploy and test/observability (kubectl kustomize)' },
  { program: 'promtool', apt: 'prometheus', usedBy: 'test/observability (rule checks and rule unit tests)' },
  { program: 'prometheus', apt: 'prometheus', usedBy: 'test/observability (a real server scrapes the service)' },
];

/** Artifacts fetched once into .cache/; each install() is idempotent and returns where it put them. */
const ARTIFACTS = [
  { name: 'Kafka broker', install: () => require('./kafka-broker').ensureKafkaInstalled() },
  { name: 'Zipkin server', install: () => require('./zipkin-server').ensureZipkinInstalled() },
];

/** The full path of `program` on PATH, or undefined (what `command -v` does, without a shell). */
function onPath(program, searchPath = process.env.PATH || '') {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return undefined;
}

/** How this process may run apt-get: directly as root, through passwordless sudo, or not at all. */
function aptPrefix() {
  if (process.getuid?.() === 0) return [];
  if (onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return undefined;
}

function runApt(prefix, args) {
  const [cmd, ...rest] = [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  const result = spawnSync(cmd, rest, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    throw new Error(`\`${[...prefix, 'apt-get', ...args].join(' ')}\` failed (${result.error?.message ?? `exit ${result.status}`})`);
  }
}

function installSystemTools() {
  const missing = SYSTEM_TOOLS.filter((tool) => !onPath(tool.program));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.apt))];
  const programs = missing.map((tool) => tool.program).join(', ');
  const prefix = aptPrefix();
  if (!prefix) {
    throw new Error(`missing ${programs}: run \`sudo apt-get install -y ${packages.join(' ')}\`, then npm test again`);
  }
  process.stderr.write(`test-setup: installing ${packages.join(' ')} (for ${programs})\n`);
  runApt(prefix, ['update', '-qq']);
  runApt(prefix, ['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  const stillMissing = missing.filter((tool) => !onPath(tool.program)).map((tool) => tool.program);
  if (stillMissing.length > 0) {
    throw new Error(`${stillMissing.join(', ')} still not on PATH after installing ${packages.join(' ')}`);
  }
}

async function main() {
  installSystemTools();
  for (const artifact of ARTIFACTS) {
    const where = await artifact.install();
    process.stderr.write(`test-setup: ${artifact.name} ready in ${path.relative(process.cwd(), where) || where}\n`);
  }
}

module.exports = { SYSTEM_TOOLS, ARTIFACTS };

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`test-setup: ${String(error.message).split('\n')[0]}\n`);
    process.exit(1);
  });
}
