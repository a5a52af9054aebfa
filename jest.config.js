// Two projects: `unit`, the tests that run in the test process only (no CLI process, no namespace, no crond: the
// engine, the config, the state, the schemas, the pure parts of observe and act), `npm run test:unit`, under 30 s;
// and `system`, everything else (the CLI, the simulated cluster, the packages). `npm test` runs both.
const UNIT = [
  'act/**',
  'config/**',
  'decide/**',
  'state/**',
  'cli/status/**',
  'layers.test.ts',
  'doctor/files-on-nfs.test.ts',
  'install/old-agent.test.ts',
  'observe/observe.test.ts',
  'observe/icmp/packet.test.ts',
  'observe/icmp/result.test.ts',
  'observe/icmp/monitor-snapshot.test.ts',
  'observe/zbs/race-state.test.ts',
  'observe/zbs/schemas.test.ts',
  'routes/linux-parse.test.ts',
  'runtime/clock.test.ts',
  'runtime/exec.test.ts',
  'support/bench-fleet-figures.test.ts',
].map((p) => `<rootDir>/tests/${p}`);

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Installs the system packages the namespace tests need (root + apt-get only; scripts/install-deps).
  globalSetup: '<rootDir>/tests/support/global-setup.js',
  // ...and a temporary directory for the run, removed at its end (nothing is left in /tmp).
  globalTeardown: '<rootDir>/tests/support/global-teardown.js',
  // Tests that create network namespaces or spawn the CLI must not fight over the two cores.
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: UNIT.map((p) => (p.endsWith('/**') ? `${p}/*.test.ts` : p)) },
    { ...common, displayName: 'system', testMatch: ['<rootDir>/tests/**/*.test.ts'], testPathIgnorePatterns: UNIT.map((p) => p.replace('<rootDir>', '').replace(/\/\*\*$/, '/')) },
  ],
};
