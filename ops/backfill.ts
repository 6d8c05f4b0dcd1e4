// No local/node20.ts here: it turns the EC2 metadata service off, which is where an EC2 or CodeBuild
// instance role's credentials come from.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DEFAULT_STACK_NAME, loadCdkJsonSettings } from '../infra/config.ts';
import { groupResultsPrefix, rateLedgersPrefix } from '../lambdas/core/layout.ts';
import { getJson } from '../lambdas/core/page-writer.ts';
import type { LedgerDoc } from '../lambdas/core/rate-ledger.ts';
import { parseRunInput } from '../lambdas/core/run-input.ts';
import { InputError } from '../lambdas/shared/errors.ts';
import { describeEstimate, EtaEstimator } from '../local/eta.ts';
import { INPUT_HELP, INPUT_OPTIONS, inputFromFlags } from '../local/flags.ts';

const HELP = `Usage: npm run backfill -- --start TIME [--end TIME] [flags]
       npm run backfill -- --redrive EXECUTION [--no-wait]

Starts an execution of the deployed state machine (found from the stack's outputs), prints its
console link, follows it until it ends and prints its output. Uses the AWS credentials and region
of your environment (AWS_PROFILE, AWS_REGION, ...).

Input (the same flags as npm start):
${INPUT_HELP}
  Defaults here: every configured account, --categories all.

Redrive:
  --redrive EXECUTION         redrive a failed, aborted or timed-out execution (its ARN, or its name
                              in this stack's state machine): Step Functions re-runs only what did
                              not succeed, in the distributed Map only the unsuccessful groups, then
                              follows it like a start. An execution that ended E_FAIL succeeded and
                              cannot be redriven: start a backfill of its failed windows instead.

Options:
  --stack NAME                the CloudFormation stack (default: stackName in cdk.json, else
                              DatadogUsageLake)
  --no-wait                   return once the execution has started
  --name NAME                 execution name (default: backfill-<hash of the input>, so the same
                              backfill started twice is refused by Step Functions)
  --poll SECONDS              how often to poll (default 10)
  --help`;

export interface BackfillDeps {
  sfn: Pick<SFNClient, 'send'>;
  cfn: Pick<CloudFormationClient, 'send'>;
  /** Reads the run's group results and the rate-limit ledgers for the time-left estimate (optional). */
  s3?: Pick<S3Client, 'send'>;
  region: string;
  out(line: string): void;
  sleep(ms: number): Promise<void>;
  now(): Date;
}

/** Same input, same name: a second start of the same backfill is refused by Step Functions. */
export function executionName(input: Record<string, unknown>): string {
  const canonical = JSON.stringify(input, Object.keys(input).sort());
  return `backfill-${createHash('sha256').update(canonical).digest('hex').slice(0, 24)}`;
}

export function consoleLink(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

export async function stateMachineArn(cfn: BackfillDeps['cfn'], stack: string): Promise<string> {
  const res = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  const arn = res.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'StateMachineArn')?.OutputValue;
  if (!arn) throw new Error(`stack ${stack} has no StateMachineArn output; is it deployed (npx cdk deploy)?`);
  return arn;
}

/** Group progress of the execution's distributed Map, when it has started. */
async function mapProgress(
  sfn: BackfillDeps['sfn'],
  executionArn: string,
): Promise<{ line: string; groups: number } | undefined> {
  const runs = await sfn.send(new ListMapRunsCommand({ executionArn }));
  const mapRunArn = runs.mapRuns?.[0]?.mapRunArn;
  if (!mapRunArn) return undefined;
  const c = (await sfn.send(new DescribeMapRunCommand({ mapRunArn }))).itemCounts;
  if (!c) return undefined;
  const done = (c.succeeded ?? 0) + (c.failed ?? 0) + (c.aborted ?? 0) + (c.timedOut ?? 0);
  return {
    line: `${done}/${c.total ?? '?'} groups done (${c.running ?? 0} running, ${c.failed ?? 0} failed)`,
    groups: c.total ?? 0,
  };
}

/** Where the deployed lake is, from the stack's outputs. */
async function lakeOf(
  cfn: BackfillDeps['cfn'],
  stack: string,
): Promise<{ bucket: string; prefix: string } | undefined> {
  const res = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  const value = (key: string) => res.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  const bucket = value('BucketName');
  return bucket ? { bucket, prefix: value('DataPrefix') ?? '' } : undefined;
}

/**
 * What the run's finished groups tell (pages per window) and what Datadog allows each account (the
 * rate-limit ledgers), into the estimator: the time left. Best effort: no S3 access, no estimate.
 */
async function estimateFromLake(
  s3: NonNullable<BackfillDeps['s3']>,
  lake: { bucket: string; prefix: string },
  runId: string,
  groups: number,
  eta: EtaEstimator,
  read: Map<string, Array<{ pages: number }>>,
): Promise<void> {
  const list = async (prefix: string) => {
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: s3 as S3Client },
      { Bucket: lake.bucket, Prefix: prefix },
    )) {
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    }
    return keys;
  };
  for (const key of await list(groupResultsPrefix(lake.prefix, runId))) {
    if (read.has(key)) continue;
    const body = (await getJson(s3, lake.bucket, key))?.value as
      | { results?: Array<{ pages?: number }> }
      | undefined;
    if (!body) continue;
    read.set(
      key,
      (body.results ?? []).map((r) => ({ pages: r.pages ?? 0 })),
    );
  }
  const windows = [...read.entries()].flatMap(([key, results]) =>
    results.map((r, i) => ({ key: `${key}#${i}`, ...r })),
  );
  const perGroup = read.size > 0 ? windows.length / read.size : 1;
  eta.planned(Math.round(groups * perGroup));
  for (const w of windows) eta.update({ account: '', key: w.key, pages: w.pages, done: true });
  for (const key of await list(rateLedgersPrefix(lake.prefix))) {
    const doc = (await getJson(s3, lake.bucket, key))?.value as Partial<LedgerDoc> | undefined;
    for (const l of Object.values(doc?.limits ?? {})) {
      if (l.periodMs > 0) eta.limit(key, { limit: l.limit, period: l.periodMs / 1000 });
    }
  }
}

export async function runBackfill(argv: string[], deps: BackfillDeps): Promise<number> {
  const { values: f } = parseArgs({
    args: argv,
    allowPositionals: false,
    allowNegative: true,
    options: {
      ...INPUT_OPTIONS,
      categories: { type: 'string', default: 'all' },
      stack: { type: 'string' },
      redrive: { type: 'string' },
      wait: { type: 'boolean', default: true },
      name: { type: 'string' },
      poll: { type: 'string', default: '10' },
      help: { type: 'boolean', default: false },
    },
  });
  if (f.help) {
    deps.out(HELP);
    return 0;
  }
  const stack = f.stack ?? stackFromCdkJson();
  const pollMs = Math.max(1, Number(f.poll) || 10) * 1000;
  if (f.redrive !== undefined) return redrive(deps, f.redrive, stack, f.wait ? pollMs : undefined);
  const input = inputFromFlags(f);
  try {
    if (f.start === undefined)
      throw new InputError('start', 'a backfill needs --start (YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh)');
    const settings = loadCdkJsonSettings();
    parseRunInput(input, {
      now: deps.now(),
      accounts: settings.accounts,
      enabledCategories: settings.categories,
    });
  } catch (error) {
    if (error instanceof InputError) {
      deps.out(`Invalid input: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const arn = await stateMachineArn(deps.cfn, stack);
  const name = f.name ?? executionName(input);
  let executionArn: string;
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }),
    );
    executionArn = started.executionArn as string;
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') {
      const existing = `${arn.replace(':stateMachine:', ':execution:')}:${name}`;
      deps.out(
        `Step Functions refused the start: an execution named ${name} already ran with this input.\n  ${consoleLink(deps.region, existing)}\nPass --name to start it again on purpose.`,
      );
      return 3;
    }
    throw error;
  }
  deps.out(`Started ${name}\n  ${consoleLink(deps.region, executionArn)}`);
  if (!f.wait) return 0;
  return follow(deps, executionArn, pollMs, stack);
}

function stackFromCdkJson(): string {
  try {
    return loadCdkJsonSettings().stackName;
  } catch {
    return DEFAULT_STACK_NAME;
  }
}

/**
 * RedriveExecution: the same execution (ARN, input, history) continues from what did not succeed; in
 * the distributed Map, only the child executions that failed, were aborted or never started run again.
 */
async function redrive(
  deps: BackfillDeps,
  execution: string,
  stack: string,
  pollMs: number | undefined,
): Promise<number> {
  const executionArn = execution.startsWith('arn:')
    ? execution
    : `${(await stateMachineArn(deps.cfn, stack)).replace(':stateMachine:', ':execution:')}:${execution}`;
  try {
    await deps.sfn.send(new RedriveExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === 'ExecutionNotRedrivable') {
      deps.out(
        `Step Functions cannot redrive ${executionArn}: ${(error as Error).message}\nOnly a failed, aborted or timed-out execution of the last 14 days can be redriven. A run that ended E_FAIL succeeded: start a backfill of the windows its output lists as failed.`,
      );
      return 3;
    }
    if ((error as Error).name === 'ExecutionDoesNotExist') {
      deps.out(`No execution ${executionArn}: pass its ARN, or its name in the stack ${stack}.`);
      return 2;
    }
    throw error;
  }
  deps.out(`Redriving ${executionArn}\n  ${consoleLink(deps.region, executionArn)}`);
  return pollMs === undefined ? 0 : follow(deps, executionArn, pollMs, stack);
}

/** Polls the execution until it ends, with the distributed Map's progress and the time left; 0 only for S_OK. */
async function follow(
  deps: BackfillDeps,
  executionArn: string,
  pollMs: number,
  stack: string,
): Promise<number> {
  let last = '';
  const eta = new EtaEstimator(() => deps.now().getTime());
  const read = new Map<string, Array<{ pages: number }>>();
  const lake = deps.s3 ? await lakeOf(deps.cfn, stack).catch(() => undefined) : undefined;
  const runId = executionArn.slice(executionArn.lastIndexOf(':') + 1);
  for (;;) {
    const d = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') {
      deps.out(`Execution ${d.status}`);
      if (d.output) deps.out(JSON.stringify(JSON.parse(d.output), null, 2));
      if (d.error) deps.out(`${d.error}: ${d.cause ?? ''}`);
      const ok = d.status === 'SUCCEEDED' && (!d.output || JSON.parse(d.output).execution_status === 'S_OK');
      return ok ? 0 : 1;
    }
    const progress = await mapProgress(deps.sfn, executionArn);
    const elapsed = Math.round(
      (deps.now().getTime() - (d.startDate?.getTime() ?? deps.now().getTime())) / 1000,
    );
    let estimate = '';
    if (progress && deps.s3 && lake) {
      const known = await estimateFromLake(deps.s3, lake, runId, progress.groups, eta, read).then(
        () => true,
        () => false,
      );
      if (known) estimate = ` · ${describeEstimate(eta.estimate())}`;
    }
    const line = `  ${progress?.line ?? 'planning'}, ${elapsed} s${estimate}`;
    if (line !== last) deps.out(line);
    last = line;
    await deps.sleep(pollMs);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  runBackfill(process.argv.slice(2), {
    sfn: new SFNClient({ region }),
    cfn: new CloudFormationClient({ region }),
    s3: new S3Client({ region }),
    region,
    out: (line) => console.log(line),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => new Date(),
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`Backfill failed: ${(error as Error).name}: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
