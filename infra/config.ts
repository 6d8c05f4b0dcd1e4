import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { CATEGORY_NAMES, type CategoryName, isCategoryName } from '../lambdas/categories.ts';
import { LookbackText, lookbackMs, MAX_LOOKBACK_DAYS } from '../lambdas/core/windows.ts';
import { AccountsSchema, prefixSchema } from '../lambdas/shared/config.ts';
import { ConfigError } from '../lambdas/shared/errors.ts';
import { orDefault, parseWith } from '../lambdas/shared/schema.ts';

export const CONTEXT_KEY = 'datadog-usage-lake';

export const DEFAULT_STACK_NAME = 'DatadogUsageLake';

const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const SCHEDULE_EXPRESSION = /^(cron\([^)]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/;
const TIMEZONE = /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/;
/** CloudFormation's stack name rule, capped so the names derived from it stay within every service's limit. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,47}$/;
/** Datadog publishes usage up to 72 h late: a shorter daily lookback would miss some. */
const MIN_SCHEDULE_LOOKBACK_MS = 72 * 3_600_000;

const int = (min: number, max: number) =>
  z.int({ error: `must be an integer from ${min} to ${max}` }).check(z.minimum(min), z.maximum(max));

/** Categories listed once each; any fault is reported for the list as a whole. */
const categoryList = () => {
  const message = `must list categories among ${CATEGORY_NAMES.join(', ')}`;
  return z.pipe(
    z.custom<CategoryName[]>((v) => Array.isArray(v) && v.length > 0 && v.every(isCategoryName), {
      error: message,
    }),
    z.transform((categories) => [...new Set(categories)]),
  );
};

/** The daily run: EventBridge Scheduler starts the state machine with a relative input. */
const SCHEDULE_FIELDS = {
  enabled: orDefault(z.boolean({ error: 'must be true or false' }), true),
  /** EventBridge Scheduler expression, e.g. `cron(30 6 * * ? *)`. */
  expression: orDefault(
    z
      .string({ error: 'must be an EventBridge Scheduler cron(...) or rate(...) expression' })
      .check(z.regex(SCHEDULE_EXPRESSION)),
    'cron(30 6 * * ? *)',
  ),
  timezone: orDefault(
    z.string({ error: 'must be an IANA time zone such as UTC or Europe/Paris' }).check(z.regex(TIMEZONE)),
    'UTC',
  ),
  /** How far back hourly usage goes (late data): at least P3D. */
  lookback: orDefault(
    z
      .string({
        error: `must be an ISO 8601 duration in days or hours such as P3D, at most P${MAX_LOOKBACK_DAYS}D`,
      })
      .check(
        z.refine((v) => z.safeParse(LookbackText, v).success, { abort: true }),
        z.refine((v) => lookbackMs(v) >= MIN_SCHEDULE_LOOKBACK_MS, {
          error: 'must be at least P3D: Datadog publishes usage up to 72 h late',
        }),
      ),
    'P3D',
  ),
  /** `all`: one schedule for all accounts; `per-account`: one schedule per account. */
  mode: orDefault(z.enum(['all', 'per-account'], { error: 'must be "all" or "per-account"' }), 'all'),
  /** Categories the schedule fetches (default: all enabled). */
  categories: z.optional(categoryList()),
};

const SETTINGS_FIELDS = {
  /** The CloudFormation stack; every explicit physical name derives from it (infra/names.ts). */
  stackName: orDefault(
    z
      .string({
        error: 'must be a CloudFormation stack name: a letter, then letters, digits and hyphens, at most 48',
      })
      .check(z.regex(STACK_NAME)),
    DEFAULT_STACK_NAME,
  ),
  accounts: z._default(AccountsSchema, () => [
    { name: 'main', secretName: 'datadog-usage-lake/main', site: 'datadoghq.com' as const },
  ]),
  /** An existing bucket to write to; a new, locked-down bucket is created when absent. */
  bucketName: z.optional(z.string({ error: 'must be an S3 bucket name' }).check(z.regex(BUCKET_NAME))),
  prefix: orDefault(prefixSchema('must be a safe S3 prefix such as "datadog"'), 'datadog'),
  categories: z._default(categoryList(), () => [...CATEGORY_NAMES]),
  mapConcurrency: z._default(int(1, 1000), 4),
  windowConcurrency: z._default(int(1, 40), 2),
  schedule: z.prefault(z.object(SCHEDULE_FIELDS, { error: 'must be an object' }), {}),
  /** Alarms notify this address through SNS (the subscription must be confirmed). */
  alarmEmail: z.optional(z.string({ error: 'must be an e-mail address' }).check(z.regex(EMAIL))),
  logRetentionDays: z._default(
    int(1, 3653).check(
      z.refine((days) => RETENTION_DAYS.includes(days), {
        error: `must be one of ${RETENTION_DAYS.join(', ')}`,
      }),
    ),
    30,
  ),
};

/** The `datadog-usage-lake` object of the cdk.json context. Unknown settings are refused. */
const SettingsSchema = z.pipe(
  z
    .strictObject(SETTINGS_FIELDS, {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `is not a setting; known: ${Object.keys(SETTINGS_FIELDS).join(', ')}`
          : 'must be an object',
    })
    .check(
      z.superRefine((settings, ctx) => {
        for (const c of settings.schedule.categories ?? []) {
          if (!settings.categories.includes(c)) {
            const message = `names "${c}", which is not enabled`;
            ctx.addIssue({ code: 'custom', path: ['schedule', 'categories'], message, input: c });
            return;
          }
        }
      }),
    ),
  // The schedule defaults to every enabled category.
  z.transform((settings) => ({
    ...settings,
    schedule: { ...settings.schedule, categories: settings.schedule.categories ?? settings.categories },
  })),
);

/** The `datadog-usage-lake` object of the cdk.json context, validated. */
export type LakeSettings = z.output<typeof SettingsSchema>;
export type ScheduleSettings = LakeSettings['schedule'];

export const DEFAULT_SETTINGS: LakeSettings = z.parse(SettingsSchema, {});

/**
 * The settings, defaults filled in, or a ConfigError naming the setting (`cdk.json context
 * datadog-usage-lake.schedule.lookback must be ...`).
 */
export function parseSettings(raw: unknown): LakeSettings {
  if (raw === undefined) return DEFAULT_SETTINGS;
  return parseWith(
    SettingsSchema,
    raw,
    '',
    (field, message) => new ConfigError(`cdk.json context ${CONTEXT_KEY}.${field} ${message}`),
  );
}

/** The settings in the repository's cdk.json: what `cdk deploy` would use. */
export function loadCdkJsonSettings(file = new URL('../cdk.json', import.meta.url)): LakeSettings {
  const cdkJson = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return parseSettings(cdkJson.context?.[CONTEXT_KEY]);
}
