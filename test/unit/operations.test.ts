import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../infra/config.ts';
import { synthesizeStack } from '../../infra/definition.ts';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';
import { MAX_ACCOUNT_NAME_LENGTH, MAX_ACCOUNTS, MAX_PREFIX_LENGTH } from '../../lambdas/shared/config.ts';

const ACCOUNTS = [
  { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' },
  { name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' },
];

describe('Stack: daily schedules', () => {
  it('starts the state machine daily with the relative input, the scheduled time, retries and a DLQ', () => {
    // Act
    const { template } = synthesizeStack(
      parseSettings({ accounts: ACCOUNTS, schedule: { lookback: 'P4D' } }),
    );

    // Assess
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const [schedule] = Object.values(template.findResources('AWS::Scheduler::Schedule'));
    const props = schedule?.Properties;
    expect(props.ScheduleExpression).toBe('cron(30 6 * * ? *)');
    expect(props.ScheduleExpressionTimezone).toBe('UTC');
    expect(props.State).toBe('ENABLED');
    expect(JSON.parse(props.Target.Input)).toEqual({
      lookback: 'P4D',
      asOf: '<aws.scheduler.scheduled-time>',
      categories: [...CATEGORY_NAMES],
    });
    expect(props.Target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 5 });
    expect(JSON.stringify(props.Target.DeadLetterConfig)).toContain('DeadLetters');
    expect(JSON.stringify(props.Target.Arn)).toContain('PipelineStateMachine');
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('names the outputs npm run doctor -- --deployed reads, the dead-letter queue among them', () => {
    // Act
    const { template } = synthesizeStack(parseSettings({ accounts: ACCOUNTS }));

    // Assess
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const key of ['StateMachineArn', 'BucketName', 'DataPrefix', 'DeadLetterQueueUrl']) {
      expect(outputs[key], key).toBeDefined();
    }
    const [queueId] = Object.keys(template.findResources('AWS::SQS::Queue'));
    expect(outputs.DeadLetterQueueUrl?.Value).toEqual({ Ref: queueId });
  });

  it('creates one schedule per account when the settings say so', () => {
    // Act
    const { template } = synthesizeStack(
      parseSettings({ accounts: ACCOUNTS, schedule: { mode: 'per-account' } }),
    );

    // Assess
    const inputs = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((s) =>
      JSON.parse(s.Properties.Target.Input),
    );
    expect(inputs.map((i) => i.account).sort()).toEqual(['eu', 'main']);
  });
});

describe('Stack: alarms and dashboard', () => {
  const { template } = synthesizeStack(
    parseSettings({ accounts: ACCOUNTS, alarmEmail: 'finops@example.com' }),
  );

  it('alarms on failed and timed-out executions, failed windows, every function’s errors and dead letters, to SNS', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const names = alarms.map((a) => `${a.Namespace}/${a.MetricName}`);
    expect(names).toContain('AWS/States/ExecutionsFailed');
    expect(names).toContain('AWS/States/ExecutionsTimedOut');
    expect(names).toContain('DatadogUsageLake/FailedWindows');
    expect(names).toContain('AWS/SQS/ApproximateNumberOfMessagesVisible');
    expect(names.filter((n) => n === 'AWS/Lambda/Errors')).toHaveLength(CATEGORY_NAMES.length + 2);
    for (const a of alarms) expect(JSON.stringify(a.AlarmActions)).toContain('ObservabilityAlarms');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'finops@example.com',
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('has a dashboard with runs, records per category, throttles and duration', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of [
      'Runs',
      'Records per category',
      'Rate-limit throttles per category',
      'Run duration',
    ]) {
      expect(body).toContain(title);
    }
    for (const c of CATEGORY_NAMES) expect(body).toContain(c);
  });

  it('keeps every log group for a bounded time', () => {
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('Stack: an existing bucket', () => {
  it('writes to it by name and creates no data bucket', () => {
    // Act
    const { template } = synthesizeStack(parseSettings({ bucketName: 'my-existing-lake' }));

    // Assess
    const buckets = Object.keys(template.findResources('AWS::S3::Bucket'));
    expect(buckets.some((id) => id.startsWith('Data'))).toBe(false);
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('arn:');
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain(
      ':s3:::my-existing-lake/datadog/hourly_usage/*',
    );
  });
});

describe('Function: parseSettings (cdk.json context)', () => {
  it.each([
    [{ schedule: { lookback: 'P1D' } }, /schedule.lookback must be at least P3D/],
    [{ schedule: { expression: 'every day' } }, /schedule.expression must be an EventBridge Scheduler/],
    [{ schedule: { mode: 'each' } }, /schedule.mode must be "all" or "per-account"/],
    [
      { schedule: { categories: ['hourly_usage'] }, categories: ['historical_cost'] },
      /schedule.categories names "hourly_usage", which is not enabled/,
    ],
    [{ alarmEmail: 'not-an-email' }, /alarmEmail must be an e-mail address/],
    [{ bucketName: 'Bad_Bucket' }, /bucketName must be an S3 bucket name/],
    [{ logRetentionDays: 31 }, /logRetentionDays must be one of/],
    [{ mapConcurrency: 0 }, /mapConcurrency must be an integer from 1 to 1000/],
    [{ acounts: [] }, /acounts is not a setting/],
    [
      { schedule: { lookback: 'P3000000D' } },
      /schedule.lookback must be an ISO 8601 duration in days or hours such as P3D, at most P3660D/,
    ],
    [{ schedule: { lookback: 'P200000000D' } }, /schedule.lookback must be .* at most P3660D/],
    [
      { prefix: 'p'.repeat(300) },
      /prefix is 300 characters long; at most 128 \(keys add up to \d+ bytes after it, within S3's 1024-byte key limit\)/,
    ],
    [
      {
        accounts: Array.from({ length: 11 }, (_, i) => ({
          name: `account-${i}`,
          secretName: `dd/${i}`,
          site: 'datadoghq.com',
        })),
      },
      /accounts lists 11 accounts; at most 10/,
    ],
  ])('refuses %j with a message naming the setting', (raw, message) => {
    expect(() => parseSettings(raw)).toThrow(message);
  });

  it('accepts the largest settings the bounds allow, and they synthesize', () => {
    // Prepare: the most accounts, the longest names, the longest prefix (in segments)
    const prefix = Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(i === 0 ? 16 : 15, 'p')).join('/');
    const accounts = Array.from({ length: MAX_ACCOUNTS }, (_, i) => ({
      name: `${i}`.padEnd(MAX_ACCOUNT_NAME_LENGTH, 'a'),
      secretName: `datadog-usage-lake/${i}`,
      site: 'datadoghq.com',
    }));

    // Act
    const settings = parseSettings({ prefix, accounts });
    const { template } = synthesizeStack(settings);

    // Assess
    expect(prefix).toHaveLength(MAX_PREFIX_LENGTH);
    expect(() => parseSettings({ prefix: `${prefix}p` })).toThrow(/prefix is 129 characters long/);
    const descriptions = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (r) => (r as { Properties: { Description: string } }).Properties.Description,
    );
    expect(descriptions.some((d) => d.includes(prefix))).toBe(true);
    for (const d of descriptions) expect(d.length).toBeLessThanOrEqual(256);
  });
});
