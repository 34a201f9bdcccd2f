import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites start their own brokers on free ports; two workers fit 2 cores.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
})
