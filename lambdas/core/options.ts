import * as z from 'zod/mini';
import { InputError } from '../shared/errors.ts';
import { list, parseWith, show } from '../shared/schema.ts';

/** Entries in a list an input gives (product families, tag keys, accounts). */
export const MAX_LIST = 100;

const FAMILY = /^[a-z0-9_]{1,64}$/;
const TAG_KEY = /^[A-Za-z0-9_.:/-]{1,200}$/;
const FIELDS = /^(\*|[a-z0-9_]{1,100}(,[a-z0-9_]{1,100}){0,199})$/;

/** A list of strings of one shape; entries are named `field[i]`. */
function names(pattern: RegExp, form: string, min = 1) {
  const entry = z.string({ error: (iss) => `${show(iss.input)} is not ${form}` }).check(z.regex(pattern));
  return list(entry, { notAList: `expected a non-empty list of ${form}`, max: MAX_LIST, min });
}

const TAG_KEYS_FORM = 'tag keys such as "team"';

const flag = () => z.boolean({ error: (iss) => `expected true or false, got ${show(iss.input)}` });

/**
 * The per-run options, as the execution input carries them (beside its other fields) and each work
 * item carries them (as `options`). Every category reads the ones that apply to it; an option left
 * out takes its default.
 */
export const OPTION_FIELDS = {
  /** hourly_usage `filter[product_families]`: validated by shape, as Datadog adds families often. */
  productFamilies: z._default(
    names(
      FAMILY,
      'product families such as "all", "infra_hosts" or "logs" (lower-case letters, digits, "_")',
    ),
    () => ['all'],
  ),
  includeDescendants: z._default(flag(), true),
  includeConnectedAccounts: z._default(flag(), false),
  /** hourly_usage `page[limit]`, 1..500. */
  pageSize: z._default(
    z
      .int({ error: (iss) => `expected an integer from 1 to 500, got ${show(iss.input)}` })
      .check(z.minimum(1), z.maximum(500)),
    500,
  ),
  /** cost_attribution / usage_attribution `fields`. */
  fields: z._default(
    z
      .string({
        error: 'expected "*" or a comma-separated list of field names such as infra_host_total_cost',
      })
      .check(z.regex(FIELDS)),
    '*',
  ),
  tagBreakdownKeys: z._default(names(TAG_KEY, TAG_KEYS_FORM), () => []),
  sortDirection: z.optional(z.enum(['asc', 'desc'], { error: 'expected "asc" or "desc"' })),
  sortName: z.optional(
    z.string({ error: 'expected a billing dimension such as infra_host' }).check(z.regex(FAMILY)),
  ),
};

/** The options alone; other fields are ignored. */
export const OptionsSchema = z.object(OPTION_FIELDS, { error: 'expected an object of options' });

/** Per-run options. Every category reads the ones that apply to it. */
export type CategoryOptions = z.output<typeof OptionsSchema>;

/**
 * The options as the plan makes them, which a work item carries: the input's rules, but the tag
 * list may be empty, as its default is.
 */
export const PlannedOptionsSchema = z.extend(OptionsSchema, {
  tagBreakdownKeys: z._default(names(TAG_KEY, TAG_KEYS_FORM, 0), () => []),
});

export const DEFAULT_OPTIONS: CategoryOptions = z.parse(OptionsSchema, {});

/**
 * The options of an execution input (its other fields are ignored), defaults filled in. Throws an
 * InputError naming the field.
 */
export function parseOptions(input: unknown): CategoryOptions {
  return parseWith(OptionsSchema, input, 'input', (field, message) => new InputError(field, message));
}
