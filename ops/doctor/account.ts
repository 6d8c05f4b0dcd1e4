/**
 * The doctor's checks of one Datadog account: its keys, the API key, what the application key may
 * read (one minimal request per enabled category), parent or child organization, and what the
 * planner will skip. Requests go through the pipeline's own DatadogClient, so keys only ever go to
 * `https://api.<site>` (or the explicit override of a local run).
 */
import {
  CATEGORIES,
  type CategoryDef,
  type CategoryName,
  type CategoryOptions,
  type Window,
} from '../../lambdas/categories.ts';
import { unavailable } from '../../lambdas/core/plan.ts';
import { addDays, addMonths, startOfDay, startOfMonth, windowOf } from '../../lambdas/core/windows.ts';
import type { AccountConfig } from '../../lambdas/shared/config.ts';
import type { DatadogClient } from '../../lambdas/shared/datadog-client.ts';
import {
  DatadogAuthError,
  DatadogRequestError,
  DatadogUnavailableError,
  RateLimitedError,
} from '../../lambdas/shared/errors.ts';
import { createSecretHint, type DatadogKeys } from '../../lambdas/shared/secrets.ts';
import { appOrigin, DATADOG_SITES } from '../../lambdas/shared/sites.ts';
import { type Check, fail, pass } from './report.ts';

/** The part of the Datadog client the checks use. */
export type DatadogGet = Pick<DatadogClient, 'get'>;

/** Where an account's keys come from. */
export type KeySource =
  /** The built-in simulator `npm run doctor` started. */
  | { kind: 'simulator' }
  /** `--datadog-url` without keys in the environment: the simulator's placeholder keys, as `npm start`. */
  | { kind: 'placeholder'; url: string }
  /** `DD_API_KEY`, `DD_APP_KEY` and `DD_SITE`. */
  | { kind: 'env' }
  /** The account's Secrets Manager secret (cdk.json accounts). */
  | { kind: 'secret' };

export interface AccountTarget {
  /** The account as configured: its name, secret and the site the planner applies. */
  account: AccountConfig;
  source: KeySource;
  /** Reads the keys; throws SecretError when they are missing or malformed. */
  loadKeys(): Promise<DatadogKeys>;
}

export interface AccountCheckOptions {
  /** The categories the deployment (or the run) enables. */
  categories: readonly CategoryName[];
  options: CategoryOptions;
  now: Date;
  /** Where the categories come from, for the fixes: `cdk.json` or `--categories`. */
  categoriesFrom: string;
}

export interface AccountCheckDeps {
  /** A client for these keys: `https://api.<keys.site>`, or the explicit override of a local run. */
  client(keys: DatadogKeys): DatadogGet;
}

const PERMISSION_LABEL: Record<string, string> = { usage_read: 'Usage Read', billing_read: 'Billing Read' };
const NON_PARENT = /non-parent org/i;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

/** The secret (or the environment) holds both keys and names a known site. */
export async function checkKeys(
  target: AccountTarget,
): Promise<{ check: Check; keys: DatadogKeys | undefined }> {
  const { account, source } = target;
  const subject = account.name;
  let keys: DatadogKeys;
  try {
    keys = await target.loadKeys();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (source.kind === 'secret') {
      const hint = createSecretHint(account.secretName);
      const cause = message.replace(` ${hint}`, '').replace(/\.$/, '');
      const value = `'{"apiKey":"<DD_API_KEY>","appKey":"<DD_APP_KEY>","site":"${account.site}"}'`;
      const fix = /does not exist/.test(message)
        ? hint.replace(/^Create it with: /, 'create it: ')
        : /could not be read/.test(message)
          ? `allow secretsmanager:GetSecretValue on ${account.secretName} for your AWS credentials, and check AWS_REGION`
          : `store both keys and a site (one of ${DATADOG_SITES.join(', ')}) in it: aws secretsmanager put-secret-value --secret-id ${account.secretName} --secret-string ${value}`;
      return { check: fail(subject, 'keys', `secret ${account.secretName}`, cause, fix), keys: undefined };
    }
    return {
      check: fail(
        subject,
        'keys',
        'keys from the environment',
        message,
        `export DD_API_KEY and DD_APP_KEY (both, or neither for the simulator) and DD_SITE as one of ${DATADOG_SITES.join(', ')}`,
      ),
      keys: undefined,
    };
  }
  switch (source.kind) {
    case 'simulator':
      return {
        check: pass(subject, 'keys', "keys: the built-in simulator's (no DD_API_KEY/DD_APP_KEY set)"),
        keys,
      };
    case 'placeholder':
      return {
        check: pass(
          subject,
          'keys',
          `keys: the simulator's placeholder keys, for ${source.url} (no DD_API_KEY/DD_APP_KEY set)`,
        ),
        keys,
      };
    case 'env':
      return {
        check: pass(subject, 'keys', `keys from DD_API_KEY and DD_APP_KEY, site ${keys.site}`),
        keys,
      };
    case 'secret':
      if (keys.site !== account.site) {
        return {
          check: fail(
            subject,
            'keys',
            `secret ${account.secretName}`,
            `it names the site ${keys.site} but cdk.json configures ${account.site} for ${subject}: requests go to api.${keys.site} while the planner applies ${account.site}'s availability`,
            `make them agree: "site" in the secret, or the account's site in cdk.json`,
          ),
          keys,
        };
      }
      return {
        check: pass(subject, 'keys', `secret ${account.secretName}: both keys, site ${keys.site}`),
        keys,
      };
  }
}

/** Where the site is set, for the fixes. */
function siteSetting(target: AccountTarget): string {
  switch (target.source.kind) {
    case 'secret':
      return `"site" in the secret ${target.account.secretName} and the account in cdk.json`;
    case 'env':
      return 'DD_SITE';
    default:
      return '--datadog-url';
  }
}

/** Datadog's key validation: `GET /api/v1/validate` answers `{"valid":true}`, or 403 for a bad key. */
export async function checkApiKey(
  target: AccountTarget,
  keys: DatadogKeys,
  client: DatadogGet,
): Promise<{ check: Check; valid: boolean }> {
  const subject = target.account.name;
  try {
    const res = await client.get('/api/v1/validate', {});
    if ((res.body as { valid?: unknown } | null)?.valid === true) {
      return { check: pass(subject, 'api_key', `API key valid for ${keys.site}`), valid: true };
    }
    return {
      check: fail(
        subject,
        'api_key',
        'API key',
        `GET /api/v1/validate answered ${res.status} without "valid": true`,
        'check that the URL is a Datadog API',
      ),
      valid: false,
    };
  } catch (error) {
    if (error instanceof DatadogAuthError) {
      return {
        check: fail(
          subject,
          'api_key',
          'API key',
          `not valid for ${keys.site} (GET /api/v1/validate answered ${error.status ?? 403})`,
          `use an API key of the organization on ${keys.site} (Organization Settings → API Keys at ${appOrigin(keys.site)}); a key from another site is invalid here, so check the site too (${siteSetting(target)})`,
        ),
        valid: false,
      };
    }
    return { check: unreachable(subject, 'api_key', 'API key', error), valid: false };
  }
}

/** Datadog did not answer usefully: 5xx, network, 429, or another 4xx. */
function unreachable(subject: string, name: string, detail: string, error: unknown): Check {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof RateLimitedError) {
    return fail(
      subject,
      name,
      detail,
      `not checked: ${message}`,
      `run npm run doctor again in ${error.retryAfterSeconds} s`,
    );
  }
  if (error instanceof DatadogUnavailableError) {
    return fail(
      subject,
      name,
      detail,
      `not checked: ${message}`,
      'check the network path to Datadog (proxy, firewall, DNS) and https://status.datadoghq.com, then run npm run doctor again',
    );
  }
  return fail(
    subject,
    name,
    detail,
    `${errorName(error)}: ${message}`,
    "Datadog's message says what it refused: check the site and the options",
  );
}

/** A recent window the planner would fetch: the last complete one, or the current one (projected cost). */
export function probeWindow(def: CategoryDef, account: AccountConfig, now: Date): Window | undefined {
  const current = def.window === 'day' ? startOfDay(now) : startOfMonth(now);
  const previous = def.window === 'day' ? addDays(current, -1) : addMonths(current, -1);
  return [windowOf(def.window, previous), windowOf(def.window, current)].find(
    (w) => unavailable(def, account, w, now) === undefined,
  );
}

export type ProbeOutcome =
  | { category: CategoryName; outcome: 'ok'; window: Window }
  | { category: CategoryName; outcome: 'forbidden' | 'non-parent' | 'error'; error: unknown };

/** The category's own request for one recent window, its smallest page, no cursor followed. */
export async function probeCategory(
  client: DatadogGet,
  def: CategoryDef,
  window: Window,
  options: CategoryOptions,
): Promise<ProbeOutcome> {
  try {
    await client.get(def.path, def.params(window, { ...options, pageSize: 1 }), {
      permissions: def.permissions,
    });
    return { category: def.name, outcome: 'ok', window };
  } catch (error) {
    if (error instanceof DatadogAuthError) return { category: def.name, outcome: 'forbidden', error };
    if (error instanceof DatadogRequestError && NON_PARENT.test(error.message)) {
      return { category: def.name, outcome: 'non-parent', error };
    }
    return { category: def.name, outcome: 'error', error };
  }
}

const needsBilling = (name: CategoryName) => CATEGORIES[name].permissions.includes('billing_read');

function permissionFix(missing: readonly string[], site: DatadogKeys['site']): string {
  const labels = missing.map((p) => `"${PERMISSION_LABEL[p] ?? p}"`).join(' and ');
  return `give the key's role the ${labels} permission${missing.length > 1 ? 's' : ''} (Organization Settings → Roles at ${appOrigin(site)}) or use a key of a user with the Datadog Admin role; a scoped application key also needs the ${missing.join(' and ')} scope${missing.length > 1 ? 's' : ''}`;
}

/** One line per probed category; 403s named by the permission that is missing. */
export function accessChecks(
  subject: string,
  probes: readonly ProbeOutcome[],
  site: DatadogKeys['site'],
  categoriesFrom: string,
): Check[] {
  // A category that needs only usage_read answered: the application key is valid and has usage_read.
  const usageOk = probes.some((p) => p.outcome === 'ok' && !needsBilling(p.category));
  const usageForbidden = probes.some((p) => p.outcome === 'forbidden' && !needsBilling(p.category));
  return probes.map((p) => {
    const def = CATEGORIES[p.category];
    const name = `category/${p.category}`;
    if (p.outcome === 'ok') {
      return pass(
        subject,
        name,
        `${p.category}: readable with ${def.permissions.join(' and ')} (${def.path}, ${p.window.partition})`,
      );
    }
    if (p.outcome === 'forbidden') {
      if (needsBilling(p.category) && usageOk) {
        return fail(
          subject,
          name,
          p.category,
          'the application key lacks billing_read',
          permissionFix(['billing_read'], site),
        );
      }
      if (usageForbidden) {
        return fail(
          subject,
          name,
          p.category,
          `the application key lacks usage_read${needsBilling(p.category) ? ' (and this category needs billing_read too)' : ''}, or is not a valid application key`,
          `check the application key (Organization Settings → Application Keys at ${appOrigin(site)}); ${permissionFix(def.permissions, site)}`,
        );
      }
      return fail(
        subject,
        name,
        p.category,
        `the application key lacks ${def.permissions.join(' or ')} (this category needs ${def.permissions.join(' and ')}), or is not a valid application key`,
        permissionFix(def.permissions, site),
      );
    }
    if (p.outcome === 'non-parent') {
      return fail(
        subject,
        name,
        p.category,
        'Datadog answered 400 "API called with non-parent org keys": it serves this category to the parent organization only',
        `use API and application keys created in the parent organization, or remove ${p.category} from the categories (${categoriesFrom})`,
      );
    }
    return unreachable(subject, name, p.category, p.error);
  });
}

/** Parent or child organization, from the parent-only categories' answers; and the descendants option. */
export function organizationCheck(
  subject: string,
  probes: readonly ProbeOutcome[],
  enabled: readonly CategoryName[],
  options: CategoryOptions,
  categoriesFrom: string,
): Check | undefined {
  const parentOnly = probes.filter((p) => CATEGORIES[p.category].parentOnly);
  const child = parentOnly.filter((p) => p.outcome === 'non-parent').map((p) => p.category);
  const parent = parentOnly.some((p) => p.outcome === 'ok');
  const descendants = options.includeDescendants
    ? "descendants included (includeDescendants: true): the child organizations' usage and costs land too"
    : "descendants not included (includeDescendants: false): only this organization's own usage and costs";
  const needParent = enabled.filter((c) => CATEGORIES[c].parentOnly);
  if (child.length > 0 && needParent.length === 0) {
    return pass(
      subject,
      'organization',
      `organization: child organization keys, enough for ${enabled.join(', ')} (none needs the parent organization); ${descendants}`,
    );
  }
  if (child.length > 0) {
    return fail(
      subject,
      'organization',
      'organization',
      `child organization keys: ${child.join(', ')} answered 400 "API called with non-parent org keys"`,
      `create the API and application keys in the parent organization, or remove ${needParent.join(', ')} from the categories (${categoriesFrom}); a child organization can only fetch ${Object.values(
        CATEGORIES,
      )
        .filter((d) => !d.parentOnly)
        .map((d) => d.name)
        .join(' and ')}`,
    );
  }
  if (parent) return pass(subject, 'organization', `organization: parent organization keys; ${descendants}`);
  return undefined;
}

/**
 * The planner's own rules (`unavailable()`), read back for the enabled categories: a category the
 * site does not serve fails (every window of it would be skipped), and the retention and
 * recent-months rules are stated, grouped by the first month the planner will fetch.
 */
export function availabilityChecks(
  subject: string,
  account: AccountConfig,
  categories: readonly CategoryName[],
  now: Date,
  categoriesFrom: string,
): { checks: Check[]; offered: CategoryName[] } {
  const checks: Check[] = [];
  const offered: CategoryName[] = [];
  const currentMonth = startOfMonth(now);
  const groups = new Map<string, { categories: CategoryName[]; detail: string }>();
  for (const name of categories) {
    const def = CATEGORIES[name];
    const current = windowOf(def.window, def.window === 'day' ? startOfDay(now) : currentMonth);
    const never = unavailable(def, account, current, now);
    if (never !== undefined) {
      checks.push(
        fail(
          subject,
          `category/${name}`,
          name,
          `${never}: every window of it is skipped`,
          `remove ${name} from the categories (${categoriesFrom})`,
        ),
      );
      continue;
    }
    offered.push(name);
    // The first month back whose windows the planner skips, and why.
    for (let back = 1; back <= def.availability.retentionMonths; back++) {
      const month = addMonths(currentMonth, -back);
      const reason = unavailable(def, account, windowOf(def.window, month), now);
      if (reason === undefined) continue;
      const first = addMonths(month, 1).toISOString().slice(0, 7);
      const span =
        back === 1
          ? 'current month only; earlier windows are skipped'
          : back === 2
            ? 'current and previous month only; earlier windows are skipped'
            : `windows before ${first} are skipped (${reason})`;
      const group = groups.get(span) ?? { categories: [], detail: span };
      group.categories.push(name);
      groups.set(span, group);
      break;
    }
  }
  for (const g of groups.values()) {
    checks.push(
      pass(subject, `availability/${g.categories.join(',')}`, `${g.categories.join(', ')}: ${g.detail}`),
    );
  }
  return { checks, offered };
}

/** Every check of one account, in the order a user fixes them: keys, API key, access, org, availability. */
export async function checkAccount(
  target: AccountTarget,
  o: AccountCheckOptions,
  deps: AccountCheckDeps,
): Promise<Check[]> {
  const subject = target.account.name;
  const availability = availabilityChecks(subject, target.account, o.categories, o.now, o.categoriesFrom);
  const notOffered = availability.checks.filter((c) => !c.ok);
  const rules = availability.checks.filter((c) => c.ok);

  const { check: keysCheck, keys } = await checkKeys(target);
  if (!keys) return [keysCheck, ...notOffered, ...rules];
  const client = deps.client(keys);
  const api = await checkApiKey(target, keys, client);
  if (!api.valid) return [keysCheck, api.check, ...notOffered, ...rules];

  const probes: ProbeOutcome[] = [];
  for (const name of availability.offered) {
    const def = CATEGORIES[name];
    const window = probeWindow(def, target.account, o.now);
    if (window) probes.push(await probeCategory(client, def, window, o.options));
  }
  // Parent or child: ask a parent-only endpoint when no enabled category did.
  const orgProbes = [...probes];
  if (!probes.some((p) => CATEGORIES[p.category].parentOnly && p.outcome !== 'error')) {
    const def = CATEGORIES.usage_summary;
    const window = probeWindow(def, target.account, o.now);
    if (window) orgProbes.push(await probeCategory(client, def, window, o.options));
  }
  const org = organizationCheck(subject, orgProbes, o.categories, o.options, o.categoriesFrom);
  const access = accessChecks(subject, probes, keys.site, o.categoriesFrom);
  const ordered = o.categories.flatMap((name) => [
    ...access.filter((c) => c.name === `${subject}/category/${name}`),
    ...notOffered.filter((c) => c.name === `${subject}/category/${name}`),
  ]);
  return [keysCheck, api.check, ...ordered, ...(org ? [org] : []), ...rules];
}
