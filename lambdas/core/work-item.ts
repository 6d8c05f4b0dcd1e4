import type { CategoryName, CategoryOptions } from '../categories.ts';
import type { RateLimitState } from '../shared/datadog-client.ts';
import type { CommitOutcome } from './commit.ts';

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
  /** `pending` before the first call; `more` to call again now; `wait` to wait `waitSeconds` first. */
  status: 'pending' | 'more' | 'wait' | 'done';
  waitSeconds: number;
  /** Rate-limit waits handed to the state machine so far. */
  waits: number;
  invocations: number;
  retries: number;
  throttles: number;
  /** False while Datadog may still restate the window (late usage, month not closed); set when done. */
  final: boolean;
  /** When the window's first invocation began; `''` before it. */
  startedAt: string;
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
  waitSeconds: 0,
  waits: 0,
  invocations: 0,
  retries: 0,
  throttles: 0,
  final: false,
  startedAt: '',
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
