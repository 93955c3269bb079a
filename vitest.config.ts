import { defineConfig } from 'vitest/config';

// Three projects: `unit` runs pure modules (and the emulator against real Baileys) in Node;
// `e2e` starts the real stack once (Postgres, WebSocket proxy, the Worker in workerd via wrangler)
// and drives it only through its public surface; `faults` (npm run test:faults) gives each scenario a
// stack of its own to break (runners killed, the Worker restarted, Postgres stopped).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{protocol,worker,runner,scripts,drizzle}/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: ['test/faults/**'],
          environment: 'node',
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One stack is shared by all e2e files; run them one at a time on a 2-core box.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
