import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArnFormat,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { Construct, IConstruct } from 'constructs';
import { CATEGORIES, type CategoryName } from '../lambdas/categories.ts';
import { categoryPrefix, rateLedgerKey, runsPrefix } from '../lambdas/core/layout.ts';
import type { LakeSettings } from './config.ts';
import { AthenaLake } from './constructs/athena-lake.ts';
import { LakeFunction } from './constructs/lake-function.ts';
import { Observability } from './constructs/observability.ts';
import { FUNCTION_TIMEOUTS, PipelineStateMachine } from './constructs/pipeline-state-machine.ts';
import { DailySchedules } from './constructs/schedules.ts';
import { acknowledgeNagFindings } from './nag.ts';
import { physicalNames } from './names.ts';
import { FUNCTION_IDS, pipelineProps } from './pipeline-definitions.ts';

/** Get, put and delete objects under `prefix`, and list only that prefix: nothing else in the bucket. */
function grantPrefix(fn: IFunction, bucket: IBucket, prefix: string): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    }),
  );
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = (name: string) => path.join(ROOT, 'lambdas', name, 'handler.ts');

export interface DatadogUsageStackProps extends StackProps {
  settings: LakeSettings;
}

/** Composition only: bucket, one function per category, state machine, schedules, alarms. */
export class DatadogUsageStack extends Stack {
  readonly bucket: IBucket;
  readonly pipeline: PipelineStateMachine;
  readonly fetchFunctions: Partial<Record<CategoryName, IFunction>> = {};

  constructor(scope: Construct, id: string, props: DatadogUsageStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const logRetention = settings.logRetentionDays as RetentionDays;
    const names = physicalNames(this.stackName);

    // Encrypts the alarm topic and the schedules' dead-letter queue. Who may use it for what is
    // granted where each user is built: the schedules' role (DLQ), the stack's alarms (topic).
    const key = new Key(this, 'Key', {
      enableKeyRotation: true,
      description: `${this.stackName}: alarm topic and dead-letter queue`,
    });

    // Server access logs of the data bucket (when created here) and of the Athena results bucket.
    const accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = settings.bucketName
      ? Bucket.fromBucketName(this, 'Data', settings.bucketName)
      : this.createBucket(settings.prefix, accessLogs);

    const environment = {
      DATA_BUCKET: this.bucket.bucketName,
      DATA_PREFIX: settings.prefix,
      DD_ACCOUNTS: JSON.stringify(settings.accounts),
      ENABLED_CATEGORIES: settings.categories.join(','),
    };
    // GetSecretValue only (no DescribeSecret): the name plus the 6 characters Secrets Manager appends.
    const secretArns = settings.accounts.map((a) =>
      this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${a.secretName}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const functions: Record<string, IFunction> = {};

    for (const name of settings.categories) {
      const def = CATEGORIES[name];
      const { fn } = new LakeFunction(this, FUNCTION_IDS.fetch(name), {
        entry: entry(name),
        description: `Fetches ${def.title} (${def.path}) into s3://…/${categoryPrefix(settings.prefix, name)}`,
        timeout: FUNCTION_TIMEOUTS.fetch,
        memorySize: 512,
        environment,
        logRetention,
      });
      // Reads, writes and deletes only under its own category's prefix; reads and writes the accounts'
      // rate-limit ledgers, which every category shares; reads only the accounts' secrets.
      grantPrefix(fn, this.bucket, categoryPrefix(settings.prefix, name));
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: settings.accounts.map((a) =>
            this.bucket.arnForObjects(rateLedgerKey(settings.prefix, a.name)),
          ),
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretArns }),
      );
      this.fetchFunctions[name] = fn;
      functions[`fetch-${name}`] = fn;
    }

    const plan = new LakeFunction(this, FUNCTION_IDS.plan, {
      entry: entry('plan'),
      description: 'Validates the run input and plans the windows',
      timeout: FUNCTION_TIMEOUTS.plan,
      environment,
      logRetention,
    });
    const summarize = new LakeFunction(this, FUNCTION_IDS.summarize, {
      entry: entry('summarize'),
      description: 'Sums up window results per group and per run',
      timeout: FUNCTION_TIMEOUTS.summarize,
      environment,
      logRetention,
    });
    // Run bookkeeping lives under _runs/, outside every category's prefix.
    grantPrefix(summarize.fn, this.bucket, runsPrefix(settings.prefix));
    functions.plan = plan.fn;
    functions.summarize = summarize.fn;

    this.pipeline = new PipelineStateMachine(
      this,
      'Pipeline',
      pipelineProps(settings, {
        planFunction: plan.fn,
        summarizeFunction: summarize.fn,
        fetchFunctions: this.fetchFunctions,
        logRetention,
      }),
    );

    const schedules = new DailySchedules(this, 'Schedules', {
      stateMachine: this.pipeline.stateMachine,
      accounts: settings.accounts,
      settings: settings.schedule,
      key,
    });

    const observability = new Observability(this, 'Observability', {
      stateMachine: this.pipeline.stateMachine,
      functions,
      categories: settings.categories,
      deadLetterQueue: schedules.deadLetterQueue,
      key,
      names,
      alarmEmail: settings.alarmEmail,
    });

    new AthenaLake(this, 'Athena', {
      dataBucket: this.bucket,
      prefix: settings.prefix,
      accounts: settings.accounts.map((a) => a.name),
      accessLogsBucket: accessLogs,
      databaseName: names.database,
      workGroupName: names.workGroup,
    });

    const logicalId = (c: IConstruct) => this.getLogicalId(c.node.defaultChild as CfnElement);
    acknowledgeNagFindings({
      stack: this,
      functions: [
        ...settings.categories.map((name) => ({
          scope: this.node.findChild(`Fetch-${name}`),
          prefix: categoryPrefix(settings.prefix, name),
        })),
        { scope: plan },
        { scope: summarize, prefix: runsPrefix(settings.prefix) },
      ],
      stateMachine: {
        scope: this.pipeline,
        logicalId: logicalId(this.pipeline.stateMachine),
        invokedFunctionIds: Object.values(functions).map(logicalId),
        windowName: names.windowStateMachine,
      },
      bucketArnToken: settings.bucketName
        ? `arn:<AWS::Partition>:s3:::${settings.bucketName}`
        : `<${logicalId(this.bucket as Bucket)}.Arn>`,
      deadLetterQueue: schedules.deadLetterQueue,
      alarmSubscriptions: observability.subscriptions,
    });

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'DataPrefix', { value: settings.prefix });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: observability.topic.topicArn });
    // npm run doctor -- --deployed counts the failed schedule starts waiting here.
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: schedules.deadLetterQueue.queueUrl });
  }

  /** Public access blocked, TLS only, encrypted, versioned with noncurrent expiry, access-logged. */
  private createBucket(prefix: string, accessLogs: IBucket): Bucket {
    return new Bucket(this, 'Data', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        // A committed fetch removes the older ones: keep the removed versions 30 days, then let them
        // go; a delete marker left with no version behind it (removed fetches, expired _runs/) goes too.
        {
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiredObjectDeleteMarker: true,
        },
        // Run bookkeeping (window results per run) is only useful for a while.
        { prefix: runsPrefix(prefix), expiration: Duration.days(90) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
