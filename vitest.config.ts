import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // As tsconfig.json `paths`: the examples import mqtt-fn by name, which in this checkout is the source.
  resolve: {
    alias: {
      'mqtt-fn/forwarder': fileURLToPath(new URL('./src/exports/forwarder.ts', import.meta.url)),
      'mqtt-fn/local': fileURLToPath(new URL('./src/exports/local.ts', import.meta.url)),
      'mqtt-fn/functions': fileURLToPath(new URL('./src/exports/functions.ts', import.meta.url)),
    },
  },
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
