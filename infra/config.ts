import { readFileSync } from 'node:fs';
import { CATEGORY_NAMES, type CategoryName, isCategoryName } from '../lambdas/categories.ts';
import { MAX_LOOKBACK_DAYS, parseLookback } from '../lambdas/core/windows.ts';
import {
  type AccountConfig,
  isSafePrefix,
  parseAccounts,
  prefixLengthProblem,
} from '../lambdas/shared/config.ts';

/** The daily run: EventBridge Scheduler starts the state machine with a relative input. */
export interface ScheduleSettings {
  enabled: boolean;
  /** EventBridge Scheduler expression, e.g. `cron(30 6 * * ? *)`. */
  expression: string;
  timezone: string;
  /** How far back hourly usage goes (late data): at least P3D. */
  lookback: string;
  /** `all`: one schedule for all accounts; `per-account`: one schedule per account. */
  mode: 'all' | 'per-account';
  /** Categories the schedule fetches (default: all enabled). */
  categories: CategoryName[];
}

/** The `datadog-usage-lake` object of the cdk.json context, validated. */
export interface LakeSettings {
  /** The CloudFormation stack; every explicit physical name derives from it (infra/names.ts). */
  stackName: string;
  accounts: AccountConfig[];
  /** An existing bucket to write to; a new, locked-down bucket is created when absent. */
  bucketName?: string;
  prefix: string;
  categories: CategoryName[];
  mapConcurrency: number;
  windowConcurrency: number;
  schedule: ScheduleSettings;
  /** Alarms notify this address through SNS (the subscription must be confirmed). */
  alarmEmail?: string;
  logRetentionDays: number;
}

export const CONTEXT_KEY = 'datadog-usage-lake';

export const DEFAULT_STACK_NAME = 'DatadogUsageLake';

export const DEFAULT_SETTINGS: LakeSettings = {
  stackName: DEFAULT_STACK_NAME,
  accounts: [{ name: 'main', secretName: 'datadog-usage-lake/main', site: 'datadoghq.com' }],
  prefix: 'datadog',
  categories: [...CATEGORY_NAMES],
  mapConcurrency: 4,
  windowConcurrency: 2,
  schedule: {
    enabled: true,
    expression: 'cron(30 6 * * ? *)',
    timezone: 'UTC',
    lookback: 'P3D',
    mode: 'all',
    categories: [...CATEGORY_NAMES],
  },
  logRetentionDays: 30,
};

const fail = (name: string, message: string): never => {
  throw new Error(`cdk.json context ${CONTEXT_KEY}.${name} ${message}`);
};

function int(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(name, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function categoryList(value: unknown, name: string, fallback: CategoryName[]): CategoryName[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0 || !value.every(isCategoryName)) {
    return fail(name, `must list categories among ${CATEGORY_NAMES.join(', ')}`);
  }
  return [...new Set(value)];
}

const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const SCHEDULE_EXPRESSION = /^(cron\([^)]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/;
/** CloudFormation's stack name rule, capped so the names derived from it stay within every service's limit. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,47}$/;
const KNOWN = [
  'stackName',
  'accounts',
  'bucketName',
  'prefix',
  'categories',
  'mapConcurrency',
  'windowConcurrency',
  'schedule',
  'alarmEmail',
  'logRetentionDays',
];

function parseSchedule(raw: unknown, categories: CategoryName[]): ScheduleSettings {
  const d = DEFAULT_SETTINGS.schedule;
  if (raw === undefined) return { ...d, categories };
  if (raw === null || typeof raw !== 'object') return fail('schedule', 'must be an object');
  const r = raw as Record<string, unknown>;
  const enabled = r.enabled ?? d.enabled;
  if (typeof enabled !== 'boolean') fail('schedule.enabled', 'must be true or false');
  const expression = r.expression ?? d.expression;
  if (typeof expression !== 'string' || !SCHEDULE_EXPRESSION.test(expression)) {
    fail('schedule.expression', 'must be an EventBridge Scheduler cron(...) or rate(...) expression');
  }
  const timezone = r.timezone ?? d.timezone;
  if (typeof timezone !== 'string' || !/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(timezone)) {
    fail('schedule.timezone', 'must be an IANA time zone such as UTC or Europe/Paris');
  }
  const lookback = r.lookback ?? d.lookback;
  let lookbackMs = 0;
  try {
    lookbackMs = parseLookback('lookback', lookback);
  } catch {
    fail(
      'schedule.lookback',
      `must be an ISO 8601 duration in days or hours such as P3D, at most P${MAX_LOOKBACK_DAYS}D`,
    );
  }
  if (lookbackMs < 72 * 3_600_000)
    fail('schedule.lookback', 'must be at least P3D: Datadog publishes usage up to 72 h late');
  const mode = r.mode ?? d.mode;
  if (mode !== 'all' && mode !== 'per-account') fail('schedule.mode', 'must be "all" or "per-account"');
  const scheduled = categoryList(r.categories, 'schedule.categories', categories);
  for (const c of scheduled)
    if (!categories.includes(c)) fail('schedule.categories', `names "${c}", which is not enabled`);
  return {
    enabled: enabled as boolean,
    expression: expression as string,
    timezone: timezone as string,
    lookback: lookback as string,
    mode: mode as ScheduleSettings['mode'],
    categories: scheduled,
  };
}

export function parseSettings(raw: unknown): LakeSettings {
  if (raw === undefined) return DEFAULT_SETTINGS;
  if (raw === null || typeof raw !== 'object') return fail('', 'must be an object');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r))
    if (!KNOWN.includes(key)) fail(key, `is not a setting; known: ${KNOWN.join(', ')}`);
  const stackName = r.stackName ?? DEFAULT_SETTINGS.stackName;
  if (typeof stackName !== 'string' || !STACK_NAME.test(stackName))
    fail(
      'stackName',
      'must be a CloudFormation stack name: a letter, then letters, digits and hyphens, at most 48',
    );
  const prefix = r.prefix ?? DEFAULT_SETTINGS.prefix;
  if (typeof prefix !== 'string' || !isSafePrefix(prefix))
    fail('prefix', 'must be a safe S3 prefix such as "datadog"');
  const tooLong = prefixLengthProblem(prefix as string);
  if (tooLong) fail('prefix', tooLong);
  const categories = categoryList(r.categories, 'categories', DEFAULT_SETTINGS.categories);
  if (r.bucketName !== undefined && (typeof r.bucketName !== 'string' || !BUCKET_NAME.test(r.bucketName))) {
    fail('bucketName', 'must be an S3 bucket name');
  }
  if (r.alarmEmail !== undefined && (typeof r.alarmEmail !== 'string' || !EMAIL.test(r.alarmEmail))) {
    fail('alarmEmail', 'must be an e-mail address');
  }
  const logRetentionDays = int(
    r.logRetentionDays,
    'logRetentionDays',
    1,
    3653,
    DEFAULT_SETTINGS.logRetentionDays,
  );
  if (!RETENTION_DAYS.includes(logRetentionDays))
    fail('logRetentionDays', `must be one of ${RETENTION_DAYS.join(', ')}`);
  return {
    stackName: stackName as string,
    accounts:
      r.accounts === undefined
        ? DEFAULT_SETTINGS.accounts
        : parseAccounts(JSON.stringify(r.accounts), `cdk.json context ${CONTEXT_KEY}.accounts`),
    ...(r.bucketName === undefined ? {} : { bucketName: r.bucketName as string }),
    prefix: prefix as string,
    categories,
    mapConcurrency: int(r.mapConcurrency, 'mapConcurrency', 1, 1000, DEFAULT_SETTINGS.mapConcurrency),
    windowConcurrency: int(
      r.windowConcurrency,
      'windowConcurrency',
      1,
      40,
      DEFAULT_SETTINGS.windowConcurrency,
    ),
    schedule: parseSchedule(r.schedule, categories),
    ...(r.alarmEmail === undefined ? {} : { alarmEmail: r.alarmEmail as string }),
    logRetentionDays,
  };
}

/** The settings in the repository's cdk.json: what `cdk deploy` would use. */
export function loadCdkJsonSettings(file = new URL('../cdk.json', import.meta.url)): LakeSettings {
  const cdkJson = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return parseSettings(cdkJson.context?.[CONTEXT_KEY]);
}
