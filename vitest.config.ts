import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites start their own brokers on free ports; two workers fit 2 cores.
    maxWorkers: 2,
    // The AWS SDK's notice that its 2027 releases need Node 22 is noise in every test log here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
})
