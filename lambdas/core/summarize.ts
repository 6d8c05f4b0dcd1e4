import { CATEGORIES, type CategoryName } from '../categories.ts';
import type { Group, Skipped } from './plan.ts';
import { nthWindowStart, windowOf } from './windows.ts';
import type { WindowResult } from './work-item.ts';

export interface Failure {
  account: string;
  window: string;
  error: string;
  message: string;
}

/** Counts of one (account, category) group: what flows out of the outer Map. */
export interface GroupSummary {
  account: string;
  category: CategoryName;
  /** Start of the group's first window: with account and category, which planned group this is. */
  start?: string;
  windows: number;
  pages: number;
  records: number;
  bytes: number;
  /** Windows Datadog may still restate (re-run them later; the re-run replaces them). */
  provisional: number;
  /**
   * Windows fetched completely but not shown: a newer execution had committed them first. Not a
   * failure; their counts are not in `pages`/`records`/`bytes`.
   */
  superseded: number;
  failed: number;
  /** The first {@link MAX_FAILURES_LISTED} failures; `failed` has the count. */
  failures: Failure[];
}

export const MAX_FAILURES_LISTED = 20;
/** Failures listed per category in the run's output; `failed` has the count. */
export const MAX_FAILURES_PER_CATEGORY = 10;

export interface CategorySummary extends Omit<GroupSummary, 'account' | 'category'> {
  skipped: Array<Omit<Skipped, 'category'>>;
}

export interface RunSummaryInput {
  runId: string;
  s3Url: string;
  /** Where the run's group results are kept. */
  detailsUrl: string;
  range: { start: string; end: string };
  accounts: string[];
  categories: CategoryName[];
  skipped: Skipped[];
  groups: GroupSummary[];
  /**
   * Every group the plan sent to the distributed Map. A planned group that left no summary (its child
   * execution failed, timed out or was aborted before recording anything) counts as failed windows.
   */
  planned?: Group[];
}

export interface RunOutput {
  execution_status: 'S_OK' | 'E_FAIL';
  s3_url: string;
  output: {
    run_id: string;
    /** Every window's result, and every failure, of this run. */
    details_url: string;
    range: { start: string; end: string };
    accounts: string[];
    totals: {
      windows: number;
      pages: number;
      records: number;
      bytes: number;
      superseded: number;
      failed: number;
      skipped: number;
    };
    categories: Partial<Record<CategoryName, CategorySummary>>;
  };
}

/** Step Functions' Cause is the error message locally and a JSON `{errorType, errorMessage}` in AWS. */
export function causeMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // a plain message
  }
  return cause;
}

export interface GroupResults {
  runId: string;
  account: string;
  category: CategoryName;
  /** Start of the group's first window; result `index` counts windows from it. */
  start: string;
  results: WindowResult[];
}

/** Counts of nothing yet: the start of a group's and of a category's summary. */
const noCounts = () => ({
  windows: 0,
  pages: 0,
  records: 0,
  bytes: 0,
  provisional: 0,
  superseded: 0,
  failed: 0,
  failures: [],
});

/** The summary of a group before any of its windows is counted. */
const emptyGroup = (g: Pick<GroupSummary, 'account' | 'category' | 'start'>): GroupSummary => ({
  account: g.account,
  category: g.category,
  start: g.start,
  ...noCounts(),
});

export function summarizeGroup(input: GroupResults): GroupSummary {
  const kind = CATEGORIES[input.category].window;
  const g = emptyGroup(input);
  for (const r of input.results) {
    if (r.status === 'done' && r.outcome === 'superseded') {
      g.superseded++;
      continue;
    }
    if (r.status === 'done') {
      g.windows++;
      g.pages += r.pages;
      g.records += r.records;
      g.bytes += r.bytes;
      if (!r.final) g.provisional++;
      continue;
    }
    g.failed++;
    if (g.failures.length < MAX_FAILURES_LISTED) {
      g.failures.push({
        account: input.account,
        window: windowOf(kind, nthWindowStart(kind, new Date(input.start), r.index)).partition,
        error: r.error?.Error ?? 'Unknown',
        message: causeMessage(r.error?.Cause ?? 'no cause recorded'),
      });
    }
  }
  return g;
}

/** A group that failed as a whole (its window Map or its summary), as the state machine caught it. */
export interface GroupFailure extends Group {
  runId: string;
  error: { Error: string; Cause: string };
}

/** Name of the failure of a planned group that left no summary at all. */
export const GROUP_LOST = 'GroupFailedError';

/** Every window of a group that failed as a whole, failed with the group's error. */
export function summarizeGroupFailure(input: Omit<GroupFailure, 'runId'>): GroupSummary {
  const kind = CATEGORIES[input.category].window;
  const g = emptyGroup(input);
  const message = causeMessage(input.error.Cause ?? 'no cause recorded');
  for (let index = 0; index <= input.last; index++) {
    g.failed++;
    if (g.failures.length < MAX_FAILURES_LISTED) {
      g.failures.push({
        account: input.account,
        window: windowOf(kind, nthWindowStart(kind, new Date(input.start), index)).partition,
        error: input.error.Error ?? 'Unknown',
        message: `the group of ${input.last + 1} window(s) from ${input.start.slice(0, 10)} failed: ${message}`,
      });
    }
  }
  return g;
}

const groupKey = (g: { account: string; category: string; start?: string }) =>
  `${g.account}|${g.category}|${g.start}`;

/** Planned groups with no stored summary, as failed windows. */
function lostGroups(planned: Group[], stored: GroupSummary[]): GroupSummary[] {
  const seen = new Set(stored.map(groupKey));
  return planned
    .filter((p) => !seen.has(groupKey(p)))
    .map((p) =>
      summarizeGroupFailure({
        ...p,
        error: {
          Error: GROUP_LOST,
          Cause:
            'its child execution ended without recording its windows (failed, timed out or aborted); the map run lists it among its failed items',
        },
      }),
    );
}

export function summarizeRun(input: RunSummaryInput): RunOutput {
  const categories: Partial<Record<CategoryName, CategorySummary>> = {};
  const of = (name: CategoryName): CategorySummary => {
    categories[name] ??= { ...noCounts(), skipped: [] };
    return categories[name];
  };
  for (const name of input.categories) of(name);
  const totals = {
    windows: 0,
    pages: 0,
    records: 0,
    bytes: 0,
    superseded: 0,
    failed: 0,
    skipped: input.skipped.reduce((n, s) => n + s.windows, 0),
  };
  for (const g of [...input.groups, ...lostGroups(input.planned ?? [], input.groups)]) {
    const c = of(g.category);
    for (const k of ['windows', 'pages', 'records', 'bytes', 'superseded', 'failed'] as const) {
      c[k] += g[k];
      totals[k] += g[k];
    }
    c.provisional += g.provisional;
    c.failures.push(...g.failures.slice(0, Math.max(0, MAX_FAILURES_PER_CATEGORY - c.failures.length)));
  }
  for (const { category, ...rest } of input.skipped) of(category).skipped.push(rest);
  return {
    execution_status: totals.failed === 0 ? 'S_OK' : 'E_FAIL',
    s3_url: input.s3Url,
    output: {
      run_id: input.runId,
      details_url: input.detailsUrl,
      range: input.range,
      accounts: input.accounts,
      totals,
      categories,
    },
  };
}
