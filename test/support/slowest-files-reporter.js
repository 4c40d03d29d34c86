'use strict';
const path = require('node:path');

/** How many files the summary names. */
const SHOWN = 10;

/**
 * A Jest reporter that ends the run with its slowest test files, from Jest's
 * own time for each file (the same as the per-file times in
 * reports/junit.xml), so a file that grows slow is seen at once.
 */
class SlowestFilesReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const files = results.testResults
      .map((file) => ({ name: path.relative(this.rootDir, file.testFilePath), seconds: file.perfStats.runtime / 1000 }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, SHOWN);
    if (files.length === 0) return;
    const lines = files.map(({ name, seconds }) => `${seconds.toFixed(1).padStart(7)} s  ${name}`);
    process.stderr.write(`\nThe ${files.length} slowest test files:\n${lines.join('\n')}\n`);
  }
}

module.exports = SlowestFilesReporter;
