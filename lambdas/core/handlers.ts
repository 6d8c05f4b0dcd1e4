import type { S3Client } from '@aws-sdk/client-s3';
import type { CategoryName } from '../categories.ts';
import type { AccountConfig } from '../shared/config.ts';
import { DatadogClient, type DatadogClientOptions } from '../shared/datadog-client.ts';
import { InputError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { type LakeMetrics, silentMetrics } from '../shared/metrics.ts';
import type { KeyLoader } from '../shared/secrets.ts';
import { type FetchEvent, type FetchLimits, fetchWindow } from './fetch-window.ts';
import { rateLedgerKey, runPrefix } from './layout.ts';
import { type Plan, planRun } from './plan.ts';
import { type RateLedger, S3RateLedger } from './rate-ledger.ts';
import { readGroupSummaries, writeGroup, writeGroupFailure, writeRunOutput } from './run-store.ts';
import {
  type GroupFailure,
  type GroupResults,
  type GroupSummary,
  type RunOutput,
  type RunSummaryInput,
  summarizeGroup,
  summarizeGroupFailure,
  summarizeRun,
} from './summarize.ts';
import { parseWorkItem, type WorkItem } from './work-item.ts';

/** What a handler needs from the outside world; the Lambda builds it from env, the local runner by hand. */
export interface Runtime {
  bucket: string;
  prefix: string;
  accounts: readonly AccountConfig[];
  enabledCategories: readonly CategoryName[];
  s3: S3Client;
  loadKeys: KeyLoader;
  /** Transport settings for the Datadog client (the local runner's base URL override lives here). */
  clientOptions?: Partial<Omit<DatadogClientOptions, 'site' | 'apiKey' | 'appKey'>>;
  limits: FetchLimits;
  log: Logger;
  /** Where the functions' metrics go; none (local runs, tests): nowhere. */
  metrics?: LakeMetrics;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
  /** Aborted when the invocation has timed out (the local runner; in Lambda the runtime ends it). */
  signal?: AbortSignal;
}

type RuntimeSource = Runtime | (() => Runtime);
const resolve = (r: RuntimeSource): Runtime => (typeof r === 'function' ? r() : r);

/** The plan Lambda's event: the execution input plus the execution's identity. */
export interface PlanEvent {
  input: unknown;
  executionId: string;
  executionName: string;
  /** `$$.Execution.StartTime`. */
  executionStart?: string;
}

export function createPlanHandler(source: RuntimeSource, defaultCategories?: readonly CategoryName[]) {
  return async (event: PlanEvent): Promise<Plan> => {
    const rt = resolve(source);
    const plan = planRun(event.input, {
      now: rt.now(),
      accounts: rt.accounts,
      enabledCategories: rt.enabledCategories,
      executionId: event.executionId,
      executionStart: event.executionStart,
      runId: event.executionName,
      bucket: rt.bucket,
      prefix: rt.prefix,
      defaultCategories,
    });
    rt.log.info('planned', {
      run_id: plan.runId,
      windows: plan.windows,
      groups: plan.groups.length,
      skipped: plan.skipped.length,
    });
    return plan;
  };
}

/** Most invocations one execution may be told it has for a window: far above any derived budget. */
const MAX_BUDGET = 10_000;

function parseExecution(raw: unknown): FetchEvent['execution'] {
  const e = raw as FetchEvent['execution'] | undefined;
  if (typeof e?.id !== 'string' || e.id === '' || e.id.length > 2_048) {
    throw new InputError('execution.id', 'expected the id of the execution looping over the window');
  }
  if (!Number.isInteger(e.budget) || e.budget < 1 || e.budget > MAX_BUDGET) {
    throw new InputError('execution.budget', `expected an invocation budget from 1 to ${MAX_BUDGET}`);
  }
  return { id: e.id, budget: e.budget };
}

/** One Lambda per category: fetch pages of one window while time allows. */
export function createFetchHandler(category: CategoryName, source: RuntimeSource) {
  return async (event: FetchEvent, context: LambdaContextLike): Promise<WorkItem> => {
    const rt = resolve(source);
    const execution = parseExecution(event?.execution);
    const item = parseWorkItem(event?.item, { category, accounts: rt.accounts, now: rt.now() });
    const started = Date.now();
    const ledgers = new Map<string, RateLedger>();
    const result = await fetchWindow(item, execution, {
      s3: rt.s3,
      bucket: rt.bucket,
      prefix: rt.prefix,
      now: rt.now,
      sleep: rt.sleep,
      log: rt.log,
      limits: rt.limits,
      remainingMs: () => context.getRemainingTimeInMillis(),
      signal: context.signal,
      ledgerFor: (account) => {
        const ledger =
          ledgers.get(account) ??
          new S3RateLedger(
            rt.s3,
            rt.bucket,
            rateLedgerKey(rt.prefix, account),
            rt.limits.headerSecondMs,
            (error) =>
              rt.log.warn('rate-limit ledger unavailable: pacing by this fetch’s own headers', {
                error: (error as Error).name,
              }),
          );
        ledgers.set(account, ledger);
        return ledger;
      },
      clientFor: async (name) => {
        const account = rt.accounts.find((a) => a.name === name) as AccountConfig;
        const keys = await rt.loadKeys(account.secretName, account.site);
        return new DatadogClient({ ...rt.clientOptions, ...keys, sleep: rt.sleep });
      },
    });
    // Per invocation, the deltas: CloudWatch sums them per category.
    (rt.metrics ?? silentMetrics).category(category, {
      Pages: result.pagesWritten - item.pagesWritten,
      Records: result.records - item.records,
      Bytes: result.bytes - item.bytes,
      Throttles: result.throttles - item.throttles,
      Retries: result.retries - item.retries,
      WindowsCompleted: result.status === 'done' ? 1 : 0,
      InvocationDuration: Date.now() - started,
    });
    return result;
  };
}

export type SummarizeEvent =
  | ({ mode: 'group' } & GroupResults)
  | ({ mode: 'group-failed' } & GroupFailure)
  | ({ mode: 'run' } & Omit<RunSummaryInput, 'groups' | 'detailsUrl'>);

/**
 * `group`: keeps a group's window results in S3 and returns its counts.
 * `run`: sums the groups up from S3 (so nothing grows in the state machine's payloads) into the output.
 */
export function createSummarizeHandler(source: RuntimeSource) {
  return async (event: SummarizeEvent): Promise<GroupSummary | RunOutput> => {
    const rt = resolve(source);
    const store = { s3: rt.s3, bucket: rt.bucket, prefix: rt.prefix };
    if (event.mode === 'group') {
      const summary = summarizeGroup(event);
      await writeGroup(store, event, summary);
      return summary;
    }
    if (event.mode === 'group-failed') {
      const summary = summarizeGroupFailure(event);
      await writeGroupFailure(store, event, summary);
      return summary;
    }
    const output = summarizeRun({
      ...event,
      detailsUrl: `s3://${rt.bucket}/${runPrefix(rt.prefix, event.runId)}`,
      groups: await readGroupSummaries(store, event.runId),
    });
    await writeRunOutput(store, event.runId, output);
    const totals = output.output.totals;
    (rt.metrics ?? silentMetrics).run({
      RunsCompleted: 1,
      RunsWithFailures: output.execution_status === 'S_OK' ? 0 : 1,
      FailedWindows: totals.failed,
      RunRecords: totals.records,
    });
    rt.log.info('run finished', {
      run_id: output.output.run_id,
      execution_status: output.execution_status,
      ...output.output.totals,
    });
    return output;
  };
}
