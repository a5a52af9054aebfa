/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 30000,
  // Installs the system packages the namespace tests need (root + apt-get only; scripts/install-deps).
  globalSetup: '<rootDir>/tests/support/global-setup.js',
  // ...and a temporary directory for the run, removed at its end (nothing is left in /tmp).
  globalTeardown: '<rootDir>/tests/support/global-teardown.js',
  // Tests that create network namespaces or spawn the CLI must not fight over the two cores.
  maxWorkers: 2,
};
