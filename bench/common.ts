import '../local/node20.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  CATEGORIES,
  type CategoryName,
  type CategoryOptions,
  DEFAULT_OPTIONS,
  type Window,
} from '../lambdas/categories.ts';
import { DEFAULT_LIMITS, type FetchLimits } from '../lambdas/core/fetch-window.ts';
import type { createFetchHandler, Runtime } from '../lambdas/core/handlers.ts';
import type { IngestInfo } from '../lambdas/core/page-writer.ts';
import { windowsFor } from '../lambdas/core/windows.ts';
import { INITIAL_PROGRESS, type WorkItem } from '../lambdas/core/work-item.ts';
import { type Logger, silentLogger } from '../lambdas/shared/log.ts';
import {
  HARNESS_ACCOUNTS,
  HARNESS_KEYS,
  HARNESS_PREFIX,
  type Harness,
  startHarness,
} from '../local/harness.ts';
import type { DatadogSimulator, SimulatorOptions } from '../local/simulator/index.ts';

/** The bench's fixed clock for data availability (windows, retention, provisional flags). */
export const NOW = new Date('2026-11-26T12:00:00.000Z');
/** The harness's keys, account and prefix: what the bench's runs and direct handler calls use. */
export { HARNESS_ACCOUNTS as ACCOUNTS, HARNESS_KEYS as KEYS, HARNESS_PREFIX as PREFIX };
export const HOURLY_PATH = CATEGORIES.hourly_usage.path;
/** A limit no run of the bench reaches: sections that do not study rate limits use it. */
export const NO_LIMIT = { limit: 1_000_000_000, periodSeconds: 60 };
/** Lambda timeout as deployed for the fetch functions (infra/datadog-usage-stack.ts). */
export const FETCH_TIMEOUT_MS = 300_000;

/**
 * The harness on the bench's clock: the simulator's data and every run's planner at NOW unless given.
 * Rate-limited runs pass the real clock instead: their Wait states wait on it, and the rate-limit
 * ledger compares it with the ends of limit windows.
 */
export function startBenchHarness(sim: SimulatorOptions = {}): Promise<Harness> {
  return startHarness({ sim: { now: () => NOW, ...sim }, run: { now: () => NOW }, tmpPrefix: 'lake-bench-' });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** CPU time of this process (all threads: main, libuv pool for gzip), user + system, in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const DAY_MS = 86_400_000;

/** `days` UTC day windows starting at `start` (YYYY-MM-DD). */
export function dayWindows(start: string, days: number): Window[] {
  const s = new Date(`${start}T00:00:00.000Z`);
  return windowsFor('day', s, new Date(s.getTime() + days * DAY_MS));
}

export const addDaysIso = (day: string, n: number): string =>
  new Date(new Date(`${day}T00:00:00.000Z`).getTime() + n * DAY_MS).toISOString().slice(0, 10);

/** The `ingest` object of page `page` of an hourly_usage window, fetched at NOW. */
export const ingestFor = (w: Window, page: number, fetchId = 'bench'): IngestInfo => ({
  account: 'main',
  category: 'hourly_usage',
  window_start: w.start,
  window_end: w.end,
  page,
  fetched_at: NOW.toISOString(),
  fetch_id: fetchId,
});

/** The Map state's item for one window (infra/constructs/pipeline-state-machine.ts). */
export function workItem(
  category: CategoryName,
  groupStart: string,
  options: CategoryOptions = DEFAULT_OPTIONS,
  runId = 'bench',
  index = 0,
): WorkItem {
  return {
    runId,
    executionId: `arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:${runId}`,
    // Now: every call is a newer fetch of the window than the rounds before it.
    executionStart: new Date().toISOString(),
    attempt: 0,
    account: 'main',
    category,
    groupStart,
    index,
    options,
    ...INITIAL_PROGRESS,
  };
}

export function benchRuntime(opts: {
  simUrl: string;
  s3: S3Client;
  bucket: string;
  prefix?: string;
  log?: Logger;
  limits?: Partial<FetchLimits>;
}): Runtime {
  return {
    bucket: opts.bucket,
    prefix: opts.prefix ?? HARNESS_PREFIX,
    accounts: HARNESS_ACCOUNTS,
    enabledCategories: Object.keys(CATEGORIES) as CategoryName[],
    s3: opts.s3,
    loadKeys: async () => HARNESS_KEYS,
    clientOptions: { baseUrlOverride: opts.simUrl },
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    log: opts.log ?? silentLogger,
    now: () => NOW,
    sleep,
  };
}

export interface WindowRun {
  item: WorkItem;
  /** Wall time of each handler invocation, ms. */
  durations: number[];
  waitSeconds: number;
}

/**
 * Drives one window the way the state machine does (invoke until `done`, honouring `wait`), calling
 * the real fetch handler directly so each invocation can be timed.
 */
export async function driveWindow(
  handler: ReturnType<typeof createFetchHandler>,
  item: WorkItem,
): Promise<WindowRun> {
  const durations: number[] = [];
  let waitSeconds = 0;
  let current = item;
  for (;;) {
    const started = performance.now();
    const deadline = Date.now() + FETCH_TIMEOUT_MS;
    const event = { item: current, execution: { id: `bench-${item.runId}`, budget: 10_000 } };
    current = JSON.parse(
      JSON.stringify(await handler(event, { getRemainingTimeInMillis: () => deadline - Date.now() })),
    ) as WorkItem;
    durations.push(performance.now() - started);
    if (current.status === 'done') return { item: current, durations, waitSeconds };
    if (current.status === 'wait') {
      waitSeconds += current.waitSeconds;
      await sleep(Math.max(0, Date.parse(current.waitUntil) - Date.now()));
    }
  }
}

export interface S3Counts {
  /** Requests per S3 operation, e.g. PutObject. */
  ops: Record<string, number>;
  /** Per category (from the key prefix) and operation. */
  byCategory: Record<string, Record<string, number>>;
  putBytes: number;
  putBytesByCategory: Record<string, number>;
}

export function emptyS3Counts(): S3Counts {
  return { ops: {}, byCategory: {}, putBytes: 0, putBytesByCategory: {} };
}

/** Counts every command sent through `s3` (by operation, category and PUT bytes) from now on. */
export function countS3(s3: S3Client, prefix = HARNESS_PREFIX): { counts: S3Counts; reset(): void } {
  const state = { counts: emptyS3Counts() };
  const original = s3.send.bind(s3) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  const categoryOf = (key: unknown): string => {
    if (typeof key !== 'string') return 'other';
    const rest = prefix && key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : key;
    return rest.split('/')[0] || 'other';
  };
  (s3 as unknown as { send: typeof original }).send = (command, ...rest) => {
    const c = state.counts;
    const name = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, '');
    const input = (command as { input?: Record<string, unknown> }).input ?? {};
    const category = categoryOf(input.Key ?? input.Prefix);
    c.ops[name] = (c.ops[name] ?? 0) + 1;
    c.byCategory[category] ??= {};
    const bc = c.byCategory[category] as Record<string, number>;
    bc[name] = (bc[name] ?? 0) + 1;
    if (name === 'PutObject') {
      const body = input.Body;
      const bytes =
        typeof body === 'string' ? Buffer.byteLength(body) : ((body as { length?: number })?.length ?? 0);
      c.putBytes += bytes;
      c.putBytesByCategory[category] = (c.putBytesByCategory[category] ?? 0) + bytes;
    }
    return original(command, ...rest);
  };
  return {
    get counts() {
      return state.counts;
    },
    reset() {
      state.counts = emptyS3Counts();
    },
  };
}

/** The fewest requests a window can take: ⌈records / page size⌉, and one for an empty window. */
export function minRequests(records: number, pageSize: number): number {
  return Math.max(1, Math.ceil(records / pageSize));
}

export function hourlyRecords(sim: DatadogSimulator, w: Window, options: CategoryOptions): number {
  return sim.expected('hourly_usage', CATEGORIES.hourly_usage.params(w, options)).length;
}

/** The hourly records the simulator holds for these windows, and the fewest requests that fetch them. */
export function hourlyWork(
  sim: DatadogSimulator,
  windows: readonly Window[],
  options: CategoryOptions,
): { records: number; minimum: number } {
  let records = 0;
  let minimum = 0;
  for (const w of windows) {
    const n = hourlyRecords(sim, w, options);
    records += n;
    minimum += minRequests(n, options.pageSize);
  }
  return { records, minimum };
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
