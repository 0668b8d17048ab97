import { defineConfig } from 'vitest/config';

// One run covers every room. Tests that start real servers (influxd, brokers, child processes) take seconds,
// so the timeouts are generous, and files run in parallel only as far as a 2-core machine allows.
export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', '*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
