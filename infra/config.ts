import { readFileSync } from 'node:fs';
import { CATEGORY_NAMES, type CategoryName, isCategoryName } from '../lambdas/categories.ts';
import { type AccountConfig, isSafePrefix, parseAccounts } from '../lambdas/shared/config.ts';

/** The `datadog-usage-lake` object of the cdk.json context, validated. */
export interface LakeSettings {
  accounts: AccountConfig[];
  prefix: string;
  categories: CategoryName[];
  mapConcurrency: number;
  windowConcurrency: number;
}

export const CONTEXT_KEY = 'datadog-usage-lake';

export const DEFAULT_SETTINGS: LakeSettings = {
  accounts: [{ name: 'main', secretName: 'datadog-usage-lake/main', site: 'datadoghq.com' }],
  prefix: 'datadog',
  categories: [...CATEGORY_NAMES],
  mapConcurrency: 4,
  windowConcurrency: 2,
};

function int(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`cdk.json context ${CONTEXT_KEY}.${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function parseSettings(raw: unknown): LakeSettings {
  if (raw === undefined) return DEFAULT_SETTINGS;
  if (raw === null || typeof raw !== 'object')
    throw new Error(`cdk.json context ${CONTEXT_KEY} must be an object`);
  const r = raw as Record<string, unknown>;
  const prefix = r.prefix ?? DEFAULT_SETTINGS.prefix;
  if (typeof prefix !== 'string' || !isSafePrefix(prefix)) {
    throw new Error(`cdk.json context ${CONTEXT_KEY}.prefix must be a safe S3 prefix such as "datadog"`);
  }
  const categories = r.categories ?? DEFAULT_SETTINGS.categories;
  if (!Array.isArray(categories) || categories.length === 0 || !categories.every(isCategoryName)) {
    throw new Error(
      `cdk.json context ${CONTEXT_KEY}.categories must list categories among ${CATEGORY_NAMES.join(', ')}`,
    );
  }
  return {
    accounts:
      r.accounts === undefined
        ? DEFAULT_SETTINGS.accounts
        : parseAccounts(JSON.stringify(r.accounts), `cdk.json context ${CONTEXT_KEY}.accounts`),
    prefix,
    categories: categories as CategoryName[],
    mapConcurrency: int(r.mapConcurrency, 'mapConcurrency', 1, 40, DEFAULT_SETTINGS.mapConcurrency),
    windowConcurrency: int(
      r.windowConcurrency,
      'windowConcurrency',
      1,
      40,
      DEFAULT_SETTINGS.windowConcurrency,
    ),
  };
}

/** The settings in the repository's cdk.json: what `cdk deploy` would use. */
export function loadCdkJsonSettings(file = new URL('../cdk.json', import.meta.url)): LakeSettings {
  const cdkJson = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return parseSettings(cdkJson.context?.[CONTEXT_KEY]);
}
