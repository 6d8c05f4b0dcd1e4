import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ExecutionNotRedrivable,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { executionName, runBackfill } from '../../ops/backfill.ts';
import { stackAnswer } from '../support/stack-answer.ts';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Pipeline';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:Pipeline:backfill-x';
const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
// The mocks replace send() on the clients' prototypes, in this worker: later files share it.
afterAll(() => {
  for (const mock of [sfn, cfn, s3]) mock.restore();
});

function deps() {
  const lines: string[] = [];
  const sleeps: number[] = [];
  return {
    lines,
    sleeps,
    deps: {
      sfn: new SFNClient({ region: 'eu-west-1' }),
      cfn: new CloudFormationClient({ region: 'eu-west-1' }),
      region: 'eu-west-1',
      out: (l: string) => lines.push(l),
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
      now: () => new Date('2026-11-26T05:00:00Z'),
    },
  };
}

describe('Function: runBackfill (npm run backfill)', () => {
  beforeEach(() => {
    sfn.reset();
    cfn.reset();
    s3.reset();
    cfn
      .on(DescribeStacksCommand, { StackName: 'DatadogUsageLake' })
      .resolves(stackAnswer({ StateMachineArn: SM }));
  });

  it('starts the deployed state machine with the flags as input and a deterministic name', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
    const { deps: d, lines } = deps();

    // Act
    const code = await runBackfill(
      ['--start', '2025-09', '--end', '2026-11', '--categories', 'hourly_usage,historical_cost', '--no-wait'],
      d,
    );

    // Assess
    expect(code).toBe(0);
    const call = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    const input = { categories: ['hourly_usage', 'historical_cost'], start: '2025-09', end: '2026-11' };
    expect(JSON.parse(call?.input ?? '{}')).toEqual(input);
    expect(call?.stateMachineArn).toBe(SM);
    expect(call?.name).toBe(executionName(input));
    expect(call?.name).toMatch(/^backfill-[0-9a-f]{24}$/);
    expect(lines.join('\n')).toContain(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXEC}`,
    );
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('names the same input the same way whatever the order of its fields, and another input differently', () => {
    expect(executionName({ start: '2025-09', categories: 'all' })).toBe(
      executionName({ categories: 'all', start: '2025-09' }),
    );
    expect(executionName({ start: '2025-09', categories: 'all' })).not.toBe(
      executionName({ start: '2025-10', categories: 'all' }),
    );
  });

  it('follows the execution with map-run progress until it ends, then prints the output', async () => {
    // Prepare
    const output = {
      execution_status: 'S_OK',
      s3_url: 's3://b/datadog/',
      output: { totals: { records: 42 } },
    };
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'RUNNING',
        startDate: new Date('2026-11-26T04:59:00Z'),
      })
      .resolvesOnce({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'RUNNING',
        startDate: new Date('2026-11-26T04:59:00Z'),
      })
      .resolves({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'SUCCEEDED',
        startDate: new Date('2026-11-26T04:59:00Z'),
        output: JSON.stringify(output),
      });
    sfn
      .on(ListMapRunsCommand)
      .resolvesOnce({ mapRuns: [] })
      .resolves({
        mapRuns: [
          { executionArn: EXEC, mapRunArn: 'arn:maprun', stateMachineArn: SM, startDate: new Date() },
        ],
      });
    sfn.on(DescribeMapRunCommand).resolves({
      itemCounts: {
        total: 690,
        succeeded: 300,
        failed: 2,
        running: 40,
        pending: 348,
        aborted: 0,
        timedOut: 0,
        resultsWritten: 0,
      },
    } as never);
    const { deps: d, lines, sleeps } = deps();

    // Act
    const code = await runBackfill(['--start', '2025-09', '--poll', '5'], d);

    // Assess
    expect(code).toBe(0);
    expect(lines).toContain('  planning, 60 s');
    expect(lines).toContain('  302/690 groups done (40 running, 2 failed), 60 s');
    expect(lines).toContain('Execution SUCCEEDED');
    expect(lines.join('\n')).toContain('"execution_status": "S_OK"');
    expect(sleeps).toEqual([5000, 5000]);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toEqual({
      categories: 'all',
      start: '2025-09',
    });
  });

  it('estimates the time left from the finished groups’ pages and the accounts’ rate limits', async () => {
    // Prepare: 4 groups, one done: 8 windows of 100 pages; Datadog allows 10 requests per 30 s
    cfn
      .on(DescribeStacksCommand, { StackName: 'DatadogUsageLake' })
      .resolves(stackAnswer({ StateMachineArn: SM, BucketName: 'lake', DataPrefix: 'dd' }));
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'RUNNING',
        startDate: new Date('2026-11-26T04:00:00Z'),
      })
      .resolves({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'SUCCEEDED',
        startDate: new Date(),
        output: '{"execution_status":"S_OK"}',
      });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ executionArn: EXEC, mapRunArn: 'arn:maprun', stateMachineArn: SM, startDate: new Date() }],
    });
    sfn.on(DescribeMapRunCommand).resolves({
      itemCounts: {
        total: 4,
        succeeded: 1,
        failed: 0,
        running: 3,
        pending: 0,
        aborted: 0,
        timedOut: 0,
        resultsWritten: 0,
      },
    } as never);
    const body = (value: unknown) =>
      ({ Body: { transformToString: async () => JSON.stringify(value) } }) as never;
    s3.on(ListObjectsV2Command, { Prefix: 'dd/_runs/run=backfill-x/groups/' }).resolves({
      Contents: [{ Key: 'dd/_runs/run=backfill-x/groups/main/hourly_usage/2026-09-01.json' }],
    });
    s3.on(ListObjectsV2Command, { Prefix: 'dd/_ratelimit/' }).resolves({
      Contents: [{ Key: 'dd/_ratelimit/main.json' }],
    });
    s3.on(GetObjectCommand, {
      Key: 'dd/_runs/run=backfill-x/groups/main/hourly_usage/2026-09-01.json',
    }).resolves(
      body({ results: Array.from({ length: 8 }, (_, index) => ({ index, status: 'done', pages: 100 })) }),
    );
    s3.on(GetObjectCommand, { Key: 'dd/_ratelimit/main.json' }).resolves(
      body({
        limits: { usage_metering: { limit: 10, periodMs: 30_000, resetAt: 0, used: 0 } },
        categories: {},
      }),
    );
    const { deps: d, lines } = deps();

    // Act
    const code = await runBackfill(['--start', '2025-09'], {
      ...d,
      s3: new S3Client({ region: 'eu-west-1' }),
    });

    // Assess: 24 windows of 100 pages left at 1 request every 3 s
    expect(code).toBe(0);
    expect(lines).toContain(
      '  1/4 groups done (3 running, 0 failed), 3600 s · 8/32 windows, 800 pages, about 2 h 00 min left (2400 more pages at the rate limit)',
    );
  });

  it('exits non-zero when the run ends E_FAIL or the execution fails', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC,
      stateMachineArn: SM,
      status: 'SUCCEEDED',
      startDate: new Date(),
      output: JSON.stringify({ execution_status: 'E_FAIL', s3_url: 's3://b/', output: {} }),
    });
    const { deps: d } = deps();

    // Act / Assess
    expect(await runBackfill(['--start', '2025-09'], d)).toBe(1);
  });

  it('reports an accidental second start, refused by Step Functions, with the existing execution', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const { deps: d, lines } = deps();

    // Act
    const code = await runBackfill(['--start', '2025-09'], d);

    // Assess
    expect(code).toBe(3);
    expect(lines.join('\n')).toMatch(
      /refused the start: an execution named backfill-[0-9a-f]{24} already ran/,
    );
    expect(lines.join('\n')).toContain('execution:Pipeline:backfill-');
  });

  it.each([
    [[], /start: a backfill needs --start/],
    [['--start', '2026-13'], /start: .*month 13/],
    [['--start', '2025-09', '--categories', 'nope'], /categories\[0\]/],
    [['--start', '2025-09', '--account', 'nobody'], /account: "nobody" is not a configured account/],
  ])('refuses %j before calling AWS', async (argv, message) => {
    // Prepare
    const { deps: d, lines } = deps();

    // Act
    const code = await runBackfill(argv, d);

    // Assess
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(message);
    expect(sfn.calls()).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('redrives a failed execution by ARN, then follows it until it ends', async () => {
    // Prepare
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'PENDING_REDRIVE',
        startDate: new Date(),
      })
      .resolves({
        executionArn: EXEC,
        stateMachineArn: SM,
        status: 'SUCCEEDED',
        startDate: new Date(),
        output: JSON.stringify({ execution_status: 'S_OK', s3_url: 's3://b/', output: {} }),
      });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    const { deps: d, lines } = deps();

    // Act
    const code = await runBackfill(['--redrive', EXEC, '--poll', '1'], d);

    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(RedriveExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: EXEC },
    ]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
    expect(lines[0]).toMatch(new RegExp(`^Redriving ${EXEC}\n  https://eu-west-1.console.aws.amazon.com/`));
    expect(lines).toContain('Execution SUCCEEDED');
  });

  it('redrives by execution name in the stack’s state machine, without waiting when told so', async () => {
    // Prepare
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
    const { deps: d } = deps();

    // Act
    const code = await runBackfill(['--redrive', 'backfill-x', '--no-wait'], d);

    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)[0]?.args[0].input.executionArn).toBe(EXEC);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('explains why an execution that cannot be redriven (one that succeeded with E_FAIL) is refused', async () => {
    // Prepare
    sfn
      .on(RedriveExecutionCommand)
      .rejects(new ExecutionNotRedrivable({ message: 'Execution is SUCCEEDED', $metadata: {} }));
    const { deps: d, lines } = deps();

    // Act
    const code = await runBackfill(['--redrive', EXEC], d);

    // Assess
    expect(code).toBe(3);
    expect(lines.join('\n')).toMatch(/cannot redrive .*Execution is SUCCEEDED/);
    expect(lines.join('\n')).toMatch(/A run that ended E_FAIL succeeded: start a backfill/);
  });
});

describe('Module: ops/backfill.ts', () => {
  it('leaves the EC2 metadata service on, so an instance role (EC2, CodeBuild) provides credentials', () => {
    // Act: import the CLI module in a fresh process whose environment does not disable IMDS
    const root = path.resolve(import.meta.dirname, '..', '..');
    const env = { ...process.env };
    delete env.AWS_EC2_METADATA_DISABLED;
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "await import('./ops/backfill.ts'); process.stdout.write(String(process.env.AWS_EC2_METADATA_DISABLED))",
      ],
      { cwd: root, env },
    ).toString();

    // Assess
    expect(out).toBe('undefined');
  });
});
