import * as z from 'zod/mini';
import { CATEGORY_NAMES, type CategoryName } from '../categories.ts';
import { ACCOUNT_NAME_FORM, ACCOUNT_NAME_PATTERN, type AccountConfig } from '../shared/config.ts';
import { InputError } from '../shared/errors.ts';
import { list, parseWith, show } from '../shared/schema.ts';
import { type CategoryOptions, MAX_LIST, OPTION_FIELDS } from './options.ts';
import { LookbackText, lookbackMs, TIME_FORMS, TimeText, timeOf } from './windows.ts';

export const DEFAULT_LOOKBACK = 'P3D';

const accountName = z
  .string({ error: (iss) => `${show(iss.input)} is not a valid account name (${ACCOUNT_NAME_FORM})` })
  .check(z.regex(ACCOUNT_NAME_PATTERN));

const CATEGORY_FORM = `one of ${CATEGORY_NAMES.join(', ')}, or "all"`;
const categoryList = z
  .array(z.enum(CATEGORY_NAMES, { error: (iss) => `${show(iss.input)} is not ${CATEGORY_FORM}` }), {
    error: `expected a list of ${CATEGORY_FORM}`,
  })
  .check(z.minLength(1, { error: `expected a list of ${CATEGORY_FORM}` }));

const RUN_INPUT_FIELDS = {
  /** One account name or a list of them; left out, every configured account. */
  account: z.optional(
    z.union([list(accountName, { notAList: 'expected an account name', max: MAX_LIST }), accountName]),
  ),
  /** Category names, or `"all"` (`["all"]` too); left out, the deployment's defaults. */
  categories: z.optional(z.union([z.literal('all'), z.tuple([z.literal('all')]), categoryList])),
  /** Inclusive, in one of the {@link TIME_FORMS}. */
  start: z.optional(TimeText),
  /** Exclusive; left out, now. */
  end: z.optional(TimeText),
  /** Instead of a range (schedules): how far back from `asOf`. `null` is the default, as it always was. */
  lookback: z.optional(z.nullable(LookbackText)),
  /** The end of a lookback (the scheduled time); left out, now. */
  asOf: z.optional(TimeText),
  ...OPTION_FIELDS,
};

/**
 * The state machine's input (manual runs; schedules send `lookback` and `asOf` instead of a range),
 * with the per-run options beside its fields. Unknown fields are refused.
 */
export const RunInputSchema = z
  .strictObject(RUN_INPUT_FIELDS, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `is not an input field; accepted: ${Object.keys(RUN_INPUT_FIELDS).join(', ')}`
        : 'expected a JSON object',
  })
  .check(
    z.superRefine((input, ctx) => {
      if (input.start === undefined && input.end === undefined) return;
      const problem = (field: string, message: string) =>
        ctx.addIssue({ code: 'custom', path: [field], message, input });
      if (input.lookback !== undefined) problem('lookback', 'give either start/end or lookback, not both');
      else if (input.asOf !== undefined) {
        problem(
          'asOf',
          'goes only with lookback, the schedule form {"lookback": "P3D", "asOf": "<time>"}; leave it out with start/end',
        );
      } else if (input.start === undefined) problem('start', `required when end is given (${TIME_FORMS})`);
    }),
  );

/** An execution input as a caller writes it. */
export type RunInput = z.input<typeof RunInputSchema>;

/** What reading an input needs from the deployment and the clock. */
export interface RunInputContext {
  now: Date;
  accounts: readonly AccountConfig[];
  enabledCategories: readonly CategoryName[];
  /** Categories planned when the input names none (default: every enabled one). */
  defaultCategories?: readonly CategoryName[];
}

/** An input read against its deployment: what the planner plans. */
export interface RunRequest {
  accounts: AccountConfig[];
  categories: CategoryName[];
  options: CategoryOptions;
  /** `[start, end)`; `relative` for a lookback (monthly categories then take the previous month too). */
  range: { start: Date; end: Date; relative: boolean };
}

/**
 * Validates an execution input and resolves it against the deployment: the accounts and categories
 * it names (each once, in input order), the options with their defaults, and the range. Pure; throws
 * an InputError naming the field and the accepted form. The Plan function, the CLI and backfill all
 * read an input with it.
 */
export function parseRunInput(raw: unknown, ctx: RunInputContext): RunRequest {
  const { account, categories, start, end, lookback, asOf, ...options } = parseWith(
    RunInputSchema,
    raw,
    'input',
    (field, message) => new InputError(field, message),
  );
  return {
    accounts: configuredAccounts(account, ctx.accounts),
    categories: enabledCategories(categories, ctx),
    options,
    range: rangeOf({ start, end, lookback, asOf }, ctx.now),
  };
}

/**
 * The accounts to run, in input order. A name given twice is run once (as a category named twice
 * is): running it twice would request and write the same windows from two branches.
 */
function configuredAccounts(value: string | string[] | undefined, accounts: readonly AccountConfig[]) {
  if (value === undefined) return [...accounts];
  const out: AccountConfig[] = [];
  for (const [i, name] of (Array.isArray(value) ? value : [value]).entries()) {
    const account = accounts.find((a) => a.name === name);
    if (!account) {
      const configured = accounts.map((a) => a.name).join(', ');
      throw new InputError(
        Array.isArray(value) ? `account[${i}]` : 'account',
        `"${name}" is not a configured account; configured: ${configured}`,
      );
    }
    if (!out.includes(account)) out.push(account);
  }
  return out;
}

function enabledCategories(value: RunInput['categories'], ctx: RunInputContext): CategoryName[] {
  if (value === undefined) return [...(ctx.defaultCategories ?? ctx.enabledCategories)];
  if (isAll(value)) return [...ctx.enabledCategories];
  const out: CategoryName[] = [];
  for (const [i, c] of value.entries()) {
    if (!ctx.enabledCategories.includes(c)) {
      throw new InputError(`categories[${i}]`, `"${c}" is not enabled in this deployment`);
    }
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

const isAll = (value: RunInput['categories']): value is 'all' | ['all'] =>
  value === 'all' || (Array.isArray(value) && value[0] === 'all');

/** The requested range: explicit `start`/`end`, or `lookback` back from `asOf` (default now). */
function rangeOf(
  input: { start?: string; end?: string; lookback?: string | null; asOf?: string },
  now: Date,
): RunRequest['range'] {
  // The schema gives `start` whenever a range is given at all.
  if (input.start !== undefined) {
    const start = timeOf(input.start);
    const end = input.end === undefined ? now : timeOf(input.end);
    if (end.getTime() <= start.getTime()) {
      throw new InputError(
        'end',
        `${input.end ?? 'now'} is not after start ${input.start}; end is exclusive`,
      );
    }
    return { start, end, relative: false };
  }
  const asOf = input.asOf === undefined ? now : timeOf(input.asOf);
  const lookback = lookbackMs(input.lookback ?? DEFAULT_LOOKBACK);
  return { start: new Date(asOf.getTime() - lookback), end: asOf, relative: true };
}
