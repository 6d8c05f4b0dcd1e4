import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
} from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { AccountConfig } from '../../lambdas/shared/config.ts';
import type { ScheduleSettings } from '../config.ts';

export interface DailySchedulesProps {
  stateMachine: IStateMachine;
  accounts: AccountConfig[];
  settings: ScheduleSettings;
  /** Encrypts the dead-letter queue. */
  key: IKey;
}

/**
 * EventBridge Scheduler → StartExecution with the relative input `{lookback, asOf}`; `asOf` is the
 * scheduled time, so a delayed or retried start still covers the right windows. Failed starts are
 * retried, then kept in a dead-letter queue.
 */
export class DailySchedules extends Construct {
  readonly schedules: Schedule[] = [];
  readonly deadLetterQueue: Queue;
  /** What EventBridge Scheduler acts as: starts the state machine, or writes the dead letter. */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: DailySchedulesProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const stack = Stack.of(this);
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    // SQS encrypts a dead letter with the sender's rights on the queue's key: without these, a failed
    // start would be dropped instead of kept.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${stack.region}.amazonaws.com` } },
      }),
    );
    const runs: Array<{ id: string; account?: string }> =
      props.settings.mode === 'per-account'
        ? props.accounts.map((a) => ({ id: `Daily-${a.name}`, account: a.name }))
        : [{ id: 'Daily' }];
    for (const run of runs) {
      const input: Record<string, unknown> = {
        lookback: props.settings.lookback,
        asOf: ContextAttribute.scheduledTime,
        categories: props.settings.categories,
      };
      if (run.account) input.account = run.account;
      this.schedules.push(
        new Schedule(this, run.id, {
          description: `Daily Datadog usage and cost run${run.account ? ` for ${run.account}` : ''}`,
          schedule: ScheduleExpression.expression(
            props.settings.expression,
            TimeZone.of(props.settings.timezone),
          ),
          enabled: props.settings.enabled,
          target: new StepFunctionsStartExecution(props.stateMachine, {
            input: ScheduleTargetInput.fromObject(input),
            deadLetterQueue: this.deadLetterQueue,
            role: this.role,
            maxEventAge: Duration.hours(6),
            retryAttempts: 5,
          }),
        }),
      );
    }
  }
}
