import { CATEGORY_NAMES, type CategoryName, isCategoryName } from '../categories.ts';
import {
  commitKey,
  groupFailureKey,
  groupResultsKey,
  manifestKey,
  partKey,
  runOutputKey,
} from '../core/layout.ts';
import { ConfigError } from './errors.ts';
import { type DatadogSite, isDatadogSite } from './sites.ts';

/** A configured Datadog account: its name in S3 partitions, its secret, its site. */
export interface AccountConfig {
  name: string;
  secretName: string;
  site: DatadogSite;
}

/** Account names become S3 partition values: lower-case letters, digits, `-` and `_`. */
export const MAX_ACCOUNT_NAME_LENGTH = 63;
export const ACCOUNT_NAME_PATTERN = new RegExp(`^[a-z0-9][a-z0-9_-]{0,${MAX_ACCOUNT_NAME_LENGTH - 1}}$`);
export const ACCOUNT_NAME_FORM = `1 to ${MAX_ACCOUNT_NAME_LENGTH} lower-case letters, digits, "-" or "_", starting with a letter or digit`;

/**
 * Accounts a deployment may configure, so a run of all of them keeps the Plan's output (its groups
 * and skipped runs grow with the accounts) under Step Functions' 256 KiB payload limit:
 * test/unit/scale.test.ts builds the largest plan these bounds allow and measures it.
 */
export const MAX_ACCOUNTS = 10;

/** S3 prefix: segments of letters, digits, `.`, `_`, `-` separated by `/`; no `..`, no leading `/`. */
export const PREFIX_PATTERN = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*)(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export function isSafePrefix(prefix: string): boolean {
  return (
    prefix === '' || (PREFIX_PATTERN.test(prefix) && !prefix.split('/').some((s) => s === '..' || s === '.'))
  );
}

/** S3's limit on a key: 1024 bytes of UTF-8. */
export const MAX_S3_KEY_BYTES = 1024;
/** Longest id of one fetch in an object's name (`part-NNNNNN.<fetchId>.json.gz`, `_manifest.<fetchId>.json`). */
export const MAX_FETCH_ID_LENGTH = 40;
/** Digits of a part number, generously: a window is capped far below a million pages. */
export const MAX_PART_DIGITS = 6;
/** Step Functions execution names, which become run ids, are at most 80 characters. */
export const MAX_RUN_ID_LENGTH = 80;

/**
 * The longest key a run writes after the prefix (from the `/` that follows it), in bytes, from the
 * longest account name and category and the key layout: parts and manifests of a window, its commit
 * record, and the run records under `_runs/`. Dates are counted as full ISO timestamps, to be generous.
 */
export const MAX_KEY_SUFFIX_BYTES = ((): number => {
  const account = 'a'.repeat(MAX_ACCOUNT_NAME_LENGTH);
  const category = CATEGORY_NAMES.reduce((a, b) => (b.length > a.length ? b : a));
  const fetchId = 'f'.repeat(MAX_FETCH_ID_LENGTH);
  // day=YYYY-MM-DD is longer than month=YYYY-MM
  const ref = { prefix: '', category, account, partition: 'day=YYYY-MM-DD' };
  const run = 'r'.repeat(MAX_RUN_ID_LENGTH);
  const group = { account, category, start: 'YYYY-MM-DDThh:mm:ss.sssZ' };
  const keys = [
    partKey(ref, fetchId, 10 ** MAX_PART_DIGITS - 1),
    manifestKey(ref, fetchId),
    commitKey(ref),
    groupResultsKey('', run, group),
    groupFailureKey('', run, group),
    runOutputKey('', run),
  ];
  // Each key follows the prefix and its "/".
  return 1 + Math.max(...keys.map((k) => Buffer.byteLength(k)));
})();

/**
 * The longest prefix, in characters (a prefix is ASCII): room for any folder path, well inside S3's
 * key limit once {@link MAX_KEY_SUFFIX_BYTES} is added, and short enough for the fetch functions'
 * descriptions (at most 256 characters) that quote it.
 */
export const MAX_PREFIX_LENGTH = Math.min(128, MAX_S3_KEY_BYTES - MAX_KEY_SUFFIX_BYTES);

/**
 * Why a safe prefix is too long for the keys a run writes, or undefined when it fits: checked where
 * the prefix comes in (CLI, settings, Lambda environment), before anything is written.
 */
export function prefixLengthProblem(prefix: string): string | undefined {
  const bytes = Buffer.byteLength(prefix);
  if (bytes <= MAX_PREFIX_LENGTH) return undefined;
  return `is ${bytes} characters long; at most ${MAX_PREFIX_LENGTH} (keys add up to ${MAX_KEY_SUFFIX_BYTES} bytes after it, within S3's ${MAX_S3_KEY_BYTES}-byte key limit)`;
}

export interface LambdaConfig {
  bucket: string;
  prefix: string;
  accounts: AccountConfig[];
  enabledCategories: CategoryName[];
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
  if (parsed.length > MAX_ACCOUNTS) {
    throw new ConfigError(
      `${source} lists ${parsed.length} accounts; at most ${MAX_ACCOUNTS}, so a run of all of them stays within Step Functions' payload limit. Deploy another stack for more.`,
    );
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
  const tooLong = prefixLengthProblem(prefix);
  if (tooLong) throw new ConfigError(`DATA_PREFIX ${tooLong}`);
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
  };
}
