/**
 * `npm run doctor -- --deployed`: the deployed stack, read through its outputs and resources:
 * the state machine exists, the schedules are enabled, the last scheduled run's status, age and
 * failed windows, and the schedules' dead-letter queue.
 */
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  paginateListStackResources,
} from '@aws-sdk/client-cloudformation';
import { GetScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import type { ScheduleSettings } from '../../infra/config.ts';
import { RunInputSchema } from '../../lambdas/core/run-input.ts';
import type { RunOutput } from '../../lambdas/core/summarize.ts';
import { addMonths, startOfMonth } from '../../lambdas/core/windows.ts';
import { consoleLink } from '../backfill.ts';
import { type Check, fail, pass } from './report.ts';

export interface DeployedDeps {
  cfn: CloudFormationClient;
  sfn: Pick<SFNClient, 'send'>;
  scheduler: Pick<SchedulerClient, 'send'>;
  sqs: Pick<SQSClient, 'send'>;
  region: string;
  now: Date;
}

/** The stack outputs the doctor reads (see infra/datadog-usage-stack.ts). */
export interface StackOutputs {
  stateMachineArn?: string;
  bucketName?: string;
  dataPrefix?: string;
  deadLetterQueueUrl?: string;
}

const SUBJECT = 'stack';
/** Executions looked at to find the last scheduled one. */
export const EXECUTIONS_SCANNED = 20;
/** A scheduled run may start this late after its interval before it counts as missing. */
const GRACE_MS = 2 * 3_600_000;
const FAILURES_SHOWN = 3;

function errorText(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

/** `3 h`, `2 days`: how long ago, roughly. */
export function age(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours < 1) return `${Math.max(0, Math.round(ms / 60_000))} min`;
  if (hours < 48) return `${Math.round(hours)} h`;
  return `${Math.round(hours / 24)} days`;
}

/** The longest gap between two runs of a schedule expression, when it is simple enough to tell. */
export function scheduleInterval(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const unit = rate[2]?.startsWith('minute')
      ? 60_000
      : rate[2]?.startsWith('hour')
        ? 3_600_000
        : 86_400_000;
    return Number(rate[1]) * unit;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)$/.exec(expression);
  if (cron) {
    const [, , , dayOfMonth, month, dayOfWeek] = cron;
    const every = (f: string | undefined) => f === '*' || f === '?';
    // Every day of every month: at least daily.
    if (every(dayOfMonth) && every(month) && every(dayOfWeek)) return 86_400_000;
  }
  return undefined;
}

/** DescribeStacks: the stack exists, is usable, and its outputs. */
export async function readStack(
  stack: string,
  deps: Pick<DeployedDeps, 'cfn' | 'region'>,
): Promise<{ check: Check; outputs: StackOutputs | undefined }> {
  const detail = `${stack} in ${deps.region}`;
  try {
    const found = (await deps.cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0];
    if (!found)
      throw Object.assign(new Error(`Stack with id ${stack} does not exist`), { name: 'ValidationError' });
    const value = (key: string) => found.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    const outputs: StackOutputs = {
      stateMachineArn: value('StateMachineArn'),
      bucketName: value('BucketName'),
      dataPrefix: value('DataPrefix'),
      deadLetterQueueUrl: value('DeadLetterQueueUrl'),
    };
    const status = found.StackStatus ?? 'UNKNOWN';
    if (/FAILED$|^ROLLBACK_COMPLETE$|^DELETE_/.test(status)) {
      return {
        check: fail(
          SUBJECT,
          'stack',
          detail,
          `the stack is ${status}`,
          'read its events in the CloudFormation console, fix the cause, then npx cdk deploy',
        ),
        outputs,
      };
    }
    return { check: pass(SUBJECT, 'stack', `${detail}: ${status}`), outputs };
  } catch (error) {
    const message = (error as Error).message ?? '';
    if (/does not exist/.test(message)) {
      return {
        check: fail(
          SUBJECT,
          'stack',
          detail,
          'no such stack',
          'deploy it (npx cdk deploy), or pass --stack NAME and set AWS_REGION to where it is',
        ),
        outputs: undefined,
      };
    }
    return {
      check: fail(
        SUBJECT,
        'stack',
        detail,
        `DescribeStacks failed: ${errorText(error)}`,
        'set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION; they need cloudformation:DescribeStacks',
      ),
      outputs: undefined,
    };
  }
}

export async function checkStateMachine(
  arn: string | undefined,
  deps: Pick<DeployedDeps, 'sfn'>,
): Promise<Check> {
  if (!arn) {
    return fail(
      SUBJECT,
      'state_machine',
      'state machine',
      'the stack has no StateMachineArn output',
      'deploy this version of the stack: npx cdk deploy',
    );
  }
  try {
    const sm = await deps.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    if (sm.status && sm.status !== 'ACTIVE') {
      return fail(
        SUBJECT,
        'state_machine',
        `state machine ${sm.name}`,
        `it is ${sm.status}`,
        'npx cdk deploy',
      );
    }
    return pass(
      SUBJECT,
      'state_machine',
      `state machine ${sm.name ?? arn} exists (${sm.status ?? 'ACTIVE'})`,
    );
  } catch (error) {
    return fail(
      SUBJECT,
      'state_machine',
      'state machine',
      `DescribeStateMachine ${arn} failed: ${errorText(error)}`,
      (error as Error).name === 'StateMachineDoesNotExist'
        ? 'deploy the stack again: npx cdk deploy'
        : 'your credentials need states:DescribeStateMachine',
    );
  }
}

/** The stack's EventBridge Scheduler schedules (their physical ids are their names). */
async function scheduleNames(stack: string, deps: Pick<DeployedDeps, 'cfn'>): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListStackResources({ client: deps.cfn }, { StackName: stack })) {
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.ResourceType === 'AWS::Scheduler::Schedule' && r.PhysicalResourceId)
        names.push(r.PhysicalResourceId);
    }
  }
  return names;
}

/** Each schedule is enabled (or disabled because cdk.json says so); returns their expressions. */
export async function checkSchedules(
  stack: string,
  settings: ScheduleSettings,
  deps: Pick<DeployedDeps, 'cfn' | 'scheduler'>,
): Promise<{ checks: Check[]; expressions: string[] }> {
  let names: string[];
  try {
    names = await scheduleNames(stack, deps);
  } catch (error) {
    return {
      checks: [
        fail(
          SUBJECT,
          'schedules',
          'schedules',
          `ListStackResources failed: ${errorText(error)}`,
          'your credentials need cloudformation:ListStackResources',
        ),
      ],
      expressions: [],
    };
  }
  if (names.length === 0) {
    return {
      checks: [
        fail(
          SUBJECT,
          'schedules',
          'schedules',
          'the stack has no schedule',
          'deploy this version of the stack: npx cdk deploy',
        ),
      ],
      expressions: [],
    };
  }
  const checks: Check[] = [];
  const expressions: string[] = [];
  for (const name of names) {
    try {
      const s = await deps.scheduler.send(new GetScheduleCommand({ Name: name }));
      const when = `${s.ScheduleExpression ?? '?'}${s.ScheduleExpressionTimezone ? ` ${s.ScheduleExpressionTimezone}` : ''}`;
      if (s.State === 'ENABLED') {
        if (s.ScheduleExpression) expressions.push(s.ScheduleExpression);
        checks.push(pass(SUBJECT, `schedule/${name}`, `schedule ${name}: enabled, ${when}`));
      } else if (!settings.enabled) {
        checks.push(
          pass(
            SUBJECT,
            `schedule/${name}`,
            `schedule ${name}: disabled, as cdk.json sets it (schedule.enabled: false): no scheduled runs`,
          ),
        );
      } else {
        checks.push(
          fail(
            SUBJECT,
            `schedule/${name}`,
            `schedule ${name}`,
            `${s.State ?? 'not enabled'} while cdk.json enables it (schedule.enabled: true): no scheduled runs`,
            'npx cdk deploy restores it, or enable it in the EventBridge Scheduler console',
          ),
        );
      }
    } catch (error) {
      checks.push(
        fail(
          SUBJECT,
          `schedule/${name}`,
          `schedule ${name}`,
          `GetSchedule failed: ${errorText(error)}`,
          (error as Error).name === 'ResourceNotFoundException'
            ? 'deploy the stack again: npx cdk deploy'
            : 'your credentials need scheduler:GetSchedule',
        ),
      );
    }
  }
  return { checks, expressions };
}

/** Scheduled runs carry the schedule's relative input, `{lookback, asOf}` (read as the Plan reads it). */
function isScheduled(input: string | undefined): { asOf: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input ?? '');
  } catch {
    return undefined;
  }
  const read = z.safeParse(RunInputSchema, parsed);
  return read.success && typeof read.data.lookback === 'string' && read.data.asOf !== undefined
    ? { asOf: read.data.asOf }
    : undefined;
}

/** The newest execution among the last {@link EXECUTIONS_SCANNED} that a schedule started. */
async function lastScheduled(
  arn: string,
  deps: Pick<DeployedDeps, 'sfn'>,
): Promise<{ execution: DescribeExecutionCommandOutput; asOf: string } | undefined> {
  const list = await deps.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: arn, maxResults: EXECUTIONS_SCANNED }),
  );
  const newestFirst = [...(list.executions ?? [])].sort(
    (a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0),
  );
  for (const item of newestFirst) {
    if (!item.executionArn) continue;
    const execution = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
    const scheduled = isScheduled(execution.input);
    if (scheduled) return { execution, asOf: scheduled.asOf };
  }
  return undefined;
}

/** How the backfill of a scheduled run's range reads: a scheduled run covers this month and the last. */
function backfillCommand(asOf: string): string {
  const at = new Date(asOf);
  const start = Number.isNaN(at.getTime())
    ? 'YYYY-MM'
    : addMonths(startOfMonth(at), -1).toISOString().slice(0, 7);
  return `npm run backfill -- --start ${start}`;
}

const FIX_BY_ERROR: Record<string, string> = {
  DatadogAuthError: "the keys or their permissions: see the account's checks above",
  DatadogRequestError:
    "Datadog refused the request: see the account's organization and availability checks above",
  DatadogUnavailableError: 'Datadog was unavailable: re-run those windows',
  RateLimitedError:
    'rate-limited: lower mapConcurrency/windowConcurrency in cdk.json, then re-run those windows',
  StorageError: "S3 refused a write: see the bucket's checks above",
};

/** The last scheduled run: its status and age, and the windows it failed. */
export async function checkLastRun(
  arn: string | undefined,
  expressions: readonly string[],
  deps: Pick<DeployedDeps, 'sfn' | 'region' | 'now'>,
): Promise<Check[]> {
  if (!arn) return [];
  let last: Awaited<ReturnType<typeof lastScheduled>>;
  try {
    last = await lastScheduled(arn, deps);
  } catch (error) {
    return [
      fail(
        SUBJECT,
        'last_run',
        'last scheduled run',
        `ListExecutions/DescribeExecution failed: ${errorText(error)}`,
        'your credentials need states:ListExecutions and states:DescribeExecution',
      ),
    ];
  }
  if (!last) {
    return [
      pass(
        SUBJECT,
        'last_run',
        `last scheduled run: none among the last ${EXECUTIONS_SCANNED} executions (the schedules start the first at their next time)`,
      ),
    ];
  }
  const { execution, asOf } = last;
  const started = execution.startDate ?? new Date(asOf);
  const ago = deps.now.getTime() - started.getTime();
  const link = execution.executionArn ? consoleLink(deps.region, execution.executionArn) : '';
  const what = `last scheduled run ${execution.name ?? ''}`.trim();
  const status = execution.status ?? 'UNKNOWN';
  const checks: Check[] = [];
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') {
    checks.push(pass(SUBJECT, 'last_run', `${what}: ${status}, started ${age(ago)} ago`));
  } else if (status !== 'SUCCEEDED') {
    checks.push(
      fail(
        SUBJECT,
        'last_run',
        what,
        `${status} ${age(ago)} ago${execution.error ? `: ${execution.error}${execution.cause ? ` (${execution.cause.slice(0, 200)})` : ''}` : ''}`,
        `see why: ${link}; then re-run its range: ${backfillCommand(asOf)}`,
      ),
    );
  } else {
    const intervals = expressions.map(scheduleInterval).filter((i): i is number => i !== undefined);
    const interval = intervals.length > 0 ? Math.max(...intervals) : undefined;
    if (interval !== undefined && ago > interval + GRACE_MS) {
      checks.push(
        fail(
          SUBJECT,
          'last_run',
          what,
          `it started ${age(ago)} ago, but the schedules (${expressions.join(', ')}) run at least every ${age(interval)}: later starts failed or never happened`,
          `check the dead-letter queue (below) and that the schedules' role may start the state machine; then ${backfillCommand(asOf)}`,
        ),
      );
    } else {
      checks.push(pass(SUBJECT, 'last_run', `${what}: SUCCEEDED, started ${age(ago)} ago`));
    }
  }
  if (status === 'SUCCEEDED' && execution.output) {
    checks.push(failedWindows(execution.output, asOf, link));
  }
  return checks;
}

/** The run output's totals and failures (summarizeRun): every window fetched, or which failed and why. */
export function failedWindows(rawOutput: string, asOf: string, link: string): Check {
  let output: RunOutput;
  try {
    output = JSON.parse(rawOutput) as RunOutput;
  } catch {
    return fail(
      SUBJECT,
      'failed_windows',
      'failed windows in the last scheduled run',
      'its output is not JSON',
      `see it: ${link}`,
    );
  }
  const totals = output.output?.totals;
  if (!totals) {
    return fail(
      SUBJECT,
      'failed_windows',
      'failed windows in the last scheduled run',
      'its output has no totals',
      `see it: ${link}`,
    );
  }
  if (totals.failed === 0) {
    return pass(
      SUBJECT,
      'failed_windows',
      `last scheduled run: no failed windows (${totals.windows} windows, ${totals.records} records, ${totals.skipped} skipped)`,
    );
  }
  const failures = Object.entries(output.output.categories ?? {}).flatMap(([category, c]) =>
    (c?.failures ?? []).map((f) => ({ category, ...f })),
  );
  const shown = failures
    .slice(0, FAILURES_SHOWN)
    .map((f) => `${f.category} ${f.account} ${f.window}: ${f.error}`)
    .join('; ');
  const more = totals.failed > FAILURES_SHOWN ? `; and ${totals.failed - FAILURES_SHOWN} more` : '';
  const fixes = [...new Set(failures.map((f) => FIX_BY_ERROR[f.error] ?? `${f.error}: see the run`))];
  return fail(
    SUBJECT,
    'failed_windows',
    'last scheduled run',
    `${totals.failed} failed window${totals.failed === 1 ? '' : 's'}: ${shown}${more}`,
    `${fixes.join('; ')}; details: ${link}; re-run them: ${backfillCommand(asOf)}`,
  );
}

/** Schedule starts that failed after their retries wait in the schedules' dead-letter queue. */
export async function checkDeadLetterQueue(
  url: string | undefined,
  deps: Pick<DeployedDeps, 'sqs'>,
): Promise<Check> {
  if (!url) {
    return pass(
      SUBJECT,
      'dead_letter_queue',
      'dead-letter queue: not checked (the stack has no DeadLetterQueueUrl output; npx cdk deploy adds it)',
    );
  }
  let count: number;
  try {
    const res = await deps.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    count = Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
  } catch (error) {
    return pass(
      SUBJECT,
      'dead_letter_queue',
      `dead-letter queue: not checked (GetQueueAttributes failed: ${errorText(error)}; it needs sqs:GetQueueAttributes)`,
    );
  }
  if (count === 0) return pass(SUBJECT, 'dead_letter_queue', 'dead-letter queue: empty');
  return fail(
    SUBJECT,
    'dead_letter_queue',
    'dead-letter queue',
    `${count} schedule start${count === 1 ? '' : 's'} failed after retries and wait${count === 1 ? 's' : ''} there`,
    `read them: aws sqs receive-message --queue-url ${url} --max-number-of-messages 10 --message-attribute-names All (each names its error); fix it, re-run the missed days with npm run backfill, then aws sqs purge-queue --queue-url ${url}`,
  );
}

/** Every deployed check, given the stack's outputs (read by {@link readStack}). */
export async function checkDeployment(
  stack: string,
  outputs: StackOutputs,
  schedule: ScheduleSettings,
  deps: DeployedDeps,
): Promise<Check[]> {
  const sm = await checkStateMachine(outputs.stateMachineArn, deps);
  const schedules = await checkSchedules(stack, schedule, deps);
  const lastRun = sm.ok ? await checkLastRun(outputs.stateMachineArn, schedules.expressions, deps) : [];
  const dlq = await checkDeadLetterQueue(outputs.deadLetterQueueUrl, deps);
  return [sm, ...schedules.checks, ...lastRun, dlq];
}
