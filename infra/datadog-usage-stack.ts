import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CATEGORIES, type CategoryName } from '../lambdas/categories.ts';
import type { LakeSettings } from './config.ts';
import { LakeFunction } from './constructs/lake-function.ts';
import { PipelineStateMachine } from './constructs/pipeline-state-machine.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = (name: string) => path.join(ROOT, 'lambdas', name, 'handler.ts');

export interface DatadogUsageStackProps extends StackProps {
  settings: LakeSettings;
}

/** Composition only: the bucket, one function per category, the state machine. */
export class DatadogUsageStack extends Stack {
  readonly bucket: Bucket;
  readonly pipeline: PipelineStateMachine;
  readonly fetchFunctions: Partial<Record<CategoryName, IFunction>> = {};

  constructor(scope: Construct, id: string, props: DatadogUsageStackProps) {
    super(scope, id, props);
    const { settings } = props;

    this.bucket = new Bucket(this, 'Data', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment = {
      DATA_BUCKET: this.bucket.bucketName,
      DATA_PREFIX: settings.prefix,
      DD_ACCOUNTS: JSON.stringify(settings.accounts),
      ENABLED_CATEGORIES: settings.categories.join(','),
    };
    const secrets = settings.accounts.map((a, i) =>
      Secret.fromSecretNameV2(this, `Secret${i}`, a.secretName),
    );
    const root = settings.prefix ? `${settings.prefix}/` : '';

    for (const name of settings.categories) {
      const def = CATEGORIES[name];
      const { fn } = new LakeFunction(this, `Fetch-${name}`, {
        entry: entry(name),
        description: `Fetches ${def.title} (${def.path}) into s3://…/${root}${name}/`,
        timeout: Duration.minutes(5),
        memorySize: 512,
        environment,
      });
      // Reads, writes and deletes only under its own category's prefix; reads only the accounts' secrets.
      this.bucket.grantReadWrite(fn, `${root}${name}/*`);
      this.bucket.grantDelete(fn, `${root}${name}/*`);
      for (const secret of secrets) secret.grantRead(fn);
      this.fetchFunctions[name] = fn;
    }

    const plan = new LakeFunction(this, 'Plan', {
      entry: entry('plan'),
      description: 'Validates the run input and plans the windows',
      timeout: Duration.seconds(30),
      environment,
    });
    const summarize = new LakeFunction(this, 'Summarize', {
      entry: entry('summarize'),
      description: 'Sums up window results per group and per run',
      timeout: Duration.minutes(2),
      environment,
    });
    // Run bookkeeping lives under _runs/, outside every category's prefix.
    this.bucket.grantReadWrite(summarize.fn, `${root}_runs/*`);

    this.pipeline = new PipelineStateMachine(this, 'Pipeline', {
      planFunction: plan.fn,
      summarizeFunction: summarize.fn,
      fetchFunctions: this.fetchFunctions,
      mapConcurrency: settings.mapConcurrency,
      windowConcurrency: settings.windowConcurrency,
    });

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
  }
}
