import { type Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface LakeFunctionProps {
  /** Handler file, e.g. `lambdas/hourly_usage/handler.ts`. */
  entry: string;
  description: string;
  timeout: Duration;
  memorySize?: number;
  environment: Record<string, string>;
  logRetention?: RetentionDays;
}

/**
 * The project's function defaults: ARM64, Node 24 (the code also runs on 20 and 22), X-Ray, ESM bundled by the local esbuild (no Docker),
 * source maps, JSON logs into an explicit log group with retention, written with a role that may write only there.
 */
export class LakeFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: LakeFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    // Its own log group only (no AWSLambdaBasicExecutionRole, whose logs:* rights cover every group).
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    this.fn = new NodejsFunction(this, 'Function', {
      role,
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      tracing: Tracing.ACTIVE,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // Powertools' Logger, Metrics and Tracer: the stack is the service (each copy its own metrics).
        POWERTOOLS_SERVICE_NAME: Stack.of(this).stackName,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        sourceMap: true,
        minify: true,
        externalModules: ['@aws-sdk/*'],
        // undici is CommonJS: give the ESM bundle a `require` for its `require('node:…')` calls.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
  }
}
