/**
 * Section 3 — rate limits: a multi-window hourly-usage backfill through runLocal against a simulator that
 * enforces a calendar-aligned window, versus the bound requests ÷ limit × period, the 429s it drew, and
 * Datadog's fixed-sleep loop (sleep 5 s between pages) on a second simulator with the same limit.
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
  KEYS,
  log,
  NOW,
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
            ingest: {
              account: 'main',
              category: 'hourly_usage',
              window_start: w.start,
              window_end: w.end,
              page,
              fetched_at: NOW.toISOString(),
              fetch_id: LOOP_FETCH,
            },
          });
        },
        windows,
        options,
        () => pipelineDone,
      );

    // The simulator logs requests without a time: sample its log every 5 ms to place each one in a
    // calendar-aligned limit window (close enough: the windows are seconds long).
    const stamps: number[] = [];
    const sampler = setInterval(() => {
      while (stamps.length < env.sim.requests.length) stamps.push(Date.now());
    }, 5);
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
          return NOW;
        },
        executionName: 'bench-rate-limit',
        ...(config.settings ? { settings: config.settings } : {}),
      },
    );
    const ended = performance.now();
    clearInterval(sampler);
    while (stamps.length < env.sim.requests.length) stamps.push(Date.now());
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
    const batches = Math.ceil(minimumRequests / config.limit);
    const alignedBoundMs =
      batches <= 1
        ? 0
        : Math.ceil(planStartedAt / periodMs) * periodMs - planStartedAt + (batches - 2) * periodMs;
    const perWindow = new Map<number, { requests: number; throttled: number }>();
    env.sim.requests.forEach((r, i) => {
      if (r.path !== HOURLY_PATH) return;
      const w = Math.floor((stamps[i] ?? 0) / periodMs);
      const c = perWindow.get(w) ?? { requests: 0, throttled: 0 };
      c.requests++;
      if (r.status === 429) c.throttled++;
      perWindow.set(w, c);
    });
    const limitWindowsSpanned = perWindow.size;
    const max429PerLimitWindow = Math.max(0, ...[...perWindow.values()].map((c) => c.throttled));

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
