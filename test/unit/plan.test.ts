import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES, type CategoryName, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { MAX_WINDOWS_PER_GROUP, type PlanContext, planRun } from '../../lambdas/core/plan.ts';
import { addDays } from '../../lambdas/core/windows.ts';
import type { AccountConfig } from '../../lambdas/shared/config.ts';
import { InputError } from '../../lambdas/shared/errors.ts';

const NOW = new Date('2026-11-26T05:00:00Z');
const MAIN: AccountConfig = { name: 'main', secretName: 's', site: 'datadoghq.com' };

function context(overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    now: NOW,
    accounts: [MAIN],
    enabledCategories: CATEGORY_NAMES,
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:sm:run-1',
    runId: 'run-1',
    bucket: 'lake',
    prefix: 'dd',
    ...overrides,
  };
}

/** Runs `act`, expects an InputError, and returns it for further checks. */
function inputError(act: () => unknown): InputError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

const day = (d: string) => `${d}T00:00:00.000Z`;

describe('Function: planRun', () => {
  it('plans one group of day windows for hourly_usage over 3 days', () => {
    // Prepare
    const input = { categories: ['hourly_usage'], start: '2026-11-20', end: '2026-11-23' };

    // Act
    const plan = planRun(input, context());

    // Assess
    expect(plan.groups).toEqual([
      { account: 'main', category: 'hourly_usage', start: day('2026-11-20'), last: 2 },
    ]);
    expect(plan.windows).toBe(3);
    expect(plan.skipped).toEqual([]);
    expect(plan.range).toEqual({ start: day('2026-11-20'), end: day('2026-11-23') });
    expect(plan.accounts).toEqual(['main']);
    expect(plan.categories).toEqual(['hourly_usage']);
    expect(plan.options).toEqual(DEFAULT_OPTIONS);
    expect(plan.runId).toBe('run-1');
    expect(plan.executionId).toBe('arn:aws:states:eu-west-1:123456789012:execution:sm:run-1');
    expect(plan.s3Url).toBe('s3://lake/dd/');
  });

  it('widens an hour-precise range to whole days', () => {
    // Act
    const plan = planRun(
      { categories: ['hourly_usage'], start: '2026-11-20T06', end: '2026-11-21 T06' },
      context(),
    );

    // Assess
    expect(plan.groups).toEqual([
      { account: 'main', category: 'hourly_usage', start: day('2026-11-20'), last: 1 },
    ]);
    expect(plan.range).toEqual({ start: '2026-11-20T06:00:00.000Z', end: '2026-11-21T06:00:00.000Z' });
  });

  it('plans a group per account and per category, in input order', () => {
    // Prepare
    const other: AccountConfig = { name: 'eu-prod', secretName: 's2', site: 'datadoghq.eu' };

    // Act
    const plan = planRun(
      { account: ['eu-prod', 'main'], categories: ['usage_summary', 'hourly_usage'], start: '2026-11-24' },
      context({ accounts: [MAIN, other] }),
    );

    // Assess
    expect(plan.accounts).toEqual(['eu-prod', 'main']);
    expect(plan.groups.map((g) => [g.account, g.category, g.last + 1])).toEqual([
      ['eu-prod', 'usage_summary', 1],
      ['eu-prod', 'hourly_usage', 3],
      ['main', 'usage_summary', 1],
      ['main', 'hourly_usage', 3],
    ]);
    expect(plan.windows).toBe(8);
  });

  it('splits a long range into groups of at most MAX_WINDOWS_PER_GROUP consecutive windows', () => {
    // Prepare: two full groups and half of one (40 days for 16 windows per group: 16 + 16 + 8)
    const rest = MAX_WINDOWS_PER_GROUP / 2;
    const total = 2 * MAX_WINDOWS_PER_GROUP + rest;
    const end = new Date('2026-11-26T00:00:00Z');
    const start = addDays(end, -total);
    const at = (n: number) => addDays(start, n).toISOString();
    const input = {
      categories: ['hourly_usage'],
      start: start.toISOString().slice(0, 10),
      end: end.toISOString().slice(0, 10),
    };

    // Act
    const plan = planRun(input, context());

    // Assess
    expect(Number.isInteger(rest)).toBe(true);
    expect(plan.groups).toEqual([
      { account: 'main', category: 'hourly_usage', start: at(0), last: MAX_WINDOWS_PER_GROUP - 1 },
      {
        account: 'main',
        category: 'hourly_usage',
        start: at(MAX_WINDOWS_PER_GROUP),
        last: MAX_WINDOWS_PER_GROUP - 1,
      },
      { account: 'main', category: 'hourly_usage', start: at(2 * MAX_WINDOWS_PER_GROUP), last: rest - 1 },
    ]);
    expect(plan.windows).toBe(total);
    expect(plan.skipped).toEqual([]);
  });

  it('puts no prefix in the S3 URL when the prefix is empty', () => {
    // Act
    const plan = planRun({ categories: ['hourly_usage'], start: '2026-11-25' }, context({ prefix: '' }));

    // Assess
    expect(plan.s3Url).toBe('s3://lake/');
  });

  it('takes a single account name as a string', () => {
    // Act
    const plan = planRun({ account: 'main', categories: ['hourly_usage'], start: '2026-11-25' }, context());

    // Assess
    expect(plan.accounts).toEqual(['main']);
  });

  it('runs an account named twice once', () => {
    // Prepare
    const other: AccountConfig = { name: 'eu-prod', secretName: 's2', site: 'datadoghq.eu' };
    const input = { account: ['main', 'eu-prod', 'main'], categories: ['hourly_usage'], start: '2026-11-24' };

    // Act
    const plan = planRun(input, context({ accounts: [MAIN, other] }));

    // Assess
    expect(plan.accounts).toEqual(['main', 'eu-prod']);
    expect(plan.groups.map((g) => g.account)).toEqual(['main', 'eu-prod']);
    expect(plan.windows).toBe(6);
  });

  it('drops a category named twice', () => {
    // Act
    const plan = planRun({ categories: ['hourly_usage', 'hourly_usage'], start: '2026-11-25' }, context());

    // Assess
    expect(plan.categories).toEqual(['hourly_usage']);
    expect(plan.groups).toHaveLength(1);
  });

  it('carries validated options', () => {
    // Act
    const plan = planRun(
      {
        categories: ['cost_attribution'],
        start: '2026-10',
        end: '2026-11',
        productFamilies: ['infra_hosts', 'logs'],
        includeDescendants: false,
        includeConnectedAccounts: true,
        pageSize: 1,
        fields: 'infra_host_total_cost,apm_host_total_cost',
        tagBreakdownKeys: ['team', 'kube.namespace'],
        sortDirection: 'asc',
        sortName: 'infra_host',
      },
      context(),
    );

    // Assess
    expect(plan.options).toEqual({
      productFamilies: ['infra_hosts', 'logs'],
      includeDescendants: false,
      includeConnectedAccounts: true,
      pageSize: 1,
      fields: 'infra_host_total_cost,apm_host_total_cost',
      tagBreakdownKeys: ['team', 'kube.namespace'],
      sortDirection: 'asc',
      sortName: 'infra_host',
    });
  });

  it('accepts a JSON number in exponent form that is an integer, such as 1e2', () => {
    // Act
    const plan = planRun(
      JSON.parse('{"categories":["hourly_usage"],"start":"2026-11-25","pageSize":1e2}'),
      context(),
    );

    // Assess
    expect(plan.options.pageSize).toBe(100);
  });

  it('accepts pageSize 500, the largest page', () => {
    // Act
    const plan = planRun({ categories: ['hourly_usage'], start: '2026-11-25', pageSize: 500 }, context());

    // Assess
    expect(plan.options.pageSize).toBe(500);
  });

  it('validates product families by shape only, so a new family is accepted', () => {
    // Act
    const plan = planRun(
      { categories: ['hourly_usage'], start: '2026-11-25', productFamilies: ['future_family'] },
      context(),
    );

    // Assess
    expect(plan.options.productFamilies).toEqual(['future_family']);
    expect(plan.groups).toHaveLength(1);
  });

  it('plans all enabled categories for categories "all"', () => {
    // Prepare
    const enabled: CategoryName[] = ['hourly_usage', 'usage_summary', 'historical_cost'];

    // Act
    const plan = planRun({ categories: 'all', start: '2026-11-25' }, context({ enabledCategories: enabled }));
    const listed = planRun(
      { categories: ['all'], start: '2026-11-25' },
      context({ enabledCategories: enabled }),
    );

    // Assess
    expect(plan.categories).toEqual(enabled);
    expect(plan.groups.map((g) => g.category)).toEqual(enabled);
    expect(listed.categories).toEqual(enabled);
  });

  it('plans every category for "all" when all are enabled', () => {
    // Act
    const plan = planRun({ categories: 'all', start: '2026-11-25' }, context());

    // Assess
    expect(plan.categories).toEqual([...CATEGORY_NAMES]);
  });

  it('plans the default categories when the input names none', () => {
    // Act
    const withDefaults = planRun(
      { start: '2026-11-25' },
      context({ defaultCategories: ['hourly_usage', 'estimated_cost'] }),
    );
    const withoutDefaults = planRun(
      { start: '2026-11-25' },
      context({ enabledCategories: ['usage_summary', 'hourly_usage'] }),
    );

    // Assess
    expect(withDefaults.categories).toEqual(['hourly_usage', 'estimated_cost']);
    expect(withoutDefaults.categories).toEqual(['usage_summary', 'hourly_usage']);
  });

  describe('refuses bad input with an InputError naming the field', () => {
    it.each<[string, unknown, string, RegExp?]>([
      ['month 13 in start', { start: '2026-13-01' }, 'start', /months are 01 to 12/],
      ['garbage in end', { start: '2026-11-01', end: 'tomorrow' }, 'end', /YYYY-MM-DD/],
      ['end before start', { start: '2026-11-20', end: '2026-11-19' }, 'end', /not after start/],
      ['end equal to start', { start: '2026-11-20', end: '2026-11-20' }, 'end', /end is exclusive/],
      ['end without start', { end: '2026-11-20' }, 'start', /required when end is given/],
      ['lookback together with start', { start: '2026-11-20', lookback: 'P3D' }, 'lookback', /not both/],
      ['a bad lookback', { lookback: '3 days' }, 'lookback', /P3D/],
      ['a bad asOf', { lookback: 'P3D', asOf: '2026-11-31' }, 'asOf', /has days 01 to 30/],
      ['an unknown category', { categories: ['hourly'] }, 'categories[0]', /hourly_usage/],
      ['an unknown second category', { categories: ['hourly_usage', 'costs'] }, 'categories[1]'],
      ['categories that are not a list', { categories: 'hourly_usage' }, 'categories'],
      ['an empty categories list', { categories: [] }, 'categories'],
      ['account a/b', { account: 'a/b' }, 'account', /not a valid account name/],
      ['account ..', { account: '..' }, 'account', /not a valid account name/],
      ['an upper-case account', { account: 'Main' }, 'account', /not a valid account name/],
      ['a bad account in a list', { account: ['main', '../x'] }, 'account[1]', /not a valid account name/],
      [
        'an unconfigured account',
        { account: 'other' },
        'account',
        /not a configured account; configured: main/,
      ],
      ['an empty account list', { account: [] }, 'account'],
      [
        'an unknown top-level field',
        { start: '2026-11-20', category: 'hourly_usage' },
        'category',
        /accepted:/,
      ],
      ['productFamilies that is a string', { productFamilies: 'all' }, 'productFamilies', /non-empty list/],
      ['an empty productFamilies', { productFamilies: [] }, 'productFamilies', /non-empty list/],
      ['a product family with spaces', { productFamilies: ['infra hosts'] }, 'productFamilies[0]'],
      ['an upper-case product family', { productFamilies: ['all', 'Logs'] }, 'productFamilies[1]'],
      ['a product family that is not a string', { productFamilies: [7] }, 'productFamilies[0]'],
      ['pageSize 0', { pageSize: 0 }, 'pageSize', /1 to 500/],
      ['pageSize 501', { pageSize: 501 }, 'pageSize', /1 to 500/],
      ['a fractional pageSize', { pageSize: 2.5 }, 'pageSize'],
      ['a string pageSize', { pageSize: '100' }, 'pageSize'],
      ['a non-boolean includeDescendants', { includeDescendants: 'yes' }, 'includeDescendants'],
      ['bad fields', { fields: 'a b' }, 'fields'],
      ['a bad sortDirection', { sortDirection: 'up' }, 'sortDirection'],
      ['a bad tag key', { tagBreakdownKeys: ['team name'] }, 'tagBreakdownKeys[0]'],
    ])('%s', (_label, input, field, message) => {
      // Act
      const error = inputError(() => planRun(input, context()));

      // Assess
      expect(error.field).toBe(field);
      expect(error.message.startsWith(`${field}: `)).toBe(true);
      if (message) expect(error.message).toMatch(message);
    });

    it.each([
      ['null', null],
      ['an array', []],
      ['a string', 'hourly_usage'],
    ])('refuses %s as the input', (_label, input) => {
      // Act
      const error = inputError(() => planRun(input, context()));

      // Assess
      expect(error.field).toBe('input');
    });

    it.each<[string, unknown]>([
      ['a string of digits', '16'],
      ['a hexadecimal string', '0x10'],
      ['an exponent string', '1e2'],
      ['a fraction', 16.5],
      ['2.5e1, not an integer', 2.5e1 + 0.5],
    ])('refuses pageSize as %s, naming the field and the accepted form', (_label, pageSize) => {
      // Act
      const error = inputError(() =>
        planRun({ categories: ['hourly_usage'], start: '2026-11-25', pageSize }, context()),
      );

      // Assess
      expect(error.message).toBe(
        `pageSize: expected an integer from 1 to 500, got ${JSON.stringify(pageSize)}`,
      );
    });

    it('refuses an account list longer than 100 entries, before looking at the names', () => {
      // Act
      const error = inputError(() =>
        planRun({ account: Array.from({ length: 101 }, () => 'main'), start: '2026-11-25' }, context()),
      );

      // Assess
      expect(error.message).toBe('account: has 101 entries; at most 100');
    });

    it.each([
      [
        'start in year 0100',
        { start: '0100-01', end: '9999-12' },
        'start',
        /"0100-01" has year 0100; years are 2000 to 2100/,
      ],
      [
        'start in year 0099',
        { start: '0099-12' },
        'start',
        /"0099-12" has year 0099; years are 2000 to 2100/,
      ],
      [
        'end in year 9999',
        { start: '2026-01', end: '9999-12' },
        'end',
        /"9999-12" has year 9999; years are 2000 to 2100/,
      ],
      ['asOf in year 9999', { lookback: 'P3D', asOf: '9999-12-31' }, 'asOf', /has year 9999/],
      ['lookback P3000000D', { lookback: 'P3000000D' }, 'lookback', /of at most P3660D .*got "P3000000D"/],
      [
        'lookback P200000000D',
        { lookback: 'P200000000D' },
        'lookback',
        /of at most P3660D .*got "P200000000D"/,
      ],
    ])('refuses a range beyond the accepted bounds: %s', (_label, input, field, message) => {
      // Act
      const error = inputError(() => planRun({ categories: 'all', ...input }, context()));

      // Assess
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    });

    it('refuses a category that is not enabled in this deployment', () => {
      // Act
      const error = inputError(() =>
        planRun({ categories: ['estimated_cost'] }, context({ enabledCategories: ['hourly_usage'] })),
      );

      // Assess
      expect(error.field).toBe('categories[0]');
      expect(error.message).toContain('not enabled');
    });

    it('refuses a range of more windows than a run may hold', () => {
      // Prepare
      const accounts = Array.from(
        { length: 30 },
        (_, i): AccountConfig => ({ name: `acct-${i}`, secretName: `s${i}`, site: 'datadoghq.com' }),
      );

      // Act
      const error = inputError(() =>
        planRun(
          { categories: ['hourly_usage'], start: '2025-09-01', end: '2026-11-01' },
          context({ accounts }),
        ),
      );

      // Assess
      expect(error.field).toBe('start');
      expect(error.message).toMatch(/at most 10000 per run/);
    });
  });

  describe('availability', () => {
    it("skips hourly windows older than Datadog's 15-month retention", () => {
      // Act
      const plan = planRun(
        { categories: ['hourly_usage'], start: '2025-08-30', end: '2025-09-02' },
        context(),
      );

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'hourly_usage', start: day('2025-09-01'), last: 0 },
      ]);
      expect(plan.skipped).toEqual([
        {
          account: 'main',
          category: 'hourly_usage',
          from: 'day=2025-08-30',
          to: 'day=2025-08-31',
          windows: 2,
          reason: "older than Datadog's 15-month retention",
        },
      ]);
      expect(plan.windows).toBe(1);
    });

    it('skips monthly windows older than the retention too', () => {
      // Act
      const plan = planRun({ categories: ['usage_summary'], start: '2025-07', end: '2025-10' }, context());

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'usage_summary', start: day('2025-09-01'), last: 0 },
      ]);
      expect(plan.skipped.map((s) => [s.from, s.to, s.windows, s.reason])).toEqual([
        ['month=2025-07', 'month=2025-08', 2, "older than Datadog's 15-month retention"],
      ]);
    });

    it('plans estimated_cost only for the current and previous month', () => {
      // Act
      const plan = planRun({ categories: ['estimated_cost'], start: '2026-08', end: '2026-12' }, context());

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'estimated_cost', start: day('2026-10-01'), last: 1 },
      ]);
      expect(plan.skipped).toEqual([
        {
          account: 'main',
          category: 'estimated_cost',
          from: 'month=2026-08',
          to: 'month=2026-09',
          windows: 2,
          reason: 'estimated_cost exists only for the current and previous month',
        },
      ]);
    });

    it('plans projected_cost only for the current month', () => {
      // Act
      const plan = planRun({ categories: ['projected_cost'], start: '2026-09', end: '2026-12' }, context());

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'projected_cost', start: day('2026-11-01'), last: 0 },
      ]);
      expect(plan.skipped.map((s) => [s.from, s.to, s.windows, s.reason])).toEqual([
        ['month=2026-09', 'month=2026-10', 2, 'projected_cost exists only for the current month'],
      ]);
    });

    it('skips windows that start in the future', () => {
      // Act
      const hourly = planRun(
        { categories: ['hourly_usage'], start: '2026-11-25', end: '2026-11-28' },
        context(),
      );
      const monthly = planRun({ categories: ['usage_summary'], start: '2026-11', end: '2027-02' }, context());

      // Assess
      expect(hourly.groups).toEqual([
        { account: 'main', category: 'hourly_usage', start: day('2026-11-25'), last: 1 },
      ]);
      expect(hourly.skipped).toEqual([
        {
          account: 'main',
          category: 'hourly_usage',
          from: 'day=2026-11-27',
          to: 'day=2026-11-27',
          windows: 1,
          reason: 'in the future',
        },
      ]);
      expect(monthly.groups).toEqual([
        { account: 'main', category: 'usage_summary', start: day('2026-11-01'), last: 0 },
      ]);
      expect(monthly.skipped.map((s) => [s.from, s.to, s.windows, s.reason])).toEqual([
        ['month=2026-12', 'month=2027-01', 2, 'in the future'],
      ]);
    });

    it('collapses consecutive skipped windows into one entry per run of the same reason', () => {
      // Act: 2 months past retention, 13 before the previous month, 2 planned, 2 in the future
      const plan = planRun({ categories: ['estimated_cost'], start: '2025-07', end: '2027-02' }, context());

      // Assess
      expect(plan.skipped).toEqual([
        {
          account: 'main',
          category: 'estimated_cost',
          from: 'month=2025-07',
          to: 'month=2025-08',
          windows: 2,
          reason: "older than Datadog's 15-month retention",
        },
        {
          account: 'main',
          category: 'estimated_cost',
          from: 'month=2025-09',
          to: 'month=2026-09',
          windows: 13,
          reason: 'estimated_cost exists only for the current and previous month',
        },
        {
          account: 'main',
          category: 'estimated_cost',
          from: 'month=2026-12',
          to: 'month=2027-01',
          windows: 2,
          reason: 'in the future',
        },
      ]);
      expect(plan.groups).toEqual([
        { account: 'main', category: 'estimated_cost', start: day('2026-10-01'), last: 1 },
      ]);
      expect(plan.windows).toBe(2);
    });

    it('keeps the skipped runs of each account and category apart', () => {
      // Prepare
      const other: AccountConfig = { name: 'eu-prod', secretName: 's2', site: 'datadoghq.eu' };

      // Act
      const plan = planRun(
        { categories: ['hourly_usage', 'usage_summary'], start: '2026-11-25', end: '2026-12-03' },
        context({ accounts: [MAIN, other] }),
      );

      // Assess
      expect(plan.skipped.map((s) => [s.account, s.category, s.from, s.to, s.windows, s.reason])).toEqual([
        ['main', 'hourly_usage', 'day=2026-11-27', 'day=2026-12-02', 6, 'in the future'],
        ['main', 'usage_summary', 'month=2026-12', 'month=2026-12', 1, 'in the future'],
        ['eu-prod', 'hourly_usage', 'day=2026-11-27', 'day=2026-12-02', 6, 'in the future'],
        ['eu-prod', 'usage_summary', 'month=2026-12', 'month=2026-12', 1, 'in the future'],
      ]);
    });

    it('counts the windows skipped before the retention and after now without building them', () => {
      // Prepare: the widest range accepted, for 3 accounts and every category
      const accounts = ['a', 'b', 'c'].map(
        (name): AccountConfig => ({ name, secretName: name, site: 'datadoghq.com' }),
      );
      const days = (from: string, to: string) =>
        (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

      // Act
      const plan = planRun(
        { categories: 'all', start: '2000-01', end: '2100-12-31T23' },
        context({ accounts }),
      );

      // Assess: hourly usage keeps 2025-09-01 to 2026-11-26 (NOW is 05:00 that day)
      const hourly = plan.skipped.filter((s) => s.account === 'a' && s.category === 'hourly_usage');
      expect(hourly).toEqual([
        {
          account: 'a',
          category: 'hourly_usage',
          from: 'day=2000-01-01',
          to: 'day=2025-08-31',
          windows: days('2000-01-01', '2025-09-01'),
          reason: "older than Datadog's 15-month retention",
        },
        {
          account: 'a',
          category: 'hourly_usage',
          from: 'day=2026-11-27',
          to: 'day=2100-12-31',
          windows: days('2026-11-27', '2101-01-01'),
          reason: 'in the future',
        },
      ]);
      const monthly = plan.skipped.filter((s) => s.account === 'a' && s.category === 'usage_summary');
      expect(monthly.map((s) => [s.from, s.to, s.windows])).toEqual([
        ['month=2000-01', 'month=2025-08', 25 * 12 + 8],
        ['month=2026-12', 'month=2100-12', 74 * 12 + 1],
      ]);
      expect(plan.groups.filter((g) => g.account === 'a' && g.category === 'hourly_usage')).toHaveLength(
        Math.ceil(days('2025-09-01', '2026-11-27') / MAX_WINDOWS_PER_GROUP),
      );
      // Per account and category: the windows planned and skipped tile the whole range.
      for (const account of ['a', 'b', 'c']) {
        const skippedHourly = plan.skipped
          .filter((s) => s.account === account && s.category === 'hourly_usage')
          .reduce((n, s) => n + s.windows, 0);
        const planned = plan.groups
          .filter((g) => g.account === account && g.category === 'hourly_usage')
          .reduce((n, g) => n + g.last + 1, 0);
        expect(skippedHourly + planned).toBe(days('2000-01-01', '2101-01-01'));
      }
    });

    it('plans no group when every window is skipped', () => {
      // Act
      const plan = planRun(
        { categories: ['hourly_usage'], start: '2026-12-01', end: '2026-12-03' },
        context(),
      );

      // Assess
      expect(plan.groups).toEqual([]);
      expect(plan.windows).toBe(0);
      expect(plan.skipped).toEqual([
        {
          account: 'main',
          category: 'hourly_usage',
          from: 'day=2026-12-01',
          to: 'day=2026-12-02',
          windows: 2,
          reason: 'in the future',
        },
      ]);
    });

    it('skips cost_attribution on the ddog-gov.com site, but not other categories', () => {
      // Prepare
      const gov: AccountConfig = { name: 'gov', secretName: 'g', site: 'ddog-gov.com' };

      // Act
      const plan = planRun(
        { categories: ['cost_attribution', 'usage_attribution'], start: '2026-10', end: '2026-12' },
        context({ accounts: [gov] }),
      );

      // Assess
      expect(plan.groups).toEqual([
        { account: 'gov', category: 'usage_attribution', start: day('2026-10-01'), last: 1 },
      ]);
      expect(plan.skipped).toEqual([
        {
          account: 'gov',
          category: 'cost_attribution',
          from: 'month=2026-10',
          to: 'month=2026-11',
          windows: 2,
          reason: 'cost_attribution is not available on the ddog-gov.com site',
        },
      ]);
    });

    it('plans cost_attribution for an account on another site in the same run', () => {
      // Prepare
      const gov: AccountConfig = { name: 'gov', secretName: 'g', site: 'ddog-gov.com' };

      // Act
      const plan = planRun(
        { categories: ['cost_attribution'], start: '2026-11', end: '2026-12' },
        context({ accounts: [gov, MAIN] }),
      );

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'cost_attribution', start: day('2026-11-01'), last: 0 },
      ]);
      expect(plan.skipped.map((s) => s.account)).toEqual(['gov']);
    });
  });

  describe('relative input', () => {
    it('gives 4 hourly day windows and the current and previous month for monthly categories', () => {
      // Prepare
      const input = {
        lookback: 'P3D',
        asOf: '2026-11-26T05',
        categories: ['hourly_usage', 'usage_summary', 'estimated_cost', 'projected_cost'],
      };

      // Act
      const plan = planRun(input, context());

      // Assess
      expect(plan.range).toEqual({ start: '2026-11-23T05:00:00.000Z', end: '2026-11-26T05:00:00.000Z' });
      expect(plan.groups).toEqual([
        { account: 'main', category: 'hourly_usage', start: day('2026-11-23'), last: 3 },
        { account: 'main', category: 'usage_summary', start: day('2026-10-01'), last: 1 },
        { account: 'main', category: 'estimated_cost', start: day('2026-10-01'), last: 1 },
        { account: 'main', category: 'projected_cost', start: day('2026-11-01'), last: 0 },
      ]);
      expect(plan.skipped).toEqual([
        {
          account: 'main',
          category: 'projected_cost',
          from: 'month=2026-10',
          to: 'month=2026-10',
          windows: 1,
          reason: 'projected_cost exists only for the current month',
        },
      ]);
      expect(plan.windows).toBe(9);
    });

    it('defaults to a P3D lookback from now', () => {
      // Act
      const plan = planRun({ categories: ['hourly_usage'] }, context());

      // Assess
      expect(plan.range).toEqual({ start: '2026-11-23T05:00:00.000Z', end: '2026-11-26T05:00:00.000Z' });
      expect(plan.groups).toEqual([
        { account: 'main', category: 'hourly_usage', start: day('2026-11-23'), last: 3 },
      ]);
    });

    it('takes monthly windows back to the previous month even when the lookback is inside one month', () => {
      // Act
      const plan = planRun(
        { categories: ['billable_summary'], lookback: 'PT1H', asOf: '2026-11-26T05' },
        context(),
      );

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'billable_summary', start: day('2026-10-01'), last: 1 },
      ]);
    });

    it('crosses a year boundary', () => {
      // Act
      const plan = planRun(
        { categories: ['hourly_usage', 'usage_summary'], lookback: 'P1DT12H', asOf: '2027-01-01T06' },
        context({ now: new Date('2027-01-01T06:00:00Z') }),
      );

      // Assess
      expect(plan.groups).toEqual([
        { account: 'main', category: 'hourly_usage', start: day('2026-12-30'), last: 2 },
        { account: 'main', category: 'usage_summary', start: day('2026-12-01'), last: 1 },
      ]);
    });
  });
});
