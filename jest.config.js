/** One suite: unit specs beside the code and under test/unit, integration and end-to-end tests under test/. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  // Nest 12 ships ES modules; SWC compiles them (and our TypeScript) to CommonJS for Jest.
  transform: {
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
  },
  // The OTLP exporter loads node:http with import(), which Jest's CommonJS sandbox runs only once compiled to require().
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@opentelemetry)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  reporters: ['default', ['jest-junit', { outputDirectory: 'reports', outputName: 'junit.xml' }]],
  collectCoverage: true,
  coverageDirectory: 'reports/coverage',
  coverageReporters: ['text-summary', 'lcov', 'cobertura'],
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts'],
};
