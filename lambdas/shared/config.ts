import * as z from 'zod/mini';
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
import { list, parseWith, problemCheck } from './schema.ts';
import { DATADOG_SITES } from './sites.ts';

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

/**
 * A prefix that is safe (see {@link isSafePrefix}) and short enough (see {@link prefixLengthProblem});
 * `unsafe` is what each input says of an unsafe one.
 */
export function prefixSchema(unsafe: string) {
  return z
    .string({ error: unsafe })
    .check(z.refine(isSafePrefix, { error: unsafe, abort: true }), problemCheck(prefixLengthProblem));
}

const account = z.object(
  {
    name: z.string({ error: `must be ${ACCOUNT_NAME_FORM}` }).check(z.regex(ACCOUNT_NAME_PATTERN)),
    secretName: z.string({ error: 'must be the name of a Secrets Manager secret' }).check(z.minLength(1)),
    site: z.enum(DATADOG_SITES, { error: 'must be one of the Datadog sites' }),
  },
  { error: 'must be an object {name, secretName, site}' },
);

/**
 * The configured accounts, as the deployment settings (`accounts`) and the Lambda environment
 * (`DD_ACCOUNTS`) give them: at most {@link MAX_ACCOUNTS}, names unique.
 */
export const AccountsSchema = list(account, {
  notAList: 'must be a non-empty array of {name, secretName, site}',
  max: MAX_ACCOUNTS,
  tooLong: (n) =>
    `lists ${n} accounts; at most ${MAX_ACCOUNTS}, so a run of all of them stays within Step Functions' payload limit. Deploy another stack for more.`,
}).check(
  z.superRefine((accounts, ctx) => {
    const twice = accounts.findIndex((a, i) => accounts.findIndex((b) => b.name === a.name) < i);
    if (twice < 0) return;
    const message = `"${accounts[twice]?.name}" is configured twice`;
    ctx.addIssue({ code: 'custom', path: [twice, 'name'], message, input: accounts });
  }),
);

/** A configured Datadog account: its name in S3 partitions, its secret, its site. */
export type AccountConfig = z.output<typeof account>;

/** Text that must be there: an unset variable and an empty one are both "not set". */
const required = () => z.string({ error: 'is not set' }).check(z.minLength(1, { error: 'is not set' }));

/** The Lambda environment the stack sets (infra/datadog-usage-stack.ts); other variables are ignored. */
const LambdaEnvSchema = z.pipe(
  z.object({
    DATA_PREFIX: z._default(prefixSchema('is not a safe S3 prefix'), ''),
    /** Comma-separated category names; unset, every category. */
    ENABLED_CATEGORIES: z._default(
      z.pipe(
        z.string(),
        z.transform((text, ctx): CategoryName[] => {
          const names = text
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean);
          const unknown = names.find((c) => !isCategoryName(c));
          if (unknown !== undefined) {
            ctx.issues.push({
              code: 'custom',
              message: `names an unknown category "${unknown}"`,
              input: text,
            });
          }
          return names as CategoryName[];
        }),
      ),
      () => [...CATEGORY_NAMES],
    ),
    DATA_BUCKET: required(),
    /** The accounts as JSON (see {@link AccountsSchema}). */
    DD_ACCOUNTS: z.pipe(
      z.pipe(
        required(),
        z.transform((text: string, ctx) => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            ctx.issues.push({ code: 'custom', message: 'is not valid JSON', input: text });
            return z.NEVER;
          }
        }),
      ),
      AccountsSchema,
    ),
  }),
  z.transform((env) => ({
    bucket: env.DATA_BUCKET,
    prefix: env.DATA_PREFIX,
    accounts: env.DD_ACCOUNTS,
    enabledCategories: env.ENABLED_CATEGORIES,
  })),
);

export type LambdaConfig = z.output<typeof LambdaEnvSchema>;

/** Read once at cold start; a missing or bad variable fails there, with its name. */
export function readLambdaConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  return parseWith(
    LambdaEnvSchema,
    env,
    'environment',
    (field, message) => new ConfigError(`${field} ${message}`),
  );
}
