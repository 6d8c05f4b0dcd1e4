import { CATEGORIES, type CategoryName, type CategoryOptions } from '../categories.ts';
import type { AccountConfig } from '../shared/config.ts';
import type { RateLimitState } from '../shared/datadog-client.ts';
import { InputError } from '../shared/errors.ts';
import type { CommitOutcome } from './commit.ts';
import { MAX_WINDOWS_PER_GROUP, parseOptions } from './plan.ts';
import { MAX_YEAR, MIN_YEAR, nthWindowStart, windowOf } from './windows.ts';

/**
 * One window of one category of one account, as it flows through the state machine's loop.
 * Small on purpose (payloads are capped at 256 KiB): counts and a cursor, never records.
 * No field is ever null: CDK drops nulls from state parameters, so "no cursor" is `''`.
 */
export interface WorkItem {
  runId: string;
  executionId: string;
  /** When the execution started (ISO): with `attempt`, orders fetches of a window, newest wins. */
  executionStart: string;
  /** The (child) execution's redrive count: a redriven window starts a fresh fetch. */
  attempt: number;
  account: string;
  category: CategoryName;
  /** Start of the first window of the item's group (ISO, UTC). */
  groupStart: string;
  /** Position of the window in its group: the window is `index` windows after `groupStart`. */
  index: number;
  /** Start of the window (ISO, UTC), derived from `groupStart` and `index`; `''` before the first call. */
  windowStart: string;
  options: CategoryOptions;
  /** Cursor for the next page; `''` before the first page. */
  cursor: string;
  /** Next part number (= pages written so far for this window). */
  part: number;
  records: number;
  bytes: number;
  /** `pending` before the first call; `more` to call again now; `wait` to wait until `waitUntil` first. */
  status: 'pending' | 'more' | 'wait' | 'done';
  /** When the rate limit's window ends (ISO); '' unless `status` is `wait`. The Wait state waits until then. */
  waitUntil: string;
  /** How long that is from the invocation's end, in seconds (progress lines). */
  waitSeconds: number;
  /** Rate-limit waits handed to the state machine so far. */
  waits: number;
  /** Waits in a row without a page landing: too many is RateLimitedError. */
  stalls: number;
  /** Invocations in all executions. */
  invocations: number;
  /** The execution looping over the window now (`$$.Execution.Id`); '' before the first call. */
  execution: string;
  /** Invocations in that execution: at `budget`, the window moves on to a fresh execution. */
  invocationsHere: number;
  /** Invocations that execution may make for the window (from the definition; see infra/limits.ts). */
  budget: number;
  retries: number;
  throttles: number;
  /** False while Datadog may still restate the window (late usage, month not closed); set when done. */
  final: boolean;
  /** When the window's first invocation began; `''` before it. */
  startedAt: string;
  /** How far into the window the last page reached, 0 to 1, where the category tells (progress estimates). */
  position: number;
  /** Set when done: `committed` (readers see this fetch) or `superseded` (a newer fetch is committed). */
  outcome: '' | CommitOutcome;
  rateLimit?: RateLimitState;
}

/**
 * A window's state before its first invocation: the state machine's window Map starts every item
 * from it (beside the run's and the window's identity), and so do tests and the benchmark.
 */
export const INITIAL_PROGRESS = {
  windowStart: '',
  cursor: '',
  part: 0,
  records: 0,
  bytes: 0,
  status: 'pending',
  waitUntil: '',
  waitSeconds: 0,
  waits: 0,
  stalls: 0,
  invocations: 0,
  execution: '',
  invocationsHere: 0,
  budget: 0,
  retries: 0,
  throttles: 0,
  final: false,
  startedAt: '',
  position: 0,
  outcome: '',
} as const satisfies Partial<WorkItem>;

/** What the inner Map keeps of each window when it ends: counts, or the failure. Small on purpose. */
export interface WindowResult {
  index: number;
  status: 'done' | 'failed';
  pages: number;
  records: number;
  bytes: number;
  final: boolean;
  /** For a done window: whether its fetch is the one readers see, or a newer one was committed first. */
  outcome?: '' | CommitOutcome;
  error?: { Error: string; Cause: string };
}

/** Longest cursor a work item may carry (Datadog's are record ids, far shorter). */
export const MAX_CURSOR_LENGTH = 1_024;

const COUNTS = [
  'part',
  'records',
  'bytes',
  'waits',
  'stalls',
  'invocations',
  'invocationsHere',
  'budget',
  'retries',
  'throttles',
] as const;
const STATUSES: ReadonlyArray<WorkItem['status']> = ['pending', 'more', 'wait', 'done'];
const isIso = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/**
 * A fetch function's input, checked with the plan's own rules before anything is fetched or written:
 * a work item can come from a direct invoke as well as from the state machine. Throws InputError
 * naming the field; returns the item with its options as the plan would have made them.
 */
export function parseWorkItem(
  raw: unknown,
  ctx: { category: CategoryName; accounts: readonly AccountConfig[]; now: Date },
): WorkItem {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError('item', 'expected a work item object');
  }
  const item = raw as WorkItem;
  if (item.category !== ctx.category) {
    throw new InputError(
      'category',
      `this function fetches ${ctx.category}, not ${JSON.stringify(item.category)}`,
    );
  }
  if (!ctx.accounts.some((a) => a.name === item.account)) {
    throw new InputError('account', `${JSON.stringify(item.account)} is not a configured account`);
  }
  const kind = CATEGORIES[ctx.category].window;
  const start = new Date(item.groupStart);
  if (!isIso(item.groupStart) || windowOf(kind, start).start !== start.toISOString()) {
    throw new InputError(
      'groupStart',
      `${JSON.stringify(item.groupStart)} is not the start of a ${ctx.category} window`,
    );
  }
  if (!Number.isInteger(item.index) || item.index < 0 || item.index >= MAX_WINDOWS_PER_GROUP) {
    throw new InputError('index', `expected a window index from 0 to ${MAX_WINDOWS_PER_GROUP - 1}`);
  }
  const windowStart = nthWindowStart(kind, start, item.index);
  const year = windowStart.getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR || windowStart.getTime() > ctx.now.getTime()) {
    throw new InputError(
      'groupStart',
      `window ${windowStart.toISOString()} is not one Datadog can have: years ${MIN_YEAR}–${MAX_YEAR}, not in the future`,
    );
  }
  if (typeof item.cursor !== 'string' || item.cursor.length > MAX_CURSOR_LENGTH) {
    throw new InputError('cursor', `expected a cursor string of at most ${MAX_CURSOR_LENGTH} characters`);
  }
  for (const field of COUNTS) {
    const n = item[field];
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InputError(field, `expected a count: an integer from 0, got ${JSON.stringify(n)}`);
    }
  }
  if (!STATUSES.includes(item.status)) {
    throw new InputError('status', `expected one of ${STATUSES.join(', ')}`);
  }
  if (!isIso(item.executionStart)) {
    throw new InputError('executionStart', 'expected the execution start time (ISO 8601)');
  }
  if (!Number.isInteger(item.attempt) || item.attempt < 0 || item.attempt > 9_999) {
    throw new InputError('attempt', "expected the execution's redrive count, 0 to 9999");
  }
  if (typeof item.execution !== 'string' || item.execution.length > 2_048) {
    throw new InputError('execution', 'expected the id of the execution looping over the window, or ""');
  }
  if (item.waitUntil !== '' && !isIso(item.waitUntil)) {
    throw new InputError('waitUntil', "expected '' or the time the rate limit's window ends (ISO 8601)");
  }
  if (typeof item.position !== 'number' || !(item.position >= 0 && item.position <= 1)) {
    throw new InputError('position', 'expected how far into the window the last page reached, 0 to 1');
  }
  if (item.startedAt !== '' && !isIso(item.startedAt)) {
    throw new InputError('startedAt', "expected '' or the time the window's fetch began (ISO 8601)");
  }
  let options: CategoryOptions;
  try {
    // The plan writes "no tag breakdown" as an empty list, which the execution input may not say.
    const { tagBreakdownKeys, ...given } = (item.options ?? {}) as Parameters<typeof parseOptions>[0];
    const keys = Array.isArray(tagBreakdownKeys) && tagBreakdownKeys.length === 0 ? {} : { tagBreakdownKeys };
    options = parseOptions({ ...given, ...keys } as Parameters<typeof parseOptions>[0]);
  } catch (error) {
    if (error instanceof InputError) {
      throw new InputError(`options.${error.field}`, error.message.slice(error.field.length + 2));
    }
    throw error;
  }
  return { ...item, options };
}
