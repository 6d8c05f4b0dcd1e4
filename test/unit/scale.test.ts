import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAPACITY_DOCS_FILE, largestParentMarkdown } from '../../bench/capacity.ts';
import { replaceDocBlock } from '../../bench/doc-block.ts';
import { capacity, capacityMarkdown, LARGEST_PARENT } from '../../infra/capacity.ts';
import { parseSettings } from '../../infra/config.ts';
import { definitionsFromTemplate, synthesizeStack } from '../../infra/definition.ts';
import { HISTORY_SHARE, STEP_FUNCTIONS_LIMITS, worstCaseHistory } from '../../infra/history-budget.ts';
import { STATE } from '../../infra/state-names.ts';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';
import { DEFAULT_LIMITS } from '../../lambdas/core/fetch-window.ts';
import { MAX_WINDOWS_PER_GROUP, planRun } from '../../lambdas/core/plan.ts';
import {
  MAX_FAILURES_LISTED,
  MAX_FAILURES_PER_CATEGORY,
  summarizeRun,
} from '../../lambdas/core/summarize.ts';
import { MAX_YEAR, MIN_YEAR } from '../../lambdas/core/windows.ts';
import type { WorkItem } from '../../lambdas/core/work-item.ts';
import { MAX_ACCOUNT_NAME_LENGTH, MAX_ACCOUNTS, MAX_PREFIX_LENGTH } from '../../lambdas/shared/config.ts';

const ACCOUNTS = Array.from({ length: 10 }, (_, i) => ({
  name: `account-${String(i).padStart(2, '0')}`,
  secretName: `datadog-usage-lake/account-${i}`,
  site: 'datadoghq.com' as const,
}));
const NOW = new Date('2026-11-26T05:00:00Z');
const MARGIN = 0.5;

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('Scale: a 15-month backfill of every category for 10 accounts in one execution', () => {
  const settings = parseSettings({ accounts: ACCOUNTS });
  const synthesized = synthesizeStack(settings);
  const definitions = definitionsFromTemplate(synthesized.template);
  const budgets = synthesized.stack.pipeline.budgets;
  const plan = planRun(
    {
      categories: 'all',
      start: '2025-08',
      end: '2026-11-26T05',
      productFamilies: Array.from({ length: 100 }, (_, i) => `product_family_with_a_long_name_${i}`),
      tagBreakdownKeys: Array.from({ length: 100 }, (_, i) => `team_tag_${i}`),
    },
    {
      now: NOW,
      accounts: ACCOUNTS,
      enabledCategories: CATEGORY_NAMES,
      executionId: `arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:${'x'.repeat(80)}`,
      runId: 'x'.repeat(80),
      bucket: 'a-bucket-name-of-sixty-three-characters-aaaaaaaaaaaaaaaaaaaaaa',
      prefix: 'datadog/usage',
    },
  );

  it('keeps every payload far below 256 KiB', () => {
    // Prepare: the largest thing each state can carry
    const group = plan.groups[0];
    const item: WorkItem = {
      runId: plan.runId,
      executionId: plan.executionId,
      executionStart: plan.executionStart,
      attempt: 999,
      outcome: 'superseded',
      waitUntil: '2026-11-26T05:00:00.000Z',
      stalls: 99,
      execution: `arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake-window:${'x'.repeat(80)}`,
      invocationsHere: 9_999,
      budget: 9_999,
      position: 0.123456789,
      account: ACCOUNTS[0]?.name ?? '',
      category: 'cost_attribution',
      groupStart: group?.start ?? '',
      index: MAX_WINDOWS_PER_GROUP - 1,
      windowStart: '2026-01-01T00:00:00.000Z',
      options: plan.options,
      cursor: 'c'.repeat(2048),
      pagesWritten: 99_999,
      records: 1e12,
      bytes: 1e15,
      status: 'wait',
      waitSeconds: 3600,
      waits: 50,
      invocations: 30,
      retries: 1000,
      throttles: 1000,
      final: false,
      startedAt: NOW.toISOString(),
      rateLimit: { limit: 1e6, period: 3600, remaining: 1e6, reset: 3600, name: 'n'.repeat(200) },
      error: { Error: 'DatadogUnavailableError', Cause: 'c'.repeat(4096) },
    } as WorkItem;
    const failure = {
      account: ACCOUNTS[0]?.name ?? '',
      window: 'month=2026-01',
      error: 'E'.repeat(40),
      message: 'm'.repeat(600),
    };
    const groupResults = Array.from({ length: MAX_WINDOWS_PER_GROUP }, (_, index) => ({
      index,
      status: 'failed',
      pages: 99_999,
      records: 1e12,
      bytes: 1e15,
      final: false,
      error: { Error: 'DatadogUnavailableError', Cause: 'c'.repeat(4096) },
    }));
    const output = summarizeRun({
      runId: plan.runId,
      s3Url: plan.s3Url,
      detailsUrl: plan.s3Url,
      range: plan.range,
      accounts: plan.accounts,
      categories: plan.categories,
      skipped: plan.skipped,
      groups: plan.groups.map((g) => ({
        account: g.account,
        category: g.category,
        superseded: 0,
        windows: 0,
        pages: 0,
        records: 0,
        bytes: 0,
        provisional: 0,
        failed: MAX_FAILURES_LISTED,
        failures: Array.from({ length: MAX_FAILURES_LISTED }, () => failure),
      })),
    });

    // Act
    const sizes = {
      'plan (the distributed Map input)': bytes(plan),
      'group (a child execution input)': bytes({ ...group, runId: plan.runId, options: plan.options }),
      'window work item': bytes(item),
      'group results (summarize group input)': bytes({ ...group, results: groupResults }),
      'summarize run input (with every planned group)': bytes({
        mode: 'run',
        runId: plan.runId,
        s3Url: plan.s3Url,
        range: plan.range,
        accounts: plan.accounts,
        categories: plan.categories,
        skipped: plan.skipped,
        planned: plan.groups,
      }),
      'run output': bytes(output),
    };
    console.log(
      `Largest payloads for ${plan.windows} windows in ${plan.groups.length} groups (limit ${STEP_FUNCTIONS_LIMITS.payloadBytes} B):\n${Object.entries(
        sizes,
      )
        .map(([k, v]) => `  ${k}: ${v} B (${((100 * v) / STEP_FUNCTIONS_LIMITS.payloadBytes).toFixed(1)}%)`)
        .join('\n')}`,
    );

    // Assess
    expect(plan.windows).toBeGreaterThan(10 * 450);
    expect(output.output.categories.hourly_usage?.failures.length).toBe(MAX_FAILURES_PER_CATEGORY);
    for (const size of Object.values(sizes)) {
      expect(size).toBeLessThan(STEP_FUNCTIONS_LIMITS.payloadBytes * MARGIN);
    }
  });

  it('keeps every execution history under 25,000 events in the worst case, with budgets derived from it', () => {
    // Act
    const history = worstCaseHistory(definitions.pipeline as never, definitions.window as never, {
      ...budgets,
      windowsPerGroup: MAX_WINDOWS_PER_GROUP,
      routeName: STATE.route,
    });
    console.log(
      `Worst-case history events (limit ${STEP_FUNCTIONS_LIMITS.historyEvents}, every retrier exhausted, a Wait after every invocation): parent ${history.parent}; each of ${plan.groups.length} group executions ${history.child} (${MAX_WINDOWS_PER_GROUP} windows × ${budgets.group} invocations); each window execution ${history.window} (${budgets.window} invocations)`,
    );

    // Assess
    expect(history.child).toBeLessThanOrEqual(STEP_FUNCTIONS_LIMITS.historyEvents * HISTORY_SHARE);
    expect(history.window).toBeLessThanOrEqual(STEP_FUNCTIONS_LIMITS.historyEvents * HISTORY_SHARE);
    expect(history.parent).toBeLessThan(STEP_FUNCTIONS_LIMITS.historyEvents * MARGIN);
    // The budgets are real: a quarter more invocations would break the bound of the share.
    const more = worstCaseHistory(definitions.pipeline as never, definitions.window as never, {
      group: Math.ceil(budgets.group * 1.25),
      window: Math.ceil(budgets.window * 1.25),
      windowsPerGroup: MAX_WINDOWS_PER_GROUP,
      routeName: STATE.route,
    });
    expect(more.child).toBeGreaterThan(STEP_FUNCTIONS_LIMITS.historyEvents * HISTORY_SHARE);
    expect(more.window).toBeGreaterThan(STEP_FUNCTIONS_LIMITS.historyEvents * HISTORY_SHARE);
  });
});

describe('Scale: the largest plan the input and settings bounds allow', () => {
  /** What LambdaInvoke wraps around the Plan function's payload before OutputPath picks it out. */
  const ENVELOPE = 4 * 1024;
  const accountsOn = (site: 'datadoghq.com' | 'ddog-gov.com', count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `${i}`.padEnd(MAX_ACCOUNT_NAME_LENGTH, 'a'),
      secretName: `datadog-usage-lake/${i}`,
      site,
    }));
  /** Every field at its longest: 100 families of 64, 100 tag keys of 200, 200 fields of 100, … */
  const input = {
    categories: 'all',
    start: `${MIN_YEAR}-01`,
    end: `${MAX_YEAR}-12-31T23`,
    productFamilies: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(64, 'f')),
    tagBreakdownKeys: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(200, 't')),
    fields: Array.from({ length: 200 }, (_, i) => `${i}`.padEnd(100, 'f')).join(','),
    sortDirection: 'desc',
    sortName: 's'.repeat(64),
    pageSize: 500,
    includeDescendants: true,
    includeConnectedAccounts: true,
  };
  const planFor = (accounts: ReturnType<typeof accountsOn>) =>
    planRun(input, {
      // The end of a 31-day month: the most hourly windows inside the 15-month retention.
      now: new Date('2026-12-31T23:00:00Z'),
      accounts,
      enabledCategories: CATEGORY_NAMES,
      executionId: `arn:aws:states:ap-southeast-2:123456789012:execution:${'m'.repeat(80)}:${'x'.repeat(80)}`,
      runId: 'x'.repeat(80),
      bucket: 'b'.repeat(63),
      prefix: 'p'.repeat(MAX_PREFIX_LENGTH),
    });

  it.each(['datadoghq.com', 'ddog-gov.com'] as const)(
    `keeps the plan of ${MAX_ACCOUNTS} accounts (on %s) and every category over ${MIN_YEAR}–${MAX_YEAR} under 256 KiB`,
    (site) => {
      // Prepare: the largest settings parseSettings accepts
      const settings = parseSettings({ accounts: accountsOn(site, MAX_ACCOUNTS) });

      // Act
      const plan = planFor(settings.accounts as ReturnType<typeof accountsOn>);
      const size = bytes(plan);
      console.log(
        `Largest plan (${site}): ${size} B for ${plan.windows} windows in ${plan.groups.length} groups, ${plan.skipped.length} skipped runs (${((100 * size) / STEP_FUNCTIONS_LIMITS.payloadBytes).toFixed(1)}% of 256 KiB)`,
      );

      // Assess
      expect(plan.accounts).toHaveLength(MAX_ACCOUNTS);
      expect(plan.options.tagBreakdownKeys).toHaveLength(100);
      expect(size + ENVELOPE).toBeLessThan(STEP_FUNCTIONS_LIMITS.payloadBytes);
      // The bound is real: settings refuse one more account, and 18 accounts would pass the limit.
      expect(() => parseSettings({ accounts: accountsOn(site, MAX_ACCOUNTS + 1) })).toThrow(
        /accounts lists 11 accounts; at most 10/,
      );
      expect(bytes(planFor(accountsOn(site, 18)))).toBeGreaterThan(STEP_FUNCTIONS_LIMITS.payloadBytes);
    },
  );
});

describe('Scale: the largest parent supported, under the slowest rate limit seen', () => {
  const largest = parseSettings({});
  const synthesized = synthesizeStack(largest);
  const rendered = {
    ...definitionsFromTemplate(synthesized.template),
    budgets: synthesized.stack.pipeline.budgets,
    mapConcurrency: largest.mapConcurrency,
  };

  it('completes its largest window within Step Functions’ bounds, and the whole backfill within a year', () => {
    // Act
    const figures = capacity(LARGEST_PARENT, rendered);
    console.log(capacityMarkdown(LARGEST_PARENT, figures));

    // Assess
    const { historyEvents, payloadBytes, executionSeconds } = STEP_FUNCTIONS_LIMITS;
    expect(figures.history.group).toBeLessThan(historyEvents);
    expect(figures.history.window).toBeLessThan(historyEvents);
    expect(figures.history.parent).toBeLessThan(historyEvents * MARGIN);
    // The largest day outgrows its group and continues in window executions.
    expect(figures.hourlyDay.windowExecutions).toBeGreaterThanOrEqual(1);
    expect(figures.hourlyDay.pages).toBeLessThan(DEFAULT_LIMITS.maxPagesPerWindow / 10);
    expect(figures.attributionMonth.pages).toBeLessThan(DEFAULT_LIMITS.maxPagesPerWindow / 10);
    expect(figures.backfill.days * 86_400).toBeLessThan(executionSeconds);
    // A window's time stays within its continuation's timeout (20 days).
    expect(figures.hourlyDay.minutes / 1440).toBeLessThan(20);
    expect(figures.workItemBytes).toBeLessThan(payloadBytes / 50);
  });

  it('a parent ten times larger would outrun the execution’s year: the bound is real', () => {
    const figures = capacity({ ...LARGEST_PARENT, orgs: 10 * LARGEST_PARENT.orgs }, rendered);

    expect(figures.backfill.days * 86_400).toBeGreaterThan(STEP_FUNCTIONS_LIMITS.executionSeconds);
  });

  it('docs/reliability.md holds the figures npm run capacity prints (block capacity)', () => {
    const docs = readFileSync(CAPACITY_DOCS_FILE, 'utf8');

    expect(replaceDocBlock(docs, 'capacity', largestParentMarkdown(), CAPACITY_DOCS_FILE)).toBe(docs);
  });
});
