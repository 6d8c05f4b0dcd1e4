import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LakeSettings, parseSettings } from '../../infra/config.ts';
import { appOrigin } from '../../lambdas/shared/sites.ts';
import { availabilityChecks } from '../../ops/doctor/account.ts';
import { age, scheduleInterval } from '../../ops/doctor/deployed.ts';
import { main } from '../../ops/doctor.ts';
import { RecordingAgent } from '../support/recording-agent.ts';
import { stackAnswer } from '../support/stack-answer.ts';

const REGION = 'eu-west-1';
const NOW = new Date('2026-11-20T12:00:00Z');
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Pipeline';
const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/DatadogUsageLake-DeadLetters';
const SCHEDULE = 'DatadogUsageLake-SchedulesDaily-1A2B3C';
const SCHEDULED = `${SM.replace(':stateMachine:', ':execution:')}:9f1c-scheduled`;
const MANUAL = `${SM.replace(':stateMachine:', ':execution:')}:backfill-abc`;
const SETTINGS: LakeSettings = parseSettings({
  prefix: 'dd',
  accounts: [{ name: 'main', secretName: 'dd/main', site: 'datadoghq.com' }],
  categories: ['hourly_usage', 'historical_cost'],
});

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const scheduler = mockClient(SchedulerClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
const s3 = mockClient(S3Client);
// The mocks replace send() on the clients' prototypes, in this worker: later files share it.
afterAll(() => {
  for (const mock of [cfn, sfn, scheduler, sqs, secrets, s3]) mock.restore();
});

/** Datadog at https://api.datadoghq.com only; every request's origin is recorded. */
function datadog(): RecordingAgent {
  const agent = new RecordingAgent();
  const api = agent.get('https://api.datadoghq.com');
  api.intercept({ path: '/api/v1/validate', method: 'GET' }).reply(200, { valid: true }).persist();
  api
    .intercept({ path: () => true, method: 'GET' })
    .reply(200, { data: [] }, { headers: { 'content-type': 'application/json' } })
    .persist();
  return agent;
}

function healthyAws(): void {
  cfn
    .on(DescribeStacksCommand, { StackName: 'DatadogUsageLake' })
    .resolves(
      stackAnswer(
        { StateMachineArn: SM, BucketName: 'lake-bucket', DataPrefix: 'dd', DeadLetterQueueUrl: DLQ },
        'UPDATE_COMPLETE',
        new Date('2026-09-01T00:00:00Z'),
      ),
    );
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      {
        LogicalResourceId: 'SchedulesDaily',
        PhysicalResourceId: SCHEDULE,
        ResourceType: 'AWS::Scheduler::Schedule',
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
      {
        LogicalResourceId: 'Data',
        PhysicalResourceId: 'lake-bucket',
        ResourceType: 'AWS::S3::Bucket',
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
    ],
  });
  sfn.on(DescribeStateMachineCommand).resolves({ name: 'Pipeline', status: 'ACTIVE' } as never);
  scheduler.on(GetScheduleCommand, { Name: SCHEDULE }).resolves({
    Name: SCHEDULE,
    State: 'ENABLED',
    ScheduleExpression: 'cron(30 6 * * ? *)',
    ScheduleExpressionTimezone: 'UTC',
  });
  // The newest execution is a manual backfill; the one before it is the scheduled run.
  sfn.on(ListExecutionsCommand).resolves({
    executions: [
      {
        executionArn: MANUAL,
        stateMachineArn: SM,
        name: 'backfill-abc',
        status: 'SUCCEEDED',
        startDate: new Date('2026-11-20T09:00:00Z'),
      },
      {
        executionArn: SCHEDULED,
        stateMachineArn: SM,
        name: '9f1c-scheduled',
        status: 'SUCCEEDED',
        startDate: new Date('2026-11-20T06:30:00Z'),
      },
    ],
  });
  sfn.on(DescribeExecutionCommand, { executionArn: MANUAL }).resolves({
    executionArn: MANUAL,
    stateMachineArn: SM,
    status: 'SUCCEEDED',
    startDate: new Date('2026-11-20T09:00:00Z'),
    input: JSON.stringify({ start: '2026-09', categories: 'all' }),
  });
  scheduledRun('SUCCEEDED', new Date('2026-11-20T06:30:00Z'), runOutput(0));
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
  secrets
    .on(GetSecretValueCommand, { SecretId: 'dd/main' })
    .resolves({ SecretString: JSON.stringify({ apiKey: 'k', appKey: 'a', site: 'datadoghq.com' }) });
  s3.on(HeadBucketCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(GetBucketEncryptionCommand).resolves({
    ServerSideEncryptionConfiguration: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    },
  });
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
}

function runOutput(failed: number) {
  const failures = Array.from({ length: failed }, (_, i) => ({
    account: 'main',
    window: `day=2026-11-1${i}`,
    error: 'DatadogAuthError',
    message: 'GET /api/v2/usage/hourly_usage answered 403 Forbidden: …',
  }));
  return {
    execution_status: failed ? 'E_FAIL' : 'S_OK',
    s3_url: 's3://lake-bucket/dd/',
    output: {
      totals: { windows: 6, pages: 6, records: 1200, bytes: 9000, superseded: 0, failed, skipped: 0 },
      categories: { hourly_usage: { failed, failures } },
    },
  };
}

function scheduledRun(
  status: 'SUCCEEDED' | 'FAILED',
  startDate: Date,
  output?: unknown,
  error?: string,
): void {
  sfn.on(DescribeExecutionCommand, { executionArn: SCHEDULED }).resolves({
    executionArn: SCHEDULED,
    stateMachineArn: SM,
    name: '9f1c-scheduled',
    status,
    startDate,
    input: JSON.stringify({ lookback: 'P3D', asOf: startDate.toISOString(), categories: ['hourly_usage'] }),
    ...(output ? { output: JSON.stringify(output) } : {}),
    ...(error ? { error, cause: 'Lambda.Unknown' } : {}),
  });
}

async function doctor(args: string[], agent = datadog()) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { AWS_REGION: REGION },
    now: () => NOW,
    settings: () => SETTINGS,
    dispatcher: agent,
    s3Client: () => new S3Client({ region: REGION }),
    aws: (region) => ({
      cfn: new CloudFormationClient({ region }),
      sfn: new SFNClient({ region }),
      scheduler: new SchedulerClient({ region }),
      sqs: new SQSClient({ region }),
      secrets: new SecretsManagerClient({ region }),
    }),
    probeId: () => 'probe-1',
  });
  await agent.close();
  return { code, out, err, text: out.join('\n'), origins: agent.seen.map((r) => r.origin) };
}

const failures = (out: string[]) => out.filter((l) => l.startsWith('  ✗ '));

beforeEach(() => {
  for (const m of [cfn, sfn, scheduler, sqs, secrets, s3]) m.reset();
});
afterEach(() => {
  for (const m of [cfn, sfn, scheduler, sqs, secrets, s3]) m.reset();
});

describe('Function: npm run doctor -- --deployed (mocked AWS clients)', () => {
  it('passes a healthy deployment: stack, state machine, schedule, last scheduled run, no failed windows, empty DLQ', async () => {
    // Prepare
    healthyAws();

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(0);
    expect(failures(r.out)).toEqual([]);
    expect(r.out).toContain('Stack DatadogUsageLake (eu-west-1)');
    expect(r.out).toContain('  ✓ stack: DatadogUsageLake in eu-west-1: UPDATE_COMPLETE');
    expect(r.out).toContain('  ✓ stack: state machine Pipeline exists (ACTIVE)');
    expect(r.out).toContain(`  ✓ stack: schedule ${SCHEDULE}: enabled, cron(30 6 * * ? *) UTC`);
    expect(r.out).toContain('  ✓ stack: last scheduled run 9f1c-scheduled: SUCCEEDED, started 6 h ago');
    expect(r.out).toContain(
      '  ✓ stack: last scheduled run: no failed windows (6 windows, 1200 records, 0 skipped)',
    );
    expect(r.out).toContain('  ✓ stack: dead-letter queue: empty');
    expect(r.out).toContain('  ✓ main: secret dd/main: both keys, site datadoghq.com');
    expect(r.out).toContain('  ✓ bucket: encryption: AES256 by default');
    expect(r.out).toContain('  ✓ bucket: versioning: enabled');
    expect(r.out).toContain(
      '  ✓ bucket: s3://lake-bucket/dd/ writable (wrote and deleted dd/_doctor/probe-probe-1.json)',
    );
    // The bucket and prefix came from the stack's outputs; the probe was written only if absent.
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'lake-bucket',
      Key: 'dd/_doctor/probe-probe-1.json',
      IfNoneMatch: '*',
    });
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.Key).toBe('dd/_doctor/probe-probe-1.json');
    // Keys from Secrets Manager went to https://api.datadoghq.com and nowhere else.
    expect(new Set(r.origins)).toEqual(new Set(['https://api.datadoghq.com']));
    expect(sqs.commandCalls(GetQueueAttributesCommand)[0]?.args[0].input).toEqual({
      QueueUrl: DLQ,
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
  });

  it('fails a disabled schedule, failed windows and dead letters, each with its fix, exit 1', async () => {
    // Prepare
    healthyAws();
    scheduler
      .on(GetScheduleCommand)
      .resolves({ Name: SCHEDULE, State: 'DISABLED', ScheduleExpression: 'cron(30 6 * * ? *)' });
    scheduledRun('SUCCEEDED', new Date('2026-11-20T06:30:00Z'), runOutput(4));
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(1);
    const link = `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${SCHEDULED}`;
    expect(failures(r.out)).toEqual([
      `  ✗ stack: schedule ${SCHEDULE}: DISABLED while cdk.json enables it (schedule.enabled: true): no scheduled runs → npx cdk deploy restores it, or enable it in the EventBridge Scheduler console`,
      `  ✗ stack: last scheduled run: 4 failed windows: hourly_usage main day=2026-11-10: DatadogAuthError; hourly_usage main day=2026-11-11: DatadogAuthError; hourly_usage main day=2026-11-12: DatadogAuthError; and 1 more → the keys or their permissions: see the account's checks above; details: ${link}; re-run them: npm run backfill -- --start 2026-10`,
      `  ✗ stack: dead-letter queue: 2 schedule starts failed after retries and wait there → read them: aws sqs receive-message --queue-url ${DLQ} --max-number-of-messages 10 --message-attribute-names All (each names its error); fix it, re-run the missed days with npm run backfill, then aws sqs purge-queue --queue-url ${DLQ}`,
    ]);
  });

  it('passes a schedule disabled on purpose in cdk.json', async () => {
    // Prepare
    healthyAws();
    scheduler.on(GetScheduleCommand).resolves({ Name: SCHEDULE, State: 'DISABLED' });
    const settings = parseSettings({ ...SETTINGS, schedule: { enabled: false } });

    const agent = datadog();

    // Act
    const out: string[] = [];
    const code = await main(['--deployed', '--json'], {
      out: (l) => out.push(l),
      err: () => {},
      env: { AWS_REGION: REGION },
      now: () => NOW,
      settings: () => settings,
      dispatcher: agent,
    });
    await agent.close();

    // Assess
    const report = JSON.parse(out.join('\n')) as {
      ok: boolean;
      checks: Array<{ name: string; ok: boolean; detail: string }>;
    };
    expect(report.checks.find((c) => c.name === `stack/schedule/${SCHEDULE}`)).toEqual(
      expect.objectContaining({
        ok: true,
        detail: `schedule ${SCHEDULE}: disabled, as cdk.json sets it (schedule.enabled: false): no scheduled runs`,
      }),
    );
    expect(code).toBe(report.ok ? 0 : 1);
  });

  it('fails a last scheduled run that failed, with its console link and the backfill that re-runs it', async () => {
    // Prepare
    healthyAws();
    scheduledRun('FAILED', new Date('2026-11-20T06:30:00Z'), undefined, 'States.Runtime');

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(1);
    expect(failures(r.out)).toEqual([
      `  ✗ stack: last scheduled run 9f1c-scheduled: FAILED 6 h ago: States.Runtime (Lambda.Unknown) → see why: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${SCHEDULED}; then re-run its range: npm run backfill -- --start 2026-10`,
    ]);
  });

  it('fails a last scheduled run older than the schedule allows', async () => {
    // Prepare
    healthyAws();
    scheduledRun('SUCCEEDED', new Date('2026-11-16T06:30:00Z'), runOutput(0));

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(1);
    expect(failures(r.out)).toEqual([
      expect.stringContaining(
        '  ✗ stack: last scheduled run 9f1c-scheduled: it started 4 days ago, but the schedules (cron(30 6 * * ? *)) run at least every 24 h: later starts failed or never happened → check the dead-letter queue',
      ),
    ]);
  });

  it('fails a stack that does not exist, and asks nothing else of it', async () => {
    // Prepare
    healthyAws();
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id DatadogUsageLake does not exist'), {
        name: 'ValidationError',
      }),
    );

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(1);
    expect(failures(r.out)).toEqual([
      '  ✗ stack: DatadogUsageLake in eu-west-1: no such stack → deploy it (npx cdk deploy), or pass --stack NAME and set AWS_REGION to where it is',
    ]);
    expect(sfn.calls()).toHaveLength(0);
    expect(scheduler.calls()).toHaveLength(0);
    // Without the stack there is no bucket to check either.
    expect(r.out).toContain('  ✓ bucket: not checked: the stack names no bucket (see the stack checks)');
  });

  it('reports the dead-letter queue as not checked on a stack deployed before its output existed', async () => {
    // Prepare
    healthyAws();
    cfn
      .on(DescribeStacksCommand)
      .resolves(stackAnswer({ StateMachineArn: SM, BucketName: 'lake-bucket', DataPrefix: 'dd' }));

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '  ✓ stack: dead-letter queue: not checked (the stack has no DeadLetterQueueUrl output; npx cdk deploy adds it)',
    );
    expect(sqs.calls()).toHaveLength(0);
  });

  it('fails an unversioned, unencrypted bucket with the commands that fix it', async () => {
    // Prepare
    healthyAws();
    s3.on(GetBucketVersioningCommand).resolves({});
    s3.on(GetBucketEncryptionCommand).rejects(
      Object.assign(new Error('not found'), { name: 'ServerSideEncryptionConfigurationNotFoundError' }),
    );

    // Act
    const r = await doctor(['--deployed']);

    // Assess
    expect(r.code).toBe(1);
    expect(failures(r.out)).toEqual([
      `  ✗ bucket: encryption: s3://lake-bucket has no default encryption (the stack's bucket uses SSE-S3) → aws s3api put-bucket-encryption --bucket lake-bucket --server-side-encryption-configuration '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'`,
      "  ✗ bucket: versioning: off on s3://lake-bucket: the fetches a run removes cannot be recovered (the stack's bucket keeps them 30 days as noncurrent versions) → aws s3api put-bucket-versioning --bucket lake-bucket --versioning-configuration Status=Enabled, with a lifecycle rule expiring noncurrent versions",
    ]);
  });
});

describe('Function: npm run doctor -- --secrets (mocked Secrets Manager)', () => {
  it('fails a missing secret with the command that creates it, and sends nothing to Datadog', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'ResourceNotFoundException' }));

    // Act
    const r = await doctor(['--secrets']);

    // Assess
    expect(r.code).toBe(1);
    expect(failures(r.out)).toEqual([
      `  ✗ main: secret dd/main: secret dd/main does not exist → create it: aws secretsmanager create-secret --name dd/main --secret-string '{"apiKey":"<DD_API_KEY>","appKey":"<DD_APP_KEY>","site":"datadoghq.com"}'`,
    ]);
    expect(r.origins).toEqual([]);
    expect(r.out).toContain(
      '  ✓ bucket: not checked: cdk deploy creates the bucket; once deployed, run npm run doctor -- --deployed',
    );
  });

  it.each([
    [
      { apiKey: 'k', appKey: 'a', site: 'datadoghq.eu' },
      /it names the site datadoghq.eu but cdk.json configures datadoghq.com for main/,
    ],
    [
      { apiKey: 'k', appKey: 'a', site: 'example.com' },
      /secret dd\/main names an unknown Datadog site → store/,
    ],
    [
      { apiKey: 'k' },
      /secret dd\/main has no appKey string → store both keys and a site .* aws secretsmanager put-secret-value --secret-id dd\/main/,
    ],
  ])('fails the secret %j, naming the problem', async (secret, line) => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });

    // Act
    const r = await doctor(['--secrets', '--categories', 'hourly_usage']);

    // Assess
    expect(r.code).toBe(1);
    expect(failures(r.out)[0]).toMatch(line);
  });
});

describe('Function: availabilityChecks (the planner’s rules, read back)', () => {
  it('states the retention and recent-month rules, and fails a category the site does not serve', () => {
    // Act
    const gov = availabilityChecks(
      'gov',
      { name: 'gov', secretName: 's', site: 'ddog-gov.com' },
      ['hourly_usage', 'projected_cost', 'estimated_cost', 'cost_attribution'],
      NOW,
      'cdk.json',
    );

    // Assess
    expect(gov.offered).toEqual(['hourly_usage', 'projected_cost', 'estimated_cost']);
    expect(gov.checks.map((c) => [c.ok, c.detail, c.cause, c.fix])).toEqual([
      [
        false,
        'cost_attribution',
        'cost_attribution is not available on the ddog-gov.com site: every window of it is skipped',
        'remove cost_attribution from the categories (cdk.json)',
      ],
      [
        true,
        "hourly_usage: windows before 2025-09 are skipped (older than Datadog's 15-month retention)",
        undefined,
        undefined,
      ],
      [true, 'projected_cost: current month only; earlier windows are skipped', undefined, undefined],
      [
        true,
        'estimated_cost: current and previous month only; earlier windows are skipped',
        undefined,
        undefined,
      ],
    ]);
  });
});

describe('Function: scheduleInterval and age', () => {
  it.each([
    ['cron(30 6 * * ? *)', 86_400_000],
    ['rate(6 hours)', 6 * 3_600_000],
    ['rate(1 day)', 86_400_000],
    ['cron(0 6 ? * MON *)', undefined],
    ['cron(0 6 1 * ? *)', undefined],
  ])('%s runs at least every %s ms', (expression, interval) => {
    expect(scheduleInterval(expression)).toBe(interval);
  });

  it('says how long ago in minutes, hours or days', () => {
    expect([age(5 * 60_000), age(6 * 3_600_000), age(4 * 86_400_000)]).toEqual(['5 min', '6 h', '4 days']);
  });
});

describe('Function: appOrigin', () => {
  it.each([
    ['datadoghq.com', 'https://app.datadoghq.com'],
    ['datadoghq.eu', 'https://app.datadoghq.eu'],
    ['ddog-gov.com', 'https://app.ddog-gov.com'],
    ['us3.datadoghq.com', 'https://us3.datadoghq.com'],
    ['us2.ddog-gov.com', 'https://us2.ddog-gov.com'],
  ] as const)('%s is managed at %s', (site, origin) => {
    expect(appOrigin(site)).toBe(origin);
  });
});
