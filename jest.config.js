/**
 * Two tiers, one `npm test`: unit specs (beside the code and under test/unit)
 * need no broker; integration and end-to-end tests under test/ share one real
 * broker, started by the integration project's global setup only when one of
 * its tests runs. `jest --selectProjects unit` runs the unit tier alone.
 */
const transform = {
  // Nest 12 ships ES modules; SWC compiles them (and our TypeScript) to CommonJS for Jest.
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
  '^.+\\.js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
};

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform,
  // The OTLP exporter loads node:http with import(), which Jest's CommonJS sandbox runs only once compiled to require().
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@opentelemetry)/)'],
  // The cleanup registry's hooks: whatever a test starts is stopped after it (test/support/cleanup.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/cleanup-hooks.ts'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/src', '<rootDir>/test/unit'],
      testMatch: ['**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  // A global option: Jest ignores it inside a project. Tests with several waits set their own
  // timeout above their sum (testTimeout() in test/support/wait.ts).
  testTimeout: 60000,
  // Files run in parallel: most of a file's time is spent waiting (on the broker, a JVM starting, a
  // retry's backoff, a consumer's fetch), not computing, so two workers finish the suite in about half
  // the time of one. Not more on 2 cores: with a third, the command-line tool's 5 s bound to reach the
  // broker was missed on a loaded machine. Tests sharing the suite's broker never collide: each has
  // topics and a consumer group of its own (isolatedKafkaEnv in test/support/kafka.ts), and the one
  // proxied port of the fault proxies is taken in turn (FaultProxy.forSuiteBroker).
  maxWorkers: 2,
  reporters: [
    'default',
    ['jest-junit', { outputDirectory: 'reports', outputName: 'junit.xml', addFileAttribute: 'true' }],
    '<rootDir>/test/support/slowest-files-reporter.js',
  ],
  // Coverage is collected by `npm test` (jest --coverage), so one file run on its own is not held to the floor.
  coverageDirectory: 'reports/coverage',
  coverageReporters: ['text-summary', 'lcov', 'cobertura'],
  // The entry points run only as child processes (test/e2e, test/cli), where Jest collects no coverage.
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts', '!src/serve.ts', '!src/cli.ts'],
  // The floor: today's level (whole-suite runs gave statements 86.97, branches 77.65, functions 84.31,
  // lines 89.2 %), rounded down with room for the run-to-run variation of timing-dependent paths, so
  // coverage cannot fall silently. Raise it when coverage rises. The
  // command-line tool is mostly exercised as a child process, which Jest does not measure.
  coverageThreshold: { global: { statements: 86, branches: 77, functions: 83, lines: 88 } },
};
