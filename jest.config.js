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
  // A global option: Jest ignores it inside a project.
  testTimeout: 60000,
  reporters: ['default', ['jest-junit', { outputDirectory: 'reports', outputName: 'junit.xml' }]],
  collectCoverage: true,
  coverageDirectory: 'reports/coverage',
  coverageReporters: ['text-summary', 'lcov', 'cobertura'],
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts'],
};
