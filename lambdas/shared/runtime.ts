import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEFAULT_LIMITS } from '../core/fetch-window.ts';
import type { Runtime } from '../core/handlers.ts';
import { readLambdaConfig } from './config.ts';
import { createLogger } from './log.ts';
import { createS3Client } from './s3.ts';
import { secretsManagerLoader } from './secrets.ts';

let runtime: Runtime | undefined;

/** The deployed Lambdas' runtime: config from env (read once, failing at cold start), real AWS clients. */
export function lambdaRuntime(): Runtime {
  if (runtime) return runtime;
  const config = readLambdaConfig(process.env);
  runtime = {
    ...config,
    s3: createS3Client(),
    loadKeys: secretsManagerLoader(new SecretsManagerClient({})),
    limits: { ...DEFAULT_LIMITS, concurrentWorkers: config.concurrentFetches },
    log: createLogger({ function: process.env.AWS_LAMBDA_FUNCTION_NAME }),
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  return runtime;
}
