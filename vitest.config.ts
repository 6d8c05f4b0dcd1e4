import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    // CDK's App leaves a cdk.out folder in the temp dir per synth; keep them in a folder we wipe.
    env: { TMPDIR: path.resolve(import.meta.dirname, '.tmp') },
    pool: 'forks',
    // s3rver's ListObjectsV2 continuation tokens use a cipher OpenSSL 3 only has in its legacy provider.
    execArgv: ['--openssl-legacy-provider'],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
