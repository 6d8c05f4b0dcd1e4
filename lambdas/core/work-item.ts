import * as z from 'zod/mini';
import { CATEGORIES, type CategoryName } from '../categories.ts';
import type { AccountConfig } from '../shared/config.ts';
import type { RateLimitState } from '../shared/datadog-client.ts';
import { InputError } from '../shared/errors.ts';
import { orDefault, parseWith, show } from '../shared/schema.ts';
import type { CommitOutcome } from './commit.ts';
import { PlannedOptionsSchema } from './options.ts';
import { MAX_WINDOWS_PER_GROUP } from './plan.ts';
import { MAX_YEAR, MIN_YEAR, nthWindowStart, windowOf } from './windows.ts';

/** Longest cursor a work item may carry (Datadog's are record ids, far shorter). */
export const MAX_CURSOR_LENGTH = 1_024;

const count = () =>
  z
    .int({ error: (iss) => `expected a count: an integer from 0, got ${show(iss.input)}` })
    .check(z.minimum(0));
const isIso = (v: string) => !Number.isNaN(Date.parse(v));
const STATUSES = ['pending', 'more', 'wait', 'done'] as const;
const OUTCOMES = ['', 'committed', 'superseded'] as const satisfies ReadonlyArray<'' | CommitOutcome>;
const notConfigured = (account: unknown) => `${show(account)} is not a configured account`;

/**
 * One window of one category of one account, as it flows through the state machine's loop, as a
 * fetch function of `category` takes it. Small on purpose (payloads are capped at 256 KiB): counts
 * and a cursor, never records. No field is ever null: CDK drops nulls from state parameters, so "no
 * cursor" is `''`. Unknown fields are dropped.
 */
function workItemSchema(category: CategoryName) {
  return z.object(
    {
      runId: z.string({ error: 'expected the run id (the execution name)' }),
      executionId: z.string({ error: 'expected the execution id' }),
      /** When the execution started (ISO): with `attempt`, orders fetches of a window, newest wins. */
      executionStart: z
        .string({ error: 'expected the execution start time (ISO 8601)' })
        .check(z.refine(isIso)),
      /** The (child) execution's redrive count: a redriven window starts a fresh fetch. */
      attempt: z
        .int({ error: "expected the execution's redrive count, 0 to 9999" })
        .check(z.minimum(0), z.maximum(9_999)),
      /** A configured account (checked by {@link parseWorkItem}, which knows them). */
      account: z.string({ error: (iss) => notConfigured(iss.input) }),
      category: z.literal(category, {
        error: (iss) => `this function fetches ${category}, not ${show(iss.input)}`,
      }),
      /** Start of the first window of the item's group (ISO, UTC). */
      groupStart: z
        .string({ error: (iss) => `${show(iss.input)} is not the start of a ${category} window` })
        .check(z.refine(isIso)),
      /** Position of the window in its group: the window is `index` windows after `groupStart`. */
      index: z
        .int({ error: `expected a window index from 0 to ${MAX_WINDOWS_PER_GROUP - 1}` })
        .check(z.minimum(0), z.maximum(MAX_WINDOWS_PER_GROUP - 1)),
      /** Start of the window (ISO, UTC), derived from `groupStart` and `index`; `''` before the first call. */
      windowStart: z
        .string({ error: "expected '' or the window's start (ISO 8601)" })
        .check(z.refine((v) => v === '' || isIso(v))),
      /** Checked with the plan's own rules; none given, the defaults (as the plan would make them). */
      options: orDefault(PlannedOptionsSchema, {}),
      /** Cursor for the next page; `''` before the first page. */
      cursor: z
        .string({ error: `expected a cursor string of at most ${MAX_CURSOR_LENGTH} characters` })
        .check(z.maxLength(MAX_CURSOR_LENGTH)),
      /** Pages written so far for this window by this fetch: also the number of the next part. */
      pagesWritten: count(),
      records: count(),
      bytes: count(),
      /** `pending` before the first call; `more` to call again now; `wait` to wait until `waitUntil` first. */
      status: z.enum(STATUSES, { error: `expected one of ${STATUSES.join(', ')}` }),
      /** When the rate limit's window ends (ISO); '' unless `status` is `wait`. The Wait state waits until then. */
      waitUntil: z
        .string({ error: "expected '' or the time the rate limit's window ends (ISO 8601)" })
        .check(z.refine((v) => v === '' || isIso(v))),
      /** How long that is from the invocation's end, in seconds (progress lines). */
      waitSeconds: z.number({ error: 'expected seconds to wait: a number from 0' }).check(z.minimum(0)),
      /** Rate-limit waits handed to the state machine so far. */
      waits: count(),
      /** Waits in a row without a page landing: too many is RateLimitedError. */
      stalls: count(),
      /** Invocations in all executions. */
      invocations: count(),
      /** The execution looping over the window now (`$$.Execution.Id`); '' before the first call. */
      execution: z
        .string({ error: 'expected the id of the execution looping over the window, or ""' })
        .check(z.maxLength(2_048)),
      /** Invocations in that execution: at `budget`, the window moves on to a fresh execution. */
      invocationsHere: count(),
      /** Invocations that execution may make for the window (from the definition; see infra/history-budget.ts). */
      budget: count(),
      retries: count(),
      throttles: count(),
      /** False while Datadog may still restate the window (late usage, month not closed); set when done. */
      final: z.boolean({ error: 'expected true or false' }),
      /** When the window's first invocation began; `''` before it. */
      startedAt: z
        .string({ error: "expected '' or the time the window's fetch began (ISO 8601)" })
        .check(z.refine((v) => v === '' || isIso(v))),
      /** How far into the window the last page reached, 0 to 1, where the category tells (progress estimates). */
      position: z
        .number({ error: 'expected how far into the window the last page reached, 0 to 1' })
        .check(z.minimum(0), z.maximum(1)),
      /** Set when done: `committed` (readers see this fetch) or `superseded` (a newer fetch is committed). */
      outcome: z.enum(OUTCOMES, { error: `expected one of '', ${OUTCOMES.slice(1).join(', ')}` }),
      rateLimit: z.optional(z.custom<RateLimitState>()),
    },
    { error: 'expected a work item object' },
  );
}

export type WorkItem = z.output<ReturnType<typeof workItemSchema>>;

/**
 * A window's state before its first invocation: the state machine's window Map starts every item
 * from it (beside the run's and the window's identity), and so do tests and the benchmark.
 */
export const INITIAL_PROGRESS = {
  windowStart: '',
  cursor: '',
  pagesWritten: 0,
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

/** Built once per category (a fetch function fetches one). */
const schemas = new Map<CategoryName, ReturnType<typeof workItemSchema>>();

/**
 * A fetch function's input, checked with the plan's own rules before anything is fetched or written:
 * a work item can come from a direct invoke as well as from the state machine. Throws InputError
 * naming the field; returns the item with its options as the plan would have made them.
 */
export function parseWorkItem(
  raw: unknown,
  ctx: { category: CategoryName; accounts: readonly AccountConfig[]; now: Date },
): WorkItem {
  const schema = schemas.get(ctx.category) ?? workItemSchema(ctx.category);
  schemas.set(ctx.category, schema);
  const item = parseWith(schema, raw, 'item', (field, message) => new InputError(field, message));
  // What the schema cannot know: the deployment's accounts, and now.
  if (!ctx.accounts.some((a) => a.name === item.account)) {
    throw new InputError('account', notConfigured(item.account));
  }
  const kind = CATEGORIES[ctx.category].window;
  const groupStart = new Date(item.groupStart);
  if (windowOf(kind, groupStart).start !== groupStart.toISOString()) {
    throw new InputError(
      'groupStart',
      `${show(item.groupStart)} is not the start of a ${ctx.category} window`,
    );
  }
  const windowStart = nthWindowStart(kind, groupStart, item.index);
  const year = windowStart.getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR || windowStart.getTime() > ctx.now.getTime()) {
    throw new InputError(
      'groupStart',
      `window ${windowStart.toISOString()} is not one Datadog can have: years ${MIN_YEAR}–${MAX_YEAR}, not in the future`,
    );
  }
  return item;
}
