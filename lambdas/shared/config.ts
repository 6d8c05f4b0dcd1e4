import { CATEGORY_NAMES, type CategoryName, isCategoryName } from '../categories.ts';
import { ConfigError } from './errors.ts';
import { type DatadogSite, isDatadogSite } from './sites.ts';

/** A configured Datadog account: its name in S3 partitions, its secret, its site. */
export interface AccountConfig {
  name: string;
  secretName: string;
  site: DatadogSite;
}

/** Account names become S3 partition values: lower-case letters, digits, `-` and `_`. */
export const ACCOUNT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const ACCOUNT_NAME_FORM =
  '1 to 63 lower-case letters, digits, "-" or "_", starting with a letter or digit';

/** S3 prefix: segments of letters, digits, `.`, `_`, `-` separated by `/`; no `..`, no leading `/`. */
export const PREFIX_PATTERN = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*)(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export function isSafePrefix(prefix: string): boolean {
  return (
    prefix === '' || (PREFIX_PATTERN.test(prefix) && !prefix.split('/').some((s) => s === '..' || s === '.'))
  );
}

export interface LambdaConfig {
  bucket: string;
  prefix: string;
  accounts: AccountConfig[];
  enabledCategories: CategoryName[];
  /** Fetches the state machine runs at once (map × window concurrency): they share Datadog's rate limit. */
  concurrentFetches: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`environment variable ${name} must be a positive integer`);
  return n;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`environment variable ${name} is not set`);
  return value;
}

export function parseAccounts(json: string, source: string): AccountConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigError(`${source} is not valid JSON`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError(`${source} must be a non-empty array of {name, secretName, site}`);
  }
  const names = new Set<string>();
  return parsed.map((entry, i) => {
    const e = entry as Partial<AccountConfig>;
    if (typeof e.name !== 'string' || !ACCOUNT_NAME_PATTERN.test(e.name)) {
      throw new ConfigError(`${source}[${i}].name must be ${ACCOUNT_NAME_FORM}`);
    }
    if (names.has(e.name)) throw new ConfigError(`${source}[${i}].name "${e.name}" is configured twice`);
    names.add(e.name);
    if (typeof e.secretName !== 'string' || e.secretName === '') {
      throw new ConfigError(`${source}[${i}].secretName must be the name of a Secrets Manager secret`);
    }
    if (!isDatadogSite(e.site))
      throw new ConfigError(`${source}[${i}].site must be one of the Datadog sites`);
    return { name: e.name, secretName: e.secretName, site: e.site };
  });
}

/** Read once at cold start; a missing or bad variable fails there, with its name. */
export function readLambdaConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const prefix = env.DATA_PREFIX ?? '';
  if (!isSafePrefix(prefix)) throw new ConfigError('DATA_PREFIX is not a safe S3 prefix');
  const enabled = (env.ENABLED_CATEGORIES ?? CATEGORY_NAMES.join(','))
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of enabled) {
    if (!isCategoryName(c)) throw new ConfigError(`ENABLED_CATEGORIES names an unknown category "${c}"`);
  }
  return {
    bucket: required(env, 'DATA_BUCKET'),
    prefix,
    accounts: parseAccounts(required(env, 'DD_ACCOUNTS'), 'DD_ACCOUNTS'),
    enabledCategories: enabled as CategoryName[],
    concurrentFetches: positiveInt(env, 'CONCURRENT_FETCHES', 1),
  };
}
