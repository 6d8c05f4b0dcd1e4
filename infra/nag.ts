import { type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag findings this stack accepts, each with its reason. Everything else fails synth
 * (infra/app.ts runs the AwsSolutions and Serverless packs) and the nag test.
 */
export interface NagTargets {
  stack: Stack;
  /** Fetch, plan and summarize functions, with the bucket prefix each one may touch. */
  functions: Array<{ scope: IConstruct; prefix?: string }>;
  /** The state machine's construct (machine and role), the functions it invokes (their CloudFormation logical ids). */
  stateMachine: {
    scope: IConstruct;
    logicalId: string;
    invokedFunctionIds: string[];
    /** The window state machine, started by name (its executions' ARNs are name-based). */
    windowName: string;
  };
  bucketArnToken: string;
  deadLetterQueue: IConstruct;
  alarmSubscriptions: IConstruct[];
}

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export function acknowledgeNagFindings(t: NagTargets): void {
  for (const { scope, prefix } of t.functions) {
    ack(
      scope,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );
    ack(
      scope,
      'Serverless-LambdaDLQ',
      'Invoked synchronously by Step Functions only: failures are retried and caught by the state machine and reported in the run output; a DLQ would never receive anything.',
    );
    if (prefix !== undefined) {
      ack(
        scope,
        `AwsSolutions-IAM5[Resource::${t.bucketArnToken}/${prefix}*]`,
        'Object keys are per window and page; access is limited to this function’s own prefix (its category, or _runs/ for the summaries).',
      );
    }
  }
  for (const id of t.stateMachine.invokedFunctionIds) {
    ack(
      t.stateMachine.scope,
      `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
      'CDK grants lambda:InvokeFunction on the function and its versions/aliases; only the pipeline’s own functions are listed.',
    );
  }
  ack(
    t.stateMachine.scope,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support no resource-level permissions.',
  );
  const execution = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${t.stateMachine.logicalId}"}]}]}`;
  for (const suffix of [':*', '/*:*']) {
    ack(
      t.stateMachine.scope,
      `AwsSolutions-IAM5[Resource::${execution}${suffix}]`,
      'The distributed Map starts, describes and stops child executions of this state machine only; their names are generated.',
    );
  }
  ack(
    t.stateMachine.scope,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${t.stateMachine.windowName}*]`,
    'A window that outgrows its execution continues in a window execution (startExecution.sync): Step Functions describes and stops executions of the window state machine only; their names are generated.',
  );
  ack(t.deadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of the schedules.');
  ack(
    t.deadLetterQueue,
    'Serverless-SQSRedrivePolicy',
    'This queue is itself the dead-letter queue of the schedules.',
  );
  for (const s of t.alarmSubscriptions) {
    ack(
      s,
      'Serverless-SNSRedrivePolicy',
      'E-mail notification of alarms: an undelivered e-mail leaves the alarm in ALARM state, visible in CloudWatch.',
    );
  }
}
