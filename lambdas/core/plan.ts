import {
  CATEGORIES,
  CATEGORY_NAMES,
  type CategoryDef,
  type CategoryName,
  type CategoryOptions,
  DEFAULT_OPTIONS,
  isCategoryName,
  type Window,
} from '../categories.ts';
import { ACCOUNT_NAME_FORM, ACCOUNT_NAME_PATTERN, type AccountConfig } from '../shared/config.ts';
import { InputError } from '../shared/errors.ts';
import { rootOf } from './layout.ts';
import {
  addMonths,
  alignRange,
  countWindows,
  nthWindowStart,
  parseLookback,
  parseTime,
  startOfMonth,
  TIME_FORMS,
  windowOf,
  windowsFor,
} from './windows.ts';

/** The state machine's input (manual runs; schedules send `lookback` and `asOf` instead of a range). */
export interface RunInput {
  account?: string | string[];
  categories?: string[] | 'all';
  start?: string;
  end?: string;
  lookback?: string;
  asOf?: string;
  productFamilies?: string[];
  includeDescendants?: boolean;
  includeConnectedAccounts?: boolean;
  pageSize?: number;
  fields?: string;
  tagBreakdownKeys?: string[];
  sortDirection?: 'asc' | 'desc';
  sortName?: string;
}

const INPUT_FIELDS = [
  'account',
  'categories',
  'start',
  'end',
  'lookback',
  'asOf',
  'productFamilies',
  'includeDescendants',
  'includeConnectedAccounts',
  'pageSize',
  'fields',
  'tagBreakdownKeys',
  'sortDirection',
  'sortName',
] as const;

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

/** Windows per group: bounds each child execution's history (see infra/limits.ts). */
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

export interface PlanContext {
  now: Date;
  accounts: readonly AccountConfig[];
  enabledCategories: readonly CategoryName[];
  executionId: string;
  /** `$$.Execution.StartTime`; defaults to `now`. */
  executionStart?: string;
  runId: string;
  bucket: string;
  prefix: string;
  /** Categories planned when the input names none. */
  defaultCategories?: readonly CategoryName[];
}

const FAMILY = /^[a-z0-9_]{1,64}$/;
const TAG_KEY = /^[A-Za-z0-9_.:/-]{1,200}$/;
const FIELDS = /^(\*|[a-z0-9_]{1,100}(,[a-z0-9_]{1,100}){0,199})$/;
const MAX_LIST = 100;
/** Hourly windows in one run: the 15 months of retention (and some) for each of 10 accounts. */
export const MAX_WINDOWS = 10_000;
export const DEFAULT_LOOKBACK = 'P3D';

function stringList(field: string, value: unknown, pattern: RegExp, form: string): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new InputError(field, `expected a non-empty list of ${form}`);
  if (value.length > MAX_LIST)
    throw new InputError(field, `has ${value.length} entries; at most ${MAX_LIST}`);
  return value.map((v, i) => {
    if (typeof v !== 'string' || !pattern.test(v)) {
      throw new InputError(`${field}[${i}]`, `${JSON.stringify(v)} is not ${form}`);
    }
    return v;
  });
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InputError(field, `expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** Validates the input object's shape and options. Throws InputError naming the field. */
export function parseOptions(input: RunInput): CategoryOptions {
  const o: CategoryOptions = { ...DEFAULT_OPTIONS };
  if (input.productFamilies !== undefined) {
    o.productFamilies = stringList(
      'productFamilies',
      input.productFamilies,
      FAMILY,
      'product families such as "all", "infra_hosts" or "logs" (lower-case letters, digits, "_")',
    );
  }
  o.includeDescendants = bool('includeDescendants', input.includeDescendants, o.includeDescendants);
  o.includeConnectedAccounts = bool('includeConnectedAccounts', input.includeConnectedAccounts, false);
  if (input.pageSize !== undefined) {
    if (!Number.isInteger(input.pageSize) || input.pageSize < 1 || input.pageSize > 500) {
      throw new InputError(
        'pageSize',
        `expected an integer from 1 to 500, got ${JSON.stringify(input.pageSize)}`,
      );
    }
    o.pageSize = input.pageSize;
  }
  if (input.fields !== undefined) {
    if (typeof input.fields !== 'string' || !FIELDS.test(input.fields)) {
      throw new InputError(
        'fields',
        'expected "*" or a comma-separated list of field names such as infra_host_total_cost',
      );
    }
    o.fields = input.fields;
  }
  if (input.tagBreakdownKeys !== undefined) {
    o.tagBreakdownKeys = stringList(
      'tagBreakdownKeys',
      input.tagBreakdownKeys,
      TAG_KEY,
      'tag keys such as "team"',
    );
  }
  if (input.sortDirection !== undefined) {
    if (input.sortDirection !== 'asc' && input.sortDirection !== 'desc') {
      throw new InputError('sortDirection', 'expected "asc" or "desc"');
    }
    o.sortDirection = input.sortDirection;
  }
  if (input.sortName !== undefined) {
    if (typeof input.sortName !== 'string' || !FAMILY.test(input.sortName)) {
      throw new InputError('sortName', 'expected a billing dimension such as infra_host');
    }
    o.sortName = input.sortName;
  }
  return o;
}

function parseCategories(value: unknown, ctx: PlanContext): CategoryName[] {
  if (value === undefined) return [...(ctx.defaultCategories ?? ctx.enabledCategories)];
  if (value === 'all' || (Array.isArray(value) && value.length === 1 && value[0] === 'all')) {
    return [...ctx.enabledCategories];
  }
  const accepted = `one of ${CATEGORY_NAMES.join(', ')}, or "all"`;
  if (!Array.isArray(value) || value.length === 0)
    throw new InputError('categories', `expected a list of ${accepted}`);
  const out: CategoryName[] = [];
  value.forEach((c, i) => {
    if (!isCategoryName(c))
      throw new InputError(`categories[${i}]`, `${JSON.stringify(c)} is not ${accepted}`);
    if (!ctx.enabledCategories.includes(c)) {
      throw new InputError(`categories[${i}]`, `"${c}" is not enabled in this deployment`);
    }
    if (!out.includes(c)) out.push(c);
  });
  return out;
}

/**
 * The accounts to run, in input order. A name given twice is run once (as a category named twice
 * is): running it twice would request and write the same windows from two branches.
 */
function parseAccounts(value: unknown, ctx: PlanContext): AccountConfig[] {
  const names = ctx.accounts.map((a) => a.name);
  if (value === undefined) return [...ctx.accounts];
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new InputError('account', 'expected an account name');
  if (list.length > MAX_LIST)
    throw new InputError('account', `has ${list.length} entries; at most ${MAX_LIST}`);
  const out: AccountConfig[] = [];
  list.forEach((name, i) => {
    const field = Array.isArray(value) ? `account[${i}]` : 'account';
    if (typeof name !== 'string' || !ACCOUNT_NAME_PATTERN.test(name)) {
      throw new InputError(
        field,
        `${JSON.stringify(name)} is not a valid account name (${ACCOUNT_NAME_FORM})`,
      );
    }
    const account = ctx.accounts.find((a) => a.name === name);
    if (!account)
      throw new InputError(field, `"${name}" is not a configured account; configured: ${names.join(', ')}`);
    if (!out.includes(account)) out.push(account);
  });
  return out;
}

/** The requested range: explicit `start`/`end`, or `lookback` back from `asOf` (default now). */
function parseRange(input: RunInput, now: Date): { start: Date; end: Date; relative: boolean } {
  if (input.start !== undefined || input.end !== undefined) {
    if (input.lookback !== undefined)
      throw new InputError('lookback', 'give either start/end or lookback, not both');
    if (input.asOf !== undefined) {
      throw new InputError(
        'asOf',
        'goes only with lookback, the schedule form {"lookback": "P3D", "asOf": "<time>"}; leave it out with start/end',
      );
    }
    if (input.start === undefined)
      throw new InputError('start', `required when end is given (${TIME_FORMS})`);
    const start = parseTime('start', input.start);
    const end = input.end === undefined ? now : parseTime('end', input.end);
    if (end.getTime() <= start.getTime()) {
      throw new InputError(
        'end',
        `${input.end ?? 'now'} is not after start ${input.start}; end is exclusive`,
      );
    }
    return { start, end, relative: false };
  }
  const asOf = input.asOf === undefined ? now : parseTime('asOf', input.asOf);
  const lookback = parseLookback('lookback', input.lookback ?? DEFAULT_LOOKBACK);
  return { start: new Date(asOf.getTime() - lookback), end: asOf, relative: true };
}

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

/** Validates the input and plans the work items: one per (account, category, window). */
export function planRun(raw: unknown, ctx: PlanContext): Plan {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError('input', 'expected a JSON object');
  }
  for (const key of Object.keys(raw)) {
    if (!(INPUT_FIELDS as readonly string[]).includes(key)) {
      throw new InputError(key, `is not an input field; accepted: ${INPUT_FIELDS.join(', ')}`);
    }
  }
  const input = raw as RunInput;
  const accounts = parseAccounts(input.account, ctx);
  const categories = parseCategories(input.categories, ctx);
  const options = parseOptions(input);
  const range = parseRange(input, ctx.now);

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
