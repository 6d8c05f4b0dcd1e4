/**
 * Section 5 — AWS cost model. Counts come from local executions:
 * - runLocal (the deployed definition) gives state transitions and Task invocations for an empty run,
 *   a small sample backfill and one real daily run;
 * - the same fetch/plan/summarize handlers, driven window by window over the same plans, give each
 *   invocation's duration, the S3 requests and bytes (counted on the S3 client) and the log bytes.
 * The 15-month backfill is extrapolated: measured per-window figures of each category × that
 * category's windows in the real 15-month plan, plus per-group and per-run figures. The month of
 * daily runs is 30 × the measured daily run. Prices: bench/prices.ts only.
 */

import { parseSettings } from '../infra/config.ts';
import { synthesizeStack } from '../infra/definition.ts';
import { CATEGORIES, CATEGORY_NAMES, type CategoryName } from '../lambdas/categories.ts';
import {
  createFetchHandler,
  createPlanHandler,
  createSummarizeHandler,
  type Runtime,
} from '../lambdas/core/handlers.ts';
import { type Plan, planRun } from '../lambdas/core/plan.ts';
import { createLogger } from '../lambdas/shared/log.ts';
import { createMetrics, METRICS } from '../lambdas/shared/metrics.ts';
import type { Harness } from '../local/harness.ts';
import type { Progress } from '../local/runner.ts';
import {
  ACCOUNTS,
  benchRuntime,
  countS3,
  driveWindow,
  log,
  NO_LIMIT,
  NOW,
  PREFIX,
  round,
  type S3Counts,
  startBenchHarness,
  workItem,
} from './common.ts';
import { HOURS_PER_MONTH, LAMBDA_MEMORY_MB, LOG_ESTIMATES, PRICES, S3_TIER } from './prices.ts';

/**
 * Billed but invisible to the local interpreter, which runs the distributed Map inline: every child
 * execution the Map starts is one state transition (on top of the child's own transitions).
 */
export const TRANSITIONS_PER_CHILD_EXECUTION = 1;
/** Datadog requests in flight at once in the deployed settings (mapConcurrency × windowConcurrency). */
const DEPLOYED_CONCURRENT_FETCHES = 8;

export interface CostConfig {
  orgs: number[];
  /** The sample backfill: a few days of hourly usage and the months they touch (current one included). */
  sample: { start: string; end: string };
  /** The 15-month backfill of every category. */
  backfill: { start: string; end: string };
  dailyRunsPerMonth: number;
  /**
   * Run runLocal (transition counts) for the first org count only and apply the fitted transition model
   * to the others, with their own measured invocations (quick mode). Transitions do not depend on orgs
   * unless pages per invocation do.
   */
  localRunsForFirstOrgsOnly?: boolean;
}

/** Measured per window of one category (means over the sample's windows). */
export interface PerWindow {
  windows: number;
  invocations: number;
  waits: number;
  durationMs: number;
  /** Sum over invocations of each one's duration rounded up to the billed ms. */
  billedMs: number;
  requests: number;
  pages: number;
  records: number;
  putTier: number;
  getTier: number;
  putBytes: number;
  logBytes: number;
}

export interface Breakdown {
  transitions: number;
  /** Executions: the run and each group's child execution (each an X-Ray trace at most). */
  executions: number;
  /** Custom metrics (EMF) published, × the hours they receive data in. */
  metricHours: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  s3PutTier: number;
  s3GetTier: number;
  storedBytes: number;
  logBytes: number;
  cost: {
    stepFunctions: number;
    lambdaRequests: number;
    lambdaDuration: number;
    s3Requests: number;
    s3Storage: number;
    logs: number;
    /** X-Ray traces (every execution sampled: an upper bound) and custom metrics, prorated by the hour. */
    observability: number;
    total: number;
  };
}

/** What the deployment costs every month whatever it runs (not in the per-run figures). */
export interface FixedMonthly {
  alarms: number;
  dashboards: number;
  kmsKeys: number;
  secrets: number;
  cost: { alarms: number; dashboards: number; kmsKeys: number; secrets: number; total: number };
}

export interface OrgCost {
  orgs: number;
  perWindow: Partial<Record<CategoryName, PerWindow>>;
  /**
   * Fitted/measured transition model: run + groups × (group + child execution start) + Σ windows
   * (3 × invocations + waits + 1). The child execution start is billed in AWS but not seen locally.
   */
  transitions: {
    emptyRun: number;
    perGroup: number;
    perChildExecution: number;
    sampleMeasured: number;
    sampleModel: number;
    /** null when runLocal ran for the first org count only (quick mode). */
    dailyMeasured: number | null;
    dailyModel: number;
  };
  handlers: {
    planMs: number;
    summarizeGroupMs: number;
    summarizeRunMs: number;
    summarizeRunGroups: number;
  };
  backfill: {
    windows: Partial<Record<CategoryName, number>>;
    groups: number;
    requests: number;
    breakdown: Breakdown;
  };
  daily: {
    windows: Partial<Record<CategoryName, number>>;
    groups: number;
    measuredTransitions: number | null;
    measuredInvocations: Record<string, number> | null;
    perRun: Breakdown;
    perMonth: Breakdown;
  };
  /** Sensitivity: the backfill and the month of daily runs with a real API's latency on every request. */
  withLatency: { msPerDatadogRequest: number; backfill: number; dailyMonth: number };
}

export interface CostResult {
  config: CostConfig;
  prices: typeof PRICES;
  assumptions: string[];
  orgs: OrgCost[];
  fixedMonthly: FixedMonthly;
}

const LATENCY_MS_PER_REQUEST = 1_000;

function emptyPerWindow(): PerWindow {
  return {
    windows: 0,
    invocations: 0,
    waits: 0,
    durationMs: 0,
    billedMs: 0,
    requests: 0,
    pages: 0,
    records: 0,
    putTier: 0,
    getTier: 0,
    putBytes: 0,
    logBytes: 0,
  };
}

function tiers(ops: Record<string, number> | undefined): { put: number; get: number } {
  let put = 0;
  let get = 0;
  for (const [op, n] of Object.entries(ops ?? {})) {
    const tier = S3_TIER[op] ?? 'get';
    if (tier === 'put') put += n;
    else if (tier === 'get') get += n;
  }
  return { put, get };
}

function price(b: Omit<Breakdown, 'cost'>): Breakdown {
  const stepFunctions = b.transitions * PRICES.stepFunctionsPerTransition;
  const observability =
    b.executions * PRICES.xrayPerTrace + (b.metricHours * PRICES.customMetricPerMonth) / HOURS_PER_MONTH;
  const lambdaRequests = b.lambdaRequests * PRICES.lambdaPerRequest;
  const lambdaDuration = b.lambdaGbSeconds * PRICES.lambdaArmPerGbSecond;
  const s3Requests = b.s3PutTier * PRICES.s3PutTierPerRequest + b.s3GetTier * PRICES.s3GetTierPerRequest;
  const s3Storage = (b.storedBytes / 1024 ** 3) * PRICES.s3StoragePerGbMonth;
  const logs = (b.logBytes / 1024 ** 3) * PRICES.logsIngestionPerGb;
  const r = (n: number) => round(n, 6);
  return {
    ...b,
    transitions: Math.round(b.transitions),
    executions: Math.round(b.executions),
    metricHours: Math.round(b.metricHours),
    lambdaRequests: Math.round(b.lambdaRequests),
    lambdaGbSeconds: round(b.lambdaGbSeconds, 3),
    s3PutTier: Math.round(b.s3PutTier),
    s3GetTier: Math.round(b.s3GetTier),
    storedBytes: Math.round(b.storedBytes),
    logBytes: Math.round(b.logBytes),
    cost: {
      stepFunctions: r(stepFunctions),
      lambdaRequests: r(lambdaRequests),
      lambdaDuration: r(lambdaDuration),
      s3Requests: r(s3Requests),
      s3Storage: r(s3Storage),
      logs: r(logs),
      observability: r(observability),
      total: r(
        stepFunctions + lambdaRequests + lambdaDuration + s3Requests + s3Storage + logs + observability,
      ),
    },
  };
}

function scale(b: Breakdown, k: number): Breakdown {
  return price({
    transitions: b.transitions * k,
    executions: b.executions * k,
    metricHours: b.metricHours * k,
    lambdaRequests: b.lambdaRequests * k,
    lambdaGbSeconds: b.lambdaGbSeconds * k,
    s3PutTier: b.s3PutTier * k,
    s3GetTier: b.s3GetTier * k,
    storedBytes: b.storedBytes,
    logBytes: b.logBytes * k,
  });
}

const windowsOf = (plan: Plan): Partial<Record<CategoryName, number>> => {
  const out: Partial<Record<CategoryName, number>> = {};
  for (const g of plan.groups) out[g.category] = (out[g.category] ?? 0) + g.last + 1;
  return out;
};

interface DirectPass {
  perWindow: Partial<Record<CategoryName, PerWindow>>;
  groupMs: number[];
  runMs: number;
  planMs: number;
  runStore: { perGroup: S3Counts['ops']; run: S3Counts['ops']; logBytes: number };
}

/** Drives every window of `plan` through the real handlers, one at a time, timing and counting each. */
async function directPass(env: Harness, input: Record<string, unknown>, runId: string): Promise<DirectPass> {
  let logBytes = 0;
  const logger = createLogger({}, (line) => {
    logBytes += Buffer.byteLength(line) + 1;
  });
  const s3 = countS3(env.s3.client);
  const runtime: Runtime = benchRuntime({
    simUrl: env.sim.url,
    s3: env.s3.client,
    bucket: env.s3.bucket,
    log: logger,
  });
  // EMF lines are log lines too (CloudWatch Logs ingests them): count them with the rest.
  runtime.metrics = createMetrics({
    service: 'DatadogUsageLake',
    write: (line) => {
      logBytes += Buffer.byteLength(line) + 1;
    },
  });
  const executionId = `arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:${runId}`;

  let t = performance.now();
  const plan = await createPlanHandler(runtime)({ input, executionId, executionName: runId });
  const planMs = performance.now() - t;

  const perWindow: Partial<Record<CategoryName, PerWindow>> = {};
  const summarize = createSummarizeHandler(runtime);
  const groupMs: number[] = [];
  const groupOps: Record<string, number> = {};
  for (const g of plan.groups) {
    const handler = createFetchHandler(g.category, runtime);
    const pw = perWindow[g.category] ?? emptyPerWindow();
    perWindow[g.category] = pw;
    const results: unknown[] = [];
    for (let index = 0; index <= g.last; index++) {
      s3.reset();
      const logBefore = logBytes;
      const requestsBefore = env.sim.requests.length;
      const run = await driveWindow(handler, workItem(g.category, g.start, plan.options, runId, index));
      const { put, get } = tiers(s3.counts.ops);
      pw.windows++;
      pw.invocations += run.durations.length;
      pw.waits += run.item.waits;
      pw.durationMs += run.durations.reduce((a, b) => a + b, 0);
      pw.billedMs += run.durations.reduce((a, b) => a + Math.ceil(b), 0);
      pw.requests += env.sim.requests.length - requestsBefore;
      pw.pages += run.item.pagesWritten;
      pw.records += run.item.records;
      pw.putTier += put;
      pw.getTier += get;
      pw.putBytes += s3.counts.putBytes;
      pw.logBytes += logBytes - logBefore;
      results.push({
        index,
        status: 'done',
        pages: run.item.pagesWritten,
        records: run.item.records,
        bytes: run.item.bytes,
        final: run.item.final,
      });
    }
    s3.reset();
    t = performance.now();
    await summarize({
      mode: 'group',
      runId,
      account: g.account,
      category: g.category,
      start: g.start,
      results,
    } as never);
    groupMs.push(performance.now() - t);
    for (const [op, n] of Object.entries(s3.counts.ops)) groupOps[op] = (groupOps[op] ?? 0) + n;
  }
  s3.reset();
  const logBefore = logBytes;
  t = performance.now();
  await summarize({ ...plan, mode: 'run' } as never);
  const runMs = performance.now() - t;
  const runOps = { ...s3.counts.ops };
  const perGroup: Record<string, number> = {};
  for (const [op, n] of Object.entries(groupOps)) perGroup[op] = n / Math.max(1, plan.groups.length);
  for (const pw of Object.values(perWindow)) {
    for (const k of Object.keys(pw) as Array<keyof PerWindow>) if (k !== 'windows') pw[k] /= pw.windows;
  }
  return {
    perWindow,
    groupMs,
    runMs,
    planMs,
    runStore: { perGroup, run: runOps, logBytes: logBytes - logBefore },
  };
}

interface LocalCounts {
  transitions: number;
  invocations: Record<string, number>;
  /** Σ over windows of 3 × invocations + waits + 1 (Route/Fetch/Check per invocation, Wait, Done). */
  windowTransitions: number;
  groups: number;
}

async function localRun(env: Harness, input: Record<string, unknown>, name: string): Promise<LocalCounts> {
  const perWindow = new Map<string, { invocations: number; waits: number }>();
  const result = await env.run(input, {
    executionName: name,
    onProgress: (p: Progress) => {
      const key = `${p.category}|${p.windowStart}`;
      const w = perWindow.get(key) ?? { invocations: 0, waits: 0 };
      w.invocations++;
      if (p.status === 'wait') w.waits++;
      perWindow.set(key, w);
    },
  });
  if (result.output.execution_status !== 'S_OK')
    throw new Error(`cost model: ${name} ended ${result.output.execution_status}`);
  let windowTransitions = 0;
  for (const w of perWindow.values()) windowTransitions += 3 * w.invocations + w.waits + 1;
  const plan = planRun(input, {
    now: NOW,
    accounts: ACCOUNTS,
    enabledCategories: CATEGORY_NAMES,
    executionId: name,
    runId: name,
    bucket: env.s3.bucket,
    prefix: PREFIX,
  });
  return {
    transitions: result.stats.stateTransitions,
    invocations: result.stats.invocations,
    windowTransitions,
    groups: plan.groups.length,
  };
}

function assemble(
  windows: Partial<Record<CategoryName, number>>,
  groups: number,
  perWindow: Partial<Record<CategoryName, PerWindow>>,
  direct: DirectPass,
  runTransitions: number,
  perGroupTransitions: number,
  latencyMs: number,
  transitionsOverride?: number,
): Breakdown {
  let transitions = runTransitions + groups * perGroupTransitions;
  let fetchInvocations = 0;
  let gbSeconds = 0;
  let put = 0;
  let get = 0;
  let storedBytes = 0;
  let appLogBytes = 0;
  for (const [category, n] of Object.entries(windows) as Array<[CategoryName, number]>) {
    const pw = perWindow[category];
    if (!pw) throw new Error(`cost model: no measured window of ${category}`);
    transitions += n * (3 * pw.invocations + pw.waits + 1);
    fetchInvocations += n * pw.invocations;
    gbSeconds += (n * (pw.billedMs + pw.requests * latencyMs) * LAMBDA_MEMORY_MB.fetch) / 1024 / 1000;
    put += n * pw.putTier;
    get += n * pw.getTier;
    storedBytes += n * pw.putBytes;
    appLogBytes += n * pw.logBytes;
  }
  if (transitionsOverride !== undefined) transitions = transitionsOverride;
  transitions += groups * TRANSITIONS_PER_CHILD_EXECUTION;
  // Custom metrics: each category's per-invocation metrics and the run's, billed for each hour they get
  // data in; the run's hours at 1 s per Datadog request with the deployed concurrency, at least one.
  const requests = Object.entries(windows).reduce(
    (n, [c, w]) => n + (w ?? 0) * (perWindow[c as CategoryName]?.requests ?? 0),
    0,
  );
  const hours = Math.max(1, Math.ceil(requests / DEPLOYED_CONCURRENT_FETCHES / 3600));
  const published =
    Object.values(METRICS).filter((m) => m.per === 'category').length * Object.keys(windows).length;
  const metricHours = (published + Object.values(METRICS).filter((m) => m.per === 'run').length) * hours;
  const groupMs = direct.groupMs.reduce((a, b) => a + Math.ceil(b), 0) / Math.max(1, direct.groupMs.length);
  const sampleGroups = Math.max(1, direct.groupMs.length);
  // Summarize run reads every group's object: its time and GETs grow with the groups.
  const runMs = Math.ceil(direct.runMs) * Math.max(1, groups / sampleGroups);
  gbSeconds +=
    (Math.ceil(direct.planMs) * LAMBDA_MEMORY_MB.plan +
      (groups * groupMs + runMs) * LAMBDA_MEMORY_MB.summarize) /
    1024 /
    1000;
  const g = tiers(direct.runStore.perGroup);
  const r = tiers(direct.runStore.run);
  put += groups * g.put + r.put;
  get += groups * g.get + r.get * Math.max(1, groups / sampleGroups);
  const lambdaRequests = fetchInvocations + 1 + groups + 1;
  const tasks = lambdaRequests;
  const logBytes =
    appLogBytes +
    direct.runStore.logBytes +
    lambdaRequests * LOG_ESTIMATES.lambdaPlatformBytesPerInvocation +
    (transitions * LOG_ESTIMATES.stepFunctionsEventsPerTransition +
      tasks * LOG_ESTIMATES.stepFunctionsExtraEventsPerTask) *
      LOG_ESTIMATES.stepFunctionsBytesPerEvent;
  return price({
    transitions,
    executions: 1 + groups,
    metricHours,
    lambdaRequests,
    lambdaGbSeconds: gbSeconds,
    s3PutTier: put,
    s3GetTier: get,
    storedBytes,
    logBytes,
  });
}

export async function runCostModel(config: CostConfig): Promise<CostResult> {
  const out: OrgCost[] = [];
  const sampleInput = { categories: 'all', start: config.sample.start, end: config.sample.end };
  const backfillInput = { categories: 'all', start: config.backfill.start, end: config.backfill.end };
  const dailyInput = { categories: 'all', lookback: 'P3D', asOf: NOW.toISOString().slice(0, 13) };
  // Before Datadog's retention: every window is skipped, so the run is Plan → Map (no items) → Summarize.
  const emptyInput = { categories: ['hourly_usage'], start: '2024-01-01', end: '2024-01-02' };
  const planCtx = {
    now: NOW,
    accounts: ACCOUNTS,
    enabledCategories: CATEGORY_NAMES,
    executionId: 'plan',
    runId: 'plan',
    bucket: 'lake',
    prefix: PREFIX,
  };

  let first: { empty: LocalCounts; sample: LocalCounts; daily: LocalCounts } | undefined;
  for (const orgs of config.orgs) {
    const env = await startBenchHarness({ orgs, rateLimit: NO_LIMIT });
    try {
      const measured =
        first && config.localRunsForFirstOrgsOnly
          ? undefined
          : {
              empty: await localRun(env, emptyInput, `bench-cost-empty-${orgs}`),
              sample: await localRun(env, sampleInput, `bench-cost-sample-${orgs}`),
              daily: await localRun(env, dailyInput, `bench-cost-daily-${orgs}`),
            };
      first ??= measured;
      if (!first) throw new Error('cost model: no local run');
      const { empty, sample } = measured ?? first;
      const daily = measured?.daily;
      const perGroup =
        (sample.transitions - empty.transitions - sample.windowTransitions) / Math.max(1, sample.groups);
      log(
        `  cost: ${orgs} org(s): transitions empty ${empty.transitions}, sample ${sample.transitions}, daily ${daily?.transitions ?? 'modelled'}`,
      );

      const sampleDirect = await directPass(env, sampleInput, `bench-cost-sample-direct-${orgs}`);
      const dailyDirect = await directPass(env, dailyInput, `bench-cost-daily-direct-${orgs}`);
      // The backfill's per-window figures come from the sample (full days, closed and open months).
      const perWindow: Partial<Record<CategoryName, PerWindow>> = { ...sampleDirect.perWindow };

      const backfillPlan = planRun(backfillInput, planCtx);
      const dailyPlan = planRun(dailyInput, planCtx);
      const backfillWindows = windowsOf(backfillPlan);
      const dailyWindows = windowsOf(dailyPlan);

      // The Plan Lambda of the backfill plans 15 months: time that plan (planRun is the handler's work).
      const t0 = performance.now();
      planRun(backfillInput, planCtx);
      const backfillDirect = {
        ...sampleDirect,
        planMs: Math.max(sampleDirect.planMs, performance.now() - t0),
      };
      const backfill = assemble(
        backfillWindows,
        backfillPlan.groups.length,
        perWindow,
        backfillDirect,
        empty.transitions,
        perGroup,
        0,
      );
      const dailyModel = assemble(
        dailyWindows,
        dailyPlan.groups.length,
        dailyDirect.perWindow,
        dailyDirect,
        empty.transitions,
        perGroup,
        0,
      );
      const dailyRun = assemble(
        dailyWindows,
        dailyPlan.groups.length,
        dailyDirect.perWindow,
        dailyDirect,
        empty.transitions,
        perGroup,
        0,
        daily?.transitions,
      );
      const backfillLatency = assemble(
        backfillWindows,
        backfillPlan.groups.length,
        perWindow,
        backfillDirect,
        empty.transitions,
        perGroup,
        LATENCY_MS_PER_REQUEST,
      );
      const dailyLatency = assemble(
        dailyWindows,
        dailyPlan.groups.length,
        dailyDirect.perWindow,
        dailyDirect,
        empty.transitions,
        perGroup,
        LATENCY_MS_PER_REQUEST,
        daily?.transitions,
      );
      // A month of daily runs: each run re-lands the same recent windows (overwrites); what stays in S3
      // is one new day of hourly usage per run plus the monthly windows.
      const hourlyBytes = dailyDirect.perWindow.hourly_usage?.putBytes ?? 0;
      const monthlyBytes = (Object.entries(dailyWindows) as Array<[CategoryName, number]>)
        .filter(([c]) => CATEGORIES[c].window === 'month')
        .reduce((s, [c, n]) => s + n * (dailyDirect.perWindow[c]?.putBytes ?? 0), 0);
      const perMonth = scale(dailyRun, config.dailyRunsPerMonth);
      const monthStored = price({
        ...perMonth,
        storedBytes: config.dailyRunsPerMonth * hourlyBytes + monthlyBytes,
      });

      let requests = 0;
      for (const [c, n] of Object.entries(backfillWindows) as Array<[CategoryName, number]>) {
        requests += n * (perWindow[c]?.requests ?? 0);
      }
      out.push({
        orgs,
        perWindow: Object.fromEntries(
          Object.entries(perWindow).map(([c, pw]) => [
            c,
            Object.fromEntries(Object.entries(pw).map(([k, v]) => [k, round(v, 2)])),
          ]),
        ) as Partial<Record<CategoryName, PerWindow>>,
        transitions: {
          emptyRun: empty.transitions,
          perGroup: round(perGroup, 2),
          perChildExecution: TRANSITIONS_PER_CHILD_EXECUTION,
          sampleMeasured: sample.transitions,
          sampleModel: round(empty.transitions + sample.groups * perGroup + sample.windowTransitions, 1),
          dailyMeasured: daily?.transitions ?? null,
          // What the local interpreter sees (no child execution starts), to check the model against it.
          dailyModel: dailyModel.transitions - dailyPlan.groups.length * TRANSITIONS_PER_CHILD_EXECUTION,
        },
        handlers: {
          planMs: round(backfillDirect.planMs, 1),
          summarizeGroupMs: round(
            sampleDirect.groupMs.reduce((a, b) => a + b, 0) / Math.max(1, sampleDirect.groupMs.length),
            1,
          ),
          summarizeRunMs: round(sampleDirect.runMs, 1),
          summarizeRunGroups: sampleDirect.groupMs.length,
        },
        backfill: {
          windows: backfillWindows,
          groups: backfillPlan.groups.length,
          requests: Math.round(requests),
          breakdown: backfill,
        },
        daily: {
          windows: dailyWindows,
          groups: dailyPlan.groups.length,
          measuredTransitions: daily?.transitions ?? null,
          measuredInvocations: daily?.invocations ?? null,
          perRun: { ...dailyRun, cost: { ...dailyRun.cost } },
          perMonth: monthStored,
        },
        withLatency: {
          msPerDatadogRequest: LATENCY_MS_PER_REQUEST,
          backfill: backfillLatency.cost.total,
          dailyMonth: round(dailyLatency.cost.total * config.dailyRunsPerMonth, 6),
        },
      });
      const dailyLocal = dailyModel.transitions - dailyPlan.groups.length * TRANSITIONS_PER_CHILD_EXECUTION;
      if (daily && Math.abs(dailyLocal - daily.transitions) > 0.5) {
        log(
          `  cost: transition model predicts ${dailyLocal} for the daily run, measured ${daily.transitions}`,
        );
      }
    } finally {
      await env.close();
    }
  }
  return {
    config,
    prices: PRICES,
    fixedMonthly: fixedMonthly(),
    assumptions: [
      'Backfill: per-window figures measured on a sample run (runLocal + the same handlers driven window by window), × windows per category of the real 15-month plan; transitions = empty run + groups × (fitted per-group + 1 for the child execution the distributed Map starts, which the local interpreter does not see) + Σ windows (3 × invocations + waits + 1).',
      'X-Ray: one trace per execution (the run and each child), every one sampled (an upper bound). Custom metrics: each published metric billed for the hours it gets data in (at least one per run; a backfill\u2019s hours at 1 s per Datadog request, 8 in flight).',
      'Daily: one measured run (lookback P3D) × 30; storage = one new day of hourly usage per run + the monthly windows, one month.',
      'Lambda durations are the handlers\u2019 own wall time on loopback (simulated Datadog answers in ms); the withLatency line adds 1 s per Datadog request.',
      'No rate-limit waits (the sample runs under no limit); a limited run adds a Wait + 3 transitions per hand-back.',
      `Logs: app log bytes counted; Lambda platform lines ${LOG_ESTIMATES.lambdaPlatformBytesPerInvocation} B per invocation and Step Functions ${LOG_ESTIMATES.stepFunctionsBytesPerEvent} B per history event are estimates.`,
      'Backfill storage: one month of the landed bytes. Fixed monthly costs (alarms, dashboard, KMS key, secrets) are listed apart. Not included: KMS and Secrets Manager requests, data transfer, Athena/Glue queries, free tiers.',
    ],
    orgs: out,
  };
}

/** Alarms, dashboards, keys and secrets of the stack as deployed (cdk.json's settings), priced per month. */
function fixedMonthly(): FixedMonthly {
  const settings = parseSettings(undefined);
  const { template } = synthesizeStack(settings);
  const count = (type: string) => Object.keys(template.findResources(type)).length;
  const n = {
    alarms: count('AWS::CloudWatch::Alarm'),
    dashboards: count('AWS::CloudWatch::Dashboard'),
    kmsKeys: count('AWS::KMS::Key'),
    secrets: settings.accounts.length,
  };
  const cost = {
    alarms: round(n.alarms * PRICES.alarmPerMonth, 2),
    dashboards: round(n.dashboards * PRICES.dashboardPerMonth, 2),
    kmsKeys: round(n.kmsKeys * PRICES.kmsKeyPerMonth, 2),
    secrets: round(n.secrets * PRICES.secretPerMonth, 2),
  };
  return {
    ...n,
    cost: { ...cost, total: round(cost.alarms + cost.dashboards + cost.kmsKeys + cost.secrets, 2) },
  };
}
