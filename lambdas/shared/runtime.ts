import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DEFAULT_LIMITS } from '../core/fetch-window.ts';
import type { Runtime } from '../core/handlers.ts';
import { readLambdaConfig } from './config.ts';
import { createPowertoolsLogger, fromPowertools } from './log.ts';
import { createMetrics } from './metrics.ts';
import { createS3Client } from './s3.ts';
import { secretsManagerLoader } from './secrets.ts';

/**
 * Powertools for AWS Lambda, once per container: the Logger (every line with the request id, cold
 * start and X-Ray trace id), the Tracer (on in Lambda with active tracing; off anywhere else), and the
 * metrics. The service is the stack's name (POWERTOOLS_SERVICE_NAME, set by infra/constructs/lake-function.ts).
 */
const service = process.env.POWERTOOLS_SERVICE_NAME ?? 'datadog-usage-lake';
const logger = createPowertoolsLogger({ serviceName: service });
const tracer = new Tracer({ serviceName: service });

let runtime: Runtime | undefined;

/**
 * The deployed Lambdas' runtime: config from env (read once, failing at cold start), real AWS clients
 * traced by X-Ray (S3, Secrets Manager; Datadog's requests through undici's diagnostics channels,
 * which the Tracer subscribes to).
 */
export function lambdaRuntime(): Runtime {
  if (runtime) return runtime;
  const config = readLambdaConfig(process.env);
  runtime = {
    ...config,
    s3: tracer.captureAWSv3Client(createS3Client()),
    loadKeys: secretsManagerLoader(tracer.captureAWSv3Client(new SecretsManagerClient({}))),
    limits: DEFAULT_LIMITS,
    log: fromPowertools(logger),
    metrics: createMetrics({ service }),
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  return runtime;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * Wraps a handler for Lambda: the invocation's context on every log line, and a `## handler`
 * subsegment with cold-start and service annotations and the error, if any, as metadata.
 */
export function withPowertools<E, R>(
  handler: Handler<E, R>,
  deps: { logger: PowertoolsLogger; tracer: Tracer } = { logger, tracer },
): Handler<E, R> {
  return async (event, context) => {
    // Lambda always passes a context; a direct call (a smoke test) may not.
    if (context) deps.logger.addContext(context);
    const segment = deps.tracer.getSegment();
    const subsegment = segment?.addNewSubsegment('## handler');
    if (subsegment) deps.tracer.setSegment(subsegment);
    deps.tracer.annotateColdStart();
    deps.tracer.addServiceNameAnnotation();
    try {
      return await handler(event, context);
    } catch (error) {
      deps.tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment?.close();
      if (segment) deps.tracer.setSegment(segment);
    }
  };
}
