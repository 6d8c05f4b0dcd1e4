/**
 * The largest parent organization the pipeline supports, and what it costs in Step Functions' bounds:
 * pages, invocations and Wait states of its largest windows, window executions, worst-case history,
 * the whole backfill's time against an execution's year, and the largest work item. Pure: the caller
 * gives the rendered definitions and their budgets. `npm run capacity` prints it; the scale test
 * asserts every figure under its limit; docs/reliability.md holds the printed table.
 */
import { MAX_WINDOWS_PER_GROUP } from '../lambdas/core/plan.ts';
import { INITIAL_PROGRESS, MAX_CURSOR_LENGTH } from '../lambdas/core/work-item.ts';
import { type Definition, STEP_FUNCTIONS_LIMITS, worstCaseHistory } from './history-budget.ts';
import { STATE } from './state-names.ts';

export interface ParentScale {
  /** Child organizations whose usage the parent reports. */
  orgs: number;
  /** Product families with hourly usage per org. */
  families: number;
  /** Tag combinations per org in a month of attribution. */
  tagCombinations: number;
  /** Accounts (parents) in one run, each with a rate limit of its own. */
  accounts: number;
  /** Months of backfill (Datadog keeps 15), and their days. */
  months: number;
  days: number;
  /** Requests per `periodSeconds` Datadog allows each account. */
  limit: number;
  periodSeconds: number;
  /** Records per page: hourly usage (Datadog's most) and attribution (the simulator's, smaller than Datadog's). */
  hourlyPageSize: number;
  attributionPageSize: number;
}

/**
 * 1,000 child orgs of 60 product families, 10 accounts, 15 months, each account limited to 10
 * requests per 30 s (what OpenCost's Datadog plugin paces at; Datadog publishes no number).
 */
export const LARGEST_PARENT: ParentScale = {
  orgs: 1_000,
  families: 60,
  tagCombinations: 100,
  accounts: 10,
  months: 15,
  days: 457,
  limit: 10,
  periodSeconds: 30,
  hourlyPageSize: 500,
  attributionPageSize: 50,
};

export interface Capacity {
  hourlyDay: { pages: number; invocations: number; windowExecutions: number; minutes: number };
  attributionMonth: { pages: number; invocations: number; windowExecutions: number; minutes: number };
  /** Worst-case history events (every retrier exhausted, a Wait after every invocation). */
  history: { group: number; window: number; parent: number };
  budgets: { group: number; window: number };
  backfill: { requestsPerAccount: number; accountsAtOnce: number; days: number };
  workItemBytes: number;
}

/** The figures of `scale` under the rendered definitions, their invocation budgets and mapConcurrency. */
export function capacity(
  scale: ParentScale,
  rendered: {
    pipeline: unknown;
    window: unknown;
    budgets: { group: number; window: number };
    mapConcurrency: number;
  },
): Capacity {
  const { budgets } = rendered;
  // Under the limit, an invocation takes `limit` pages, then waits for the next limit window.
  const invocations = (pages: number) => Math.ceil(pages / scale.limit);
  const windowOf = (pages: number) => ({
    pages,
    invocations: invocations(pages),
    windowExecutions: Math.max(0, Math.ceil((invocations(pages) - budgets.group) / budgets.window)),
    minutes: Math.round((invocations(pages) * scale.periodSeconds) / 60),
  });
  const hourlyPages = Math.ceil((scale.orgs * scale.families * 24) / scale.hourlyPageSize);
  const attributionPages = Math.ceil((scale.orgs * scale.tagCombinations) / scale.attributionPageSize);
  const history = worstCaseHistory(rendered.pipeline as Definition, rendered.window as Definition, {
    ...budgets,
    windowsPerGroup: MAX_WINDOWS_PER_GROUP,
    routeName: STATE.route,
  });
  // A day of hourly usage per day; cost and usage attribution per month, plus the six small categories.
  const requestsPerAccount = scale.days * hourlyPages + scale.months * (2 * attributionPages + 6);
  // Accounts have limits of their own, but only mapConcurrency groups run at once.
  const accountsAtOnce = Math.min(scale.accounts, rendered.mapConcurrency);
  const seconds =
    ((requestsPerAccount * scale.accounts) / (accountsAtOnce * scale.limit)) * scale.periodSeconds;
  const item = { ...INITIAL_PROGRESS, cursor: 'c'.repeat(MAX_CURSOR_LENGTH), runId: 'x'.repeat(80) };
  return {
    hourlyDay: windowOf(hourlyPages),
    attributionMonth: windowOf(attributionPages),
    history: { group: history.child, window: history.window, parent: history.parent },
    budgets: { ...budgets },
    backfill: { requestsPerAccount, accountsAtOnce, days: Math.round((10 * seconds) / 86_400) / 10 },
    workItemBytes: Buffer.byteLength(JSON.stringify(item)),
  };
}

const n = (value: number) => value.toLocaleString('en-US');

/** The figures as Markdown: the scale, then one row per bound with its limit. */
export function capacityMarkdown(scale: ParentScale, c: Capacity): string {
  const { historyEvents, payloadBytes, executionSeconds, windowSeconds } = STEP_FUNCTIONS_LIMITS;
  const share = (value: number, limit: number) => `${((100 * value) / limit).toFixed(1)}%`;
  const window = (what: string, w: Capacity['hourlyDay']) =>
    `| ${what}: ${n(w.pages)} pages, ${n(w.invocations)} invocations and Wait states, ${w.windowExecutions} window execution${w.windowExecutions === 1 ? '' : 's'} | ${n(w.minutes)} min | ${n(windowSeconds / 60)} min | ${share(w.minutes * 60, windowSeconds)} |`;
  const yearDays = executionSeconds / 86_400;
  return [
    `Largest parent supported: **${n(scale.orgs)} child orgs × ${scale.families} product families, ${scale.accounts} accounts, ${scale.months} months of every category**, each account limited to ${scale.limit} requests per ${scale.periodSeconds} s. Invocation budgets: ${c.budgets.group} per window in a group, ${c.budgets.window} in a window execution.`,
    '',
    '| what | figure | limit | used |',
    '|---|---:|---:|---:|',
    window('a day of hourly usage', c.hourlyDay),
    window('a month of attribution', c.attributionMonth),
    `| worst-case history of a group execution | ${n(c.history.group)} events | ${n(historyEvents)} | ${share(c.history.group, historyEvents)} |`,
    `| worst-case history of a window execution | ${n(c.history.window)} events | ${n(historyEvents)} | ${share(c.history.window, historyEvents)} |`,
    `| worst-case history of the parent execution | ${n(c.history.parent)} events | ${n(historyEvents)} | ${share(c.history.parent, historyEvents)} |`,
    `| the 15-month backfill (${n(c.backfill.requestsPerAccount)} requests per account, ${c.backfill.accountsAtOnce} accounts at a time) | ${c.backfill.days} days | ${yearDays} days | ${share(c.backfill.days, yearDays)} |`,
    `| the largest window work item | ${n(c.workItemBytes)} B | ${n(payloadBytes)} B | ${share(c.workItemBytes, payloadBytes)} |`,
  ].join('\n');
}
