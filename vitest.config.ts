import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** Test files that replace modules with vi.mock: each runs in a fresh module registry of its own. */
const MOCKING = ['test/integration/harness.test.ts'];

const common = {
  globalSetup: ['test/global-setup.ts'],
  setupFiles: ['test/setup.ts'],
  // CDK's App leaves a cdk.out folder in the temp dir per synth; keep them in a folder we wipe.
  env: { TMPDIR: path.resolve(import.meta.dirname, '.tmp') },
  pool: 'forks' as const,
  // s3rver's ListObjectsV2 continuation tokens use a cipher OpenSSL 3 only has in its legacy provider.
  execArgv: ['--openssl-legacy-provider'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      // The rest share each worker's loaded modules (aws-cdk-lib, the AWS SDK, the pipeline) from file
      // to file instead of importing them again: half the suite's time was imports. A file that
      // patches what it shares (aws-sdk-client-mock stubs a client's prototype) restores it in afterAll.
      {
        test: { ...common, name: 'shared', include: ['test/**/*.test.ts'], exclude: MOCKING, isolate: false },
      },
      { test: { ...common, name: 'isolated', include: MOCKING, isolate: true } },
    ],
  },
});
