import {
  CATEGORIES,
  type CategoryDef,
  type CategoryName,
  type CategoryOptions,
  type Window,
} from '../categories.ts';
import type { AccountConfig } from '../shared/config.ts';
import { InputError } from '../shared/errors.ts';
import { rootOf } from './layout.ts';
import { parseRunInput, type RunInputContext } from './run-input.ts';
import {
  addMonths,
  alignRange,
  countWindows,
  nthWindowStart,
  startOfMonth,
  windowOf,
  windowsFor,
} from './windows.ts';

/** Consecutive windows of one category the planner did not send to Datadog, and why. */
export interface Skipped {
  account: string;
  category: CategoryName;
  /** First and last partition skipped, e.g. `month=2025-01` and `month=2025-06`. */
  from: string;
  to: string;
  windows: number;
  reason: string;
}

/**
 * Up to {@link MAX_WINDOWS_PER_GROUP} consecutive windows of one category of one account: the unit
 * the outer (distributed) Map fans out over, each a child execution with its own history. Only the
 * first start and the last index travel, so the payload does not grow with the windows.
 */
export interface Group {
  account: string;
  category: CategoryName;
  /** Start of the first window (ISO, UTC). */
  start: string;
  /** Index of the last window: the group holds windows 0..last. */
  last: number;
}

/** Windows per group: bounds each child execution's history (see infra/history-budget.ts). */
export const MAX_WINDOWS_PER_GROUP = 8;

export interface Plan {
  runId: string;
  executionId: string;
  /** When the execution started: every fetch of this run is ordered by it. */
  executionStart: string;
  s3Url: string;
  range: { start: string; end: string };
  accounts: string[];
  categories: CategoryName[];
  options: CategoryOptions;
  groups: Group[];
  skipped: Skipped[];
  /** Windows planned in all. */
  windows: number;
}

export interface PlanContext extends RunInputContext {
  executionId: string;
  /** `$$.Execution.StartTime`; defaults to `now`. */
  executionStart?: string;
  runId: string;
  bucket: string;
  prefix: string;
}

/** Hourly windows in one run: the 15 months of retention (and some) for each of 10 accounts. */
export const MAX_WINDOWS = 10_000;

// The options of an input alone, for callers that only need those.
export { parseOptions } from './options.ts';

const retentionReason = (def: CategoryDef) =>
  `older than Datadog's ${def.availability.retentionMonths}-month retention`;
const FUTURE_REASON = 'in the future';

/** Why a window cannot exist yet or any more, or undefined when it can (the planner skips it). */
export function unavailable(
  def: CategoryDef,
  account: AccountConfig,
  w: Window,
  now: Date,
): string | undefined {
  const start = new Date(w.start);
  const currentMonth = startOfMonth(now);
  const a = def.availability;
  if (def.unavailableOnSites?.includes(account.site)) {
    return `${def.name} is not available on the ${account.site} site`;
  }
  if (start.getTime() >= now.getTime()) return FUTURE_REASON;
  if (start.getTime() < retentionStart(def, now).getTime()) return retentionReason(def);
  if (
    a.recentMonthsOnly !== undefined &&
    start.getTime() < addMonths(currentMonth, -(a.recentMonthsOnly - 1)).getTime()
  ) {
    return a.recentMonthsOnly === 1
      ? `${def.name} exists only for the current month`
      : `${def.name} exists only for the current and previous ${a.recentMonthsOnly - 1 === 1 ? 'month' : `${a.recentMonthsOnly - 1} months`}`;
  }
  return undefined;
}

/** Start of the oldest month Datadog still keeps. */
function retentionStart(def: CategoryDef, now: Date): Date {
  return addMonths(startOfMonth(now), -(def.availability.retentionMonths - 1));
}

const later = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);
const earlier = (a: Date, b: Date) => (a.getTime() <= b.getTime() ? a : b);

/** The groups, skipped runs and window count of one category of one account. */
interface Planned {
  groups: Group[];
  skipped: Skipped[];
  windows: number;
}

/**
 * Plans one category of one account over `[start, end)`. Only the windows Datadog can hold (inside
 * its retention and not in the future) are built one by one; the runs before and after them are
 * counted arithmetically, so a range of any length costs at most the retention's windows in memory.
 */
function planCategory(def: CategoryDef, account: AccountConfig, start: Date, end: Date, now: Date): Planned {
  const out: Planned = { groups: [], skipped: [], windows: 0 };
  const aligned = alignRange(def.window, start, end);
  let group: Group | undefined;
  let skip: Skipped | undefined;
  /** Skips `n` consecutive windows from `first`, joining the previous run when the reason is the same. */
  const skipRun = (reason: string, first: Date, n: number) => {
    if (n <= 0) return;
    group = undefined;
    const to = windowOf(def.window, nthWindowStart(def.window, first, n - 1)).partition;
    if (skip?.reason === reason) {
      skip.to = to;
      skip.windows += n;
      return;
    }
    skip = {
      account: account.name,
      category: def.name,
      from: windowOf(def.window, first).partition,
      to,
      windows: n,
      reason,
    };
    out.skipped.push(skip);
  };
  if (def.unavailableOnSites?.includes(account.site)) {
    const reason = `${def.name} is not available on the ${account.site} site`;
    skipRun(reason, aligned.start, countWindows(def.window, aligned.start, aligned.end));
    return out;
  }
  // Window starts before `oldest` are past retention; from `future` on, they have not begun.
  const oldest = later(aligned.start, earlier(aligned.end, retentionStart(def, now)));
  const future = earlier(aligned.end, later(oldest, alignRange(def.window, now, now).end));
  skipRun(retentionReason(def), aligned.start, countWindows(def.window, aligned.start, oldest));
  for (const window of windowsFor(def.window, oldest, future)) {
    const reason = unavailable(def, account, window, now);
    if (reason) {
      skipRun(reason, new Date(window.start), 1);
      continue;
    }
    skip = undefined;
    out.windows++;
    if (group && group.last + 1 < MAX_WINDOWS_PER_GROUP) group.last++;
    else {
      group = { account: account.name, category: def.name, start: window.start, last: 0 };
      out.groups.push(group);
    }
  }
  skipRun(FUTURE_REASON, future, countWindows(def.window, future, aligned.end));
  return out;
}

/** Validates the input (see {@link parseRunInput}) and plans the work items: one per (account, category, window). */
export function planRun(raw: unknown, ctx: PlanContext): Plan {
  const { accounts, categories, options, range } = parseRunInput(raw, ctx);

  const groups: Group[] = [];
  const skipped: Skipped[] = [];
  let windows = 0;
  for (const account of accounts) {
    for (const name of categories) {
      const def = CATEGORIES[name];
      // A relative (scheduled) run takes monthly categories for the current and previous month.
      const start =
        range.relative && def.window === 'month' ? addMonths(startOfMonth(range.end), -1) : range.start;
      const planned = planCategory(def, account, start, range.end, ctx.now);
      groups.push(...planned.groups);
      skipped.push(...planned.skipped);
      windows += planned.windows;
    }
  }
  if (windows > MAX_WINDOWS) {
    throw new InputError(
      'start',
      `the range makes ${windows} windows; at most ${MAX_WINDOWS} per run. Split it.`,
    );
  }
  return {
    runId: ctx.runId,
    executionId: ctx.executionId,
    executionStart: ctx.executionStart ?? ctx.now.toISOString(),
    s3Url: `s3://${ctx.bucket}/${rootOf(ctx.prefix)}`,
    range: { start: range.start.toISOString(), end: range.end.toISOString() },
    accounts: accounts.map((a) => a.name),
    categories,
    options,
    groups,
    skipped,
    windows,
  };
}
