/**
 * Section 3 — rate limits: a multi-window hourly-usage backfill through runLocal against a simulator that
 * enforces a calendar-aligned window, versus the bound requests ÷ limit × period, the 429s it drew, and
 * Datadog's fixed-sleep loop (sleep 5 s between pages) on a second simulator with the same limit. Then
 * one day window of hundreds of pages at 10 requests per 6 s on a scaled clock: every exhausted limit
 * window a Wait state, the window outgrowing its execution's budget into window executions.
 */

import { CATEGORIES, type CategoryOptions, DEFAULT_OPTIONS } from '../lambdas/categories.ts';
import { fetchIdOf } from '../lambdas/core/layout.ts';
import { writePart } from '../lambdas/core/page-writer.ts';

/** The fixed-sleep loop's pages: one fetch, each page written once. */
const LOOP_FETCH = fetchIdOf(new Date().toISOString(), 'fixed-sleep-loop', 0);

import {
  addDaysIso,
  dayWindows,
  HOURLY_PATH,
  hourlyWork,
  ingestFor,
  KEYS,
  log,
  round,
  sleep,
  startBenchHarness,
} from './common.ts';

export interface RateLimitConfig {
  limit: number;
  periodSeconds: number;
  orgs: number;
  days: number;
  pageSize: number;
  lastDay: string;
  /** Run the fixed-sleep loop for real beside the backfill (time-boxed to it) or only compute it. */
  measureFixedSleep: boolean;
  /** Concurrency the definition is synthesized with; default: as deployed (cdk.json). */
  settings?: { mapConcurrency: number; windowConcurrency: number };
}

export interface RateLimitResult {
  config: RateLimitConfig;
  windows: number;
  records: number;
  minimumRequests: number;
  pipeline: {
    status: string;
    requests: number;
    ok: number;
    throttled429: number;
    /** From the Plan state's start to the run's end (the definition's synthesis excluded). */
    wallMs: number;
    elapsedMsWithSynth: number;
    boundMs: number;
    overBound: number;
    /**
     * Earliest finish with calendar-aligned windows from the actual start: the rest of the first window,
     * then ⌈requests / limit⌉ − 2 full windows (the last batch goes out at the start of the last one).
     */
    alignedBoundMs: number;
    overAlignedBound: number;
    limitWindowsSpanned: number;
    max429PerLimitWindow: number;
    waitStates: number;
    fetchInvocations: number;
    stateTransitions: number;
  };
  fixedSleep: {
    mode: 'measured-extrapolated' | 'analytic';
    sleepMs: number;
    /** Requests the loop made while it ran (measured mode). */
    measuredRequests: number;
    measuredWallMs: number;
    measured429: number;
    /** Per request: sleep + GET + PUT, from the measurement, or 5 s + the per-page wall of section 1. */
    msPerRequest: number;
    /** For all `minimumRequests` pages. */
    wallMs: number;
    throttled429: number;
  };
  speedup: number;
}

const FIXED_SLEEP_MS = 5_000;

type SentRequest = { status: number; at: number };

/** The calendar-aligned limit windows the requests fell in, and the most 429s one of them drew. */
function limitWindows(
  sent: readonly SentRequest[],
  periodMs: number,
): { limitWindowsSpanned: number; max429PerLimitWindow: number } {
  const perWindow = new Map<number, number>();
  for (const r of sent) {
    const w = Math.floor(r.at / periodMs);
    perWindow.set(w, (perWindow.get(w) ?? 0) + (r.status === 429 ? 1 : 0));
  }
  return { limitWindowsSpanned: perWindow.size, max429PerLimitWindow: Math.max(0, ...perWindow.values()) };
}

/** Earliest finish from `start` when `requests` go out `limit` per calendar-aligned window of `periodMs`. */
function alignedBound(start: number, requests: number, limit: number, periodMs: number): number {
  const batches = Math.ceil(requests / limit);
  return batches <= 1 ? 0 : Math.ceil(start / periodMs) * periodMs - start + (batches - 2) * periodMs;
}

/** Datadog's pseudo-code over consecutive windows: GET, write, sleep 5 s, until `stop()` says so. */
async function fixedSleepLoop(
  simUrl: string,
  write: (w: ReturnType<typeof dayWindows>[number], page: number, records: unknown[]) => Promise<void>,
  windows: ReturnType<typeof dayWindows>,
  options: CategoryOptions,
  stop: () => boolean,
): Promise<{ requests: number; throttled: number; wallMs: number; ownMs: number; complete: boolean }> {
  const started = performance.now();
  let requests = 0;
  let throttled = 0;
  let ownMs = 0;
  let lastEnd = started;
  const headers = { 'dd-api-key': KEYS.apiKey, 'dd-application-key': KEYS.appKey };
  for (const w of windows) {
    let cursor = '';
    for (let page = 0; ; ) {
      if (requests > 0) {
        if (stop()) return { requests, throttled, wallMs: lastEnd - started, ownMs, complete: false };
        await sleep(FIXED_SLEEP_MS);
      }
      const t0 = performance.now();
      const url = new URL(HOURLY_PATH, simUrl);
      for (const [k, v] of Object.entries(CATEGORIES.hourly_usage.params(w, options)))
        url.searchParams.set(k, v);
      if (cursor) url.searchParams.set('page[next_record_id]', cursor);
      const res = await fetch(url, { headers });
      requests++;
      if (res.status === 429) {
        throttled++;
        await res.arrayBuffer();
        lastEnd = performance.now();
        ownMs += lastEnd - t0;
        continue;
      }
      const body = (await res.json()) as {
        data: unknown[];
        meta?: { pagination?: { next_record_id?: string | null } };
      };
      await write(w, page, body.data);
      lastEnd = performance.now();
      ownMs += lastEnd - t0;
      page++;
      cursor = body.meta?.pagination?.next_record_id ?? '';
      if (!cursor) break;
    }
  }
  return { requests, throttled, wallMs: lastEnd - started, ownMs, complete: true };
}

export async function runRateLimit(
  config: RateLimitConfig,
  pseudoWallMsPerPage: number,
): Promise<RateLimitResult> {
  const rateLimit = { limit: config.limit, periodSeconds: config.periodSeconds };
  const options: CategoryOptions = { ...DEFAULT_OPTIONS, pageSize: config.pageSize };
  const first = addDaysIso(config.lastDay, -(config.days - 1));
  const windows = dayWindows(first, config.days);
  const [env, loopEnv] = await Promise.all([
    startBenchHarness({ orgs: config.orgs, rateLimit }),
    startBenchHarness({ orgs: config.orgs, rateLimit }),
  ]);
  try {
    const { records, minimum: minimumRequests } = hourlyWork(env.sim, windows, options);

    let pipelineDone = false;
    let loop: ReturnType<typeof fixedSleepLoop> | undefined;
    // Started when the Plan state starts, so both run over the same stretch of time (not the synthesis).
    const startLoop = () =>
      fixedSleepLoop(
        loopEnv.sim.url,
        async (w, page, recs) => {
          const ref = {
            bucket: loopEnv.s3.bucket,
            prefix: 'fixed-sleep',
            category: 'hourly_usage' as const,
            account: 'main',
            partition: w.partition,
          };
          await writePart(loopEnv.s3.client, {
            ref,
            fetchId: LOOP_FETCH,
            page,
            records: recs,
            next: '',
            ingest: ingestFor(w, page, LOOP_FETCH),
          });
        },
        windows,
        options,
        () => pipelineDone,
      );

    let planStarted: number | undefined;
    let planStartedAt = 0;
    const result = await env.run(
      {
        account: 'main',
        categories: ['hourly_usage'],
        start: first,
        end: addDaysIso(config.lastDay, 1),
        pageSize: config.pageSize,
      },
      {
        now: () => {
          if (planStarted === undefined) {
            planStarted = performance.now();
            planStartedAt = Date.now();
            if (config.measureFixedSleep) loop = startLoop();
          }
          return new Date();
        },
        executionName: 'bench-rate-limit',
        ...(config.settings ? { settings: config.settings } : {}),
      },
    );
    const ended = performance.now();
    pipelineDone = true;
    const looped = loop ? await loop : undefined;

    const landed = result.output.output.categories.hourly_usage?.records;
    if (result.output.execution_status !== 'S_OK' || landed !== records) {
      throw new Error(
        `rate limits: run ended ${result.output.execution_status} with ${landed} of ${records} records`,
      );
    }
    const sent = env.sim.requests.filter((r) => r.path === HOURLY_PATH);
    const throttled = sent.filter((r) => r.status === 429).length;
    const wallMs = ended - (planStarted ?? ended);
    const periodMs = config.periodSeconds * 1000;
    const boundMs = (minimumRequests / config.limit) * periodMs;
    const alignedBoundMs = alignedBound(planStartedAt, minimumRequests, config.limit, periodMs);
    const { limitWindowsSpanned, max429PerLimitWindow } = limitWindows(sent, periodMs);

    // Fixed-sleep loop: (requests − 1) sleeps + each request's own time.
    let fixed: RateLimitResult['fixedSleep'];
    if (looped && looped.requests > 0) {
      // Each request's own time (GET + write) as measured; N requests, N − 1 sleeps.
      const own = looped.ownMs / looped.requests;
      fixed = {
        mode: 'measured-extrapolated',
        sleepMs: FIXED_SLEEP_MS,
        measuredRequests: looped.requests,
        measuredWallMs: Math.round(looped.wallMs),
        measured429: looped.throttled,
        msPerRequest: Math.round(FIXED_SLEEP_MS + own),
        wallMs: Math.round(
          looped.complete ? looped.wallMs : (minimumRequests - 1) * FIXED_SLEEP_MS + minimumRequests * own,
        ),
        throttled429: looped.throttled,
      };
    } else {
      fixed = {
        mode: 'analytic',
        sleepMs: FIXED_SLEEP_MS,
        measuredRequests: 0,
        measuredWallMs: 0,
        measured429: 0,
        msPerRequest: Math.round(FIXED_SLEEP_MS + pseudoWallMsPerPage),
        wallMs: Math.round((minimumRequests - 1) * FIXED_SLEEP_MS + minimumRequests * pseudoWallMsPerPage),
        // One request per 5 s never exceeds a limit that allows at least one per 5 s.
        throttled429: config.limit / config.periodSeconds >= 1 / 5 ? 0 : Number.NaN,
      };
    }
    log(
      `  rate-limit: ${sent.length} requests (${throttled} × 429) in ${Math.round(wallMs)} ms, bound ${Math.round(boundMs)} ms`,
    );
    return {
      config,
      windows: windows.length,
      records,
      minimumRequests,
      pipeline: {
        status: result.output.execution_status,
        requests: sent.length,
        ok: sent.filter((r) => r.status === 200).length,
        throttled429: throttled,
        wallMs: Math.round(wallMs),
        elapsedMsWithSynth: result.stats.elapsedMs,
        boundMs: Math.round(boundMs),
        overBound: round(wallMs / boundMs),
        alignedBoundMs: Math.round(alignedBoundMs),
        overAlignedBound: round(wallMs / Math.max(1, alignedBoundMs)),
        limitWindowsSpanned,
        max429PerLimitWindow,
        waitStates: result.stats.waitStates,
        fetchInvocations: result.stats.invocations['Fetch hourly_usage'] ?? 0,
        stateTransitions: result.stats.stateTransitions,
      },
      fixedSleep: fixed,
      speedup: round(fixed.wallMs / wallMs, 1),
    };
  } finally {
    await Promise.all([env.close(), loopEnv.close()]);
  }
}

export interface LongWindowConfig {
  limit: number;
  periodSeconds: number;
  /** Real milliseconds in one second of the limit (the simulator's and the pipeline's). */
  secondMs: number;
  orgs: number;
  day: string;
}

export interface LongWindowResult {
  config: LongWindowConfig;
  pages: number;
  status: string;
  requests: number;
  throttled429: number;
  max429PerLimitWindow: number;
  limitWindowsSpanned: number;
  waitStates: number;
  windowExecutions: number;
  fetchInvocations: number;
  /** From the first request to the run's end, in real ms. */
  wallMs: number;
  boundMs: number;
  overBound: number;
  alignedBoundMs: number;
  overAlignedBound: number;
  /** The same, in the limit's seconds: what the run would take against Datadog. */
  unscaledWallSeconds: number;
}

/**
 * One day window of one record per page (hundreds of pages) at the deployed invocation budgets, every
 * wait a Wait state: pacing from the first request against pages ÷ limit × period.
 */
export async function runLongWindow(config: LongWindowConfig): Promise<LongWindowResult> {
  const env = await startBenchHarness({
    orgs: config.orgs,
    rateLimit: { limit: config.limit, periodSeconds: config.periodSeconds, secondMs: config.secondMs },
  });
  try {
    const windows = dayWindows(config.day, 1);
    const { records, minimum } = hourlyWork(env.sim, windows, { ...DEFAULT_OPTIONS, pageSize: 1 });
    const result = await env.run(
      {
        account: 'main',
        categories: ['hourly_usage'],
        start: config.day,
        end: addDaysIso(config.day, 1),
        pageSize: 1,
      },
      {
        now: () => new Date(),
        executionName: 'bench-long-window',
        limits: { maxInlineWaitSeconds: 0, headerSecondMs: config.secondMs },
      },
    );
    const ended = Date.now();
    const landed = result.output.output.categories.hourly_usage?.records;
    if (result.output.execution_status !== 'S_OK' || landed !== records) {
      throw new Error(
        `long window: run ended ${result.output.execution_status} with ${landed} of ${records} records`,
      );
    }
    const sent = env.sim.requests.filter((r) => r.path === HOURLY_PATH);
    const first = sent[0]?.at ?? ended;
    const periodMs = config.periodSeconds * config.secondMs;
    const wallMs = ended - first;
    const boundMs = (minimum / config.limit) * periodMs;
    const alignedBoundMs = alignedBound(first, minimum, config.limit, periodMs);
    log(
      `  long window: ${sent.length} requests, ${result.stats.waitStates} Wait states, ${result.stats.windowExecutions} window executions in ${wallMs} ms, bound ${Math.round(boundMs)} ms`,
    );
    return {
      config,
      pages: minimum,
      status: result.output.execution_status,
      requests: sent.length,
      throttled429: sent.filter((r) => r.status === 429).length,
      ...limitWindows(sent, periodMs),
      waitStates: result.stats.waitStates,
      windowExecutions: result.stats.windowExecutions,
      fetchInvocations: result.stats.invocations['Fetch hourly_usage'] ?? 0,
      wallMs,
      boundMs: Math.round(boundMs),
      overBound: round(wallMs / boundMs),
      alignedBoundMs: Math.round(alignedBoundMs),
      overAlignedBound: round(wallMs / Math.max(1, alignedBoundMs)),
      unscaledWallSeconds: Math.round(wallMs / config.secondMs),
    };
  } finally {
    await env.close();
  }
}
