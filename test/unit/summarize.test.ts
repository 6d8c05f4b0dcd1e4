import { describe, expect, it } from 'vitest';
import type { Skipped } from '../../lambdas/core/plan.ts';
import {
  causeMessage,
  type GroupSummary,
  MAX_FAILURES_LISTED,
  MAX_FAILURES_PER_CATEGORY,
  summarizeGroup,
  summarizeGroupFailure,
  summarizeRun,
} from '../../lambdas/core/summarize.ts';
import type { WindowResult } from '../../lambdas/core/work-item.ts';

function done(
  index: number,
  counts: { pages: number; records: number; bytes: number },
  final = true,
): WindowResult {
  return { index, status: 'done', final, ...counts };
}

function failed(index: number, error?: { Error: string; Cause: string }): WindowResult {
  const result: WindowResult = {
    index,
    status: 'failed',
    pages: 0,
    records: 0,
    bytes: 0,
    final: false,
  };
  if (error) result.error = error;
  return result;
}

function group(overrides: Partial<GroupSummary> & Pick<GroupSummary, 'account' | 'category'>): GroupSummary {
  return {
    windows: 0,
    pages: 0,
    records: 0,
    bytes: 0,
    provisional: 0,
    superseded: 0,
    failed: 0,
    failures: [],
    ...overrides,
  };
}

describe('Function: summarizeGroup', () => {
  it('counts done, provisional and failed windows and adds up their pages, records and bytes', () => {
    // Prepare
    const results: WindowResult[] = [
      done(0, { pages: 2, records: 900, bytes: 10_000 }),
      done(1, { pages: 1, records: 40, bytes: 700 }, false),
      failed(2, { Error: 'DatadogUnavailableError', Cause: 'GET /x answered 503' }),
      done(3, { pages: 3, records: 1_200, bytes: 20_000 }, false),
    ];

    // Act
    const summary = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'hourly_usage',
      start: '2026-11-20T00:00:00.000Z',
      results,
    });

    // Assess
    expect(summary).toEqual({
      account: 'main',
      category: 'hourly_usage',
      start: '2026-11-20T00:00:00.000Z',
      windows: 3,
      pages: 6,
      records: 2_140,
      bytes: 30_700,
      provisional: 2,
      superseded: 0,
      failed: 1,
      failures: [
        {
          account: 'main',
          window: 'day=2026-11-22',
          error: 'DatadogUnavailableError',
          message: 'GET /x answered 503',
        },
      ],
    });
  });

  it("parses an AWS-style Cause JSON to its errorMessage and names a monthly window's partition", () => {
    // Prepare
    const cause = JSON.stringify({
      errorType: 'DatadogAuthError',
      errorMessage:
        'GET /api/v2/usage/estimated_cost answered 403 Forbidden: the application key lacks billing_read',
      trace: ['DatadogAuthError: ...', '    at DatadogClient.get'],
    });

    // Act
    const summary = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'estimated_cost',
      start: '2026-09-01T00:00:00.000Z',
      results: [
        done(0, { pages: 1, records: 2, bytes: 20 }),
        failed(1, { Error: 'DatadogAuthError', Cause: cause }),
      ],
    });

    // Assess
    expect(summary.failed).toBe(1);
    expect(summary.windows).toBe(1);
    expect(summary.failures).toEqual([
      {
        account: 'main',
        window: 'month=2026-10',
        error: 'DatadogAuthError',
        message:
          'GET /api/v2/usage/estimated_cost answered 403 Forbidden: the application key lacks billing_read',
      },
    ]);
  });

  it('records a failure without error details as Unknown', () => {
    // Act
    const summary = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'hourly_usage',
      start: '2026-11-22T00:00:00.000Z',
      results: [failed(0)],
    });

    // Assess
    expect(summary.failures).toEqual([
      { account: 'main', window: 'day=2026-11-22', error: 'Unknown', message: 'no cause recorded' },
    ]);
  });

  it('lists at most MAX_FAILURES_LISTED failures but counts them all', () => {
    // Prepare
    const results = Array.from({ length: MAX_FAILURES_LISTED + 5 }, (_, i) =>
      failed(i, { Error: 'States.Timeout', Cause: `timeout ${i}` }),
    );

    // Act
    const summary = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'hourly_usage',
      start: '2026-10-01T00:00:00.000Z',
      results,
    });

    // Assess
    expect(MAX_FAILURES_LISTED).toBe(20);
    expect(summary.failed).toBe(MAX_FAILURES_LISTED + 5);
    expect(summary.failures).toHaveLength(MAX_FAILURES_LISTED);
    expect(summary.failures[0]).toEqual({
      account: 'main',
      window: 'day=2026-10-01',
      error: 'States.Timeout',
      message: 'timeout 0',
    });
    expect(summary.failures.at(-1)?.window).toBe('day=2026-10-20');
  });

  it('gives zero counts for no results', () => {
    // Act
    const summary = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'usage_summary',
      start: '2026-11-01T00:00:00.000Z',
      results: [],
    });

    // Assess
    expect(summary).toEqual(
      group({ account: 'main', category: 'usage_summary', start: '2026-11-01T00:00:00.000Z' }),
    );
  });
});

describe('Function: summarizeGroup (superseded windows)', () => {
  it('counts a window whose fetch lost to a newer commit as superseded, not as landed', () => {
    // Act
    const summary = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'hourly_usage',
      start: '2026-09-01T00:00:00.000Z',
      results: [
        { ...done(0, { pages: 2, records: 900, bytes: 10_000 }), outcome: 'committed' },
        { ...done(1, { pages: 0, records: 0, bytes: 0 }), outcome: 'superseded' },
      ],
    });

    // Assess
    expect(summary).toMatchObject({ windows: 1, superseded: 1, pages: 2, records: 900, failed: 0 });
  });
});

describe('Function: causeMessage', () => {
  it.each([
    ['a plain message', 'GET /x answered 503', 'GET /x answered 503'],
    ['an AWS Cause', '{"errorType":"InputError","errorMessage":"start: bad"}', 'start: bad'],
    ['JSON without errorMessage', '{"errorType":"InputError"}', '{"errorType":"InputError"}'],
    ['JSON with a non-string errorMessage', '{"errorMessage":42}', '{"errorMessage":42}'],
    ['a JSON number', '42', '42'],
  ])('reads %s', (_label, cause, expected) => {
    // Act
    const message = causeMessage(cause);

    // Assess
    expect(message).toBe(expected);
  });
});

describe('Function: summarizeRun', () => {
  const base = {
    runId: 'run-1',
    s3Url: 's3://lake/dd/',
    detailsUrl: 's3://lake/dd/_runs/run=run-1/',
    range: { start: '2026-11-23T05:00:00.000Z', end: '2026-11-26T05:00:00.000Z' },
    accounts: ['main', 'eu'],
  };

  it('sets S_OK and adds up totals per category and for the run when nothing failed', () => {
    // Prepare
    const skipped: Skipped[] = [
      {
        account: 'main',
        category: 'projected_cost',
        from: 'month=2026-10',
        to: 'month=2026-10',
        windows: 1,
        reason: 'current month only',
      },
      {
        account: 'eu',
        category: 'projected_cost',
        from: 'month=2026-10',
        to: 'month=2026-10',
        windows: 1,
        reason: 'current month only',
      },
      {
        account: 'eu',
        category: 'hourly_usage',
        from: 'day=2026-11-27',
        to: 'day=2026-11-28',
        windows: 2,
        reason: 'in the future',
      },
    ];
    const groups = [
      group({
        account: 'main',
        category: 'hourly_usage',
        windows: 4,
        pages: 5,
        records: 50,
        bytes: 500,
        provisional: 2,
      }),
      group({
        account: 'eu',
        category: 'hourly_usage',
        windows: 4,
        pages: 4,
        records: 40,
        bytes: 400,
        provisional: 1,
      }),
      group({
        account: 'main',
        category: 'projected_cost',
        windows: 1,
        pages: 1,
        records: 3,
        bytes: 30,
        provisional: 1,
      }),
    ];

    // Act
    const out = summarizeRun({
      ...base,
      categories: ['hourly_usage', 'projected_cost', 'usage_summary'],
      skipped,
      groups,
    });

    // Assess
    expect(out.execution_status).toBe('S_OK');
    expect(out.s3_url).toBe('s3://lake/dd/');
    expect(out.output.run_id).toBe('run-1');
    expect(out.output.details_url).toBe('s3://lake/dd/_runs/run=run-1/');
    expect(out.output.range).toEqual(base.range);
    expect(out.output.accounts).toEqual(['main', 'eu']);
    expect(out.output.totals).toEqual({
      windows: 9,
      pages: 10,
      records: 93,
      bytes: 930,
      superseded: 0,
      failed: 0,
      skipped: 4,
    });
    expect(out.output.categories.hourly_usage).toEqual({
      windows: 8,
      pages: 9,
      records: 90,
      bytes: 900,
      provisional: 3,
      superseded: 0,
      failed: 0,
      failures: [],
      skipped: [
        { account: 'eu', from: 'day=2026-11-27', to: 'day=2026-11-28', windows: 2, reason: 'in the future' },
      ],
    });
    expect(out.output.categories.projected_cost?.skipped).toEqual([
      {
        account: 'main',
        from: 'month=2026-10',
        to: 'month=2026-10',
        windows: 1,
        reason: 'current month only',
      },
      { account: 'eu', from: 'month=2026-10', to: 'month=2026-10', windows: 1, reason: 'current month only' },
    ]);
    expect(out.output.categories.projected_cost?.windows).toBe(1);
    expect(out.output.categories.usage_summary).toEqual({
      windows: 0,
      pages: 0,
      records: 0,
      bytes: 0,
      provisional: 0,
      superseded: 0,
      failed: 0,
      failures: [],
      skipped: [],
    });
    expect(Object.keys(out.output.categories)).toEqual(['hourly_usage', 'projected_cost', 'usage_summary']);
  });

  it('sets E_FAIL and gathers the failures of every group when a window failed', () => {
    // Prepare
    const failure = {
      account: 'eu',
      window: 'month=2026-10',
      error: 'DatadogAuthError',
      message: 'lacks billing_read',
    };
    const groups = [
      group({ account: 'main', category: 'estimated_cost', windows: 2, pages: 2, records: 4, bytes: 40 }),
      group({
        account: 'eu',
        category: 'estimated_cost',
        windows: 1,
        pages: 1,
        records: 2,
        bytes: 20,
        failed: 1,
        failures: [failure],
      }),
    ];

    // Act
    const out = summarizeRun({ ...base, categories: ['estimated_cost'], skipped: [], groups });

    // Assess
    expect(out.execution_status).toBe('E_FAIL');
    expect(out.output.totals).toEqual({
      windows: 3,
      pages: 3,
      records: 6,
      bytes: 60,
      superseded: 0,
      failed: 1,
      skipped: 0,
    });
    expect(out.output.categories.estimated_cost?.failed).toBe(1);
    expect(out.output.categories.estimated_cost?.failures).toEqual([failure]);
  });

  it('sets S_OK for a run where every window was skipped', () => {
    // Prepare
    const skipped: Skipped[] = [
      {
        account: 'gov',
        category: 'cost_attribution',
        from: 'month=2026-10',
        to: 'month=2026-11',
        windows: 2,
        reason: 'not on this site',
      },
    ];

    // Act
    const out = summarizeRun({ ...base, categories: ['cost_attribution'], skipped, groups: [] });

    // Assess
    expect(out.execution_status).toBe('S_OK');
    expect(out.output.totals).toEqual({
      windows: 0,
      pages: 0,
      records: 0,
      bytes: 0,
      superseded: 0,
      failed: 0,
      skipped: 2,
    });
    expect(out.output.categories.cost_attribution?.skipped).toEqual([
      { account: 'gov', from: 'month=2026-10', to: 'month=2026-11', windows: 2, reason: 'not on this site' },
    ]);
  });

  it('lists at most MAX_FAILURES_PER_CATEGORY failures per category but counts them all', () => {
    // Prepare: more groups of failures than a category lists, in another category one failure
    const failures = (account: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ account, window: `day=${i}`, error: 'X', message: `m${i}` }));
    const perGroup = MAX_FAILURES_LISTED;
    const groupCount = Math.ceil(MAX_FAILURES_PER_CATEGORY / perGroup) + 1;
    const groups = Array.from({ length: groupCount }, (_, g) =>
      group({
        account: `a${g}`,
        category: 'hourly_usage',
        failed: perGroup + 1,
        failures: failures(`a${g}`, perGroup),
      }),
    );
    groups.push(
      group({ account: 'main', category: 'usage_summary', failed: 1, failures: failures('main', 1) }),
    );

    // Act
    const out = summarizeRun({ ...base, categories: ['hourly_usage', 'usage_summary'], skipped: [], groups });

    // Assess
    expect(groupCount * perGroup).toBeGreaterThan(MAX_FAILURES_PER_CATEGORY);
    const hourly = out.output.categories.hourly_usage;
    expect(hourly?.failed).toBe(groupCount * (perGroup + 1));
    expect(hourly?.failures).toEqual(groups.flatMap((g) => g.failures).slice(0, MAX_FAILURES_PER_CATEGORY));
    expect(out.output.categories.usage_summary?.failures).toEqual(failures('main', 1));
    expect(out.output.totals.failed).toBe(groupCount * (perGroup + 1) + 1);
    expect(out.execution_status).toBe('E_FAIL');
  });

  it('does not change its input groups', () => {
    // Prepare
    const failure = { account: 'main', window: 'day=2026-11-22', error: 'X', message: 'y' };
    const groups = [
      group({ account: 'main', category: 'hourly_usage', failed: 1, failures: [failure] }),
      group({
        account: 'eu',
        category: 'hourly_usage',
        failed: 1,
        failures: [{ ...failure, account: 'eu' }],
      }),
    ];
    const before = structuredClone(groups);

    // Act
    const out = summarizeRun({ ...base, categories: ['hourly_usage'], skipped: [], groups });

    // Assess
    expect(groups).toEqual(before);
    expect(out.output.categories.hourly_usage?.failures).toHaveLength(2);
  });
});

describe('Function: summarizeGroupFailure', () => {
  it('fails every window of the group with the error the state machine caught', () => {
    // Act
    const summary = summarizeGroupFailure({
      account: 'eu',
      category: 'historical_cost',
      start: '2026-01-01T00:00:00.000Z',
      last: 2,
      error: {
        Error: 'StorageError',
        Cause: JSON.stringify({ errorType: 'StorageError', errorMessage: 'S3 PutObject x failed: SlowDown' }),
      },
    });

    // Assess
    expect(summary).toMatchObject({ account: 'eu', category: 'historical_cost', windows: 0, failed: 3 });
    expect(summary.failures.map((f) => [f.window, f.error])).toEqual([
      ['month=2026-01', 'StorageError'],
      ['month=2026-02', 'StorageError'],
      ['month=2026-03', 'StorageError'],
    ]);
    expect(summary.failures[0]?.message).toBe(
      'the group of 3 window(s) from 2026-01-01 failed: S3 PutObject x failed: SlowDown',
    );
  });
});

describe('Function: summarizeRun, planned groups', () => {
  it('reports a planned group that left no summary as failed windows, and ends E_FAIL', () => {
    // Prepare: two groups planned, one recorded
    const planned = [
      { account: 'main', category: 'hourly_usage' as const, start: '2026-10-01T00:00:00.000Z', last: 7 },
      { account: 'main', category: 'hourly_usage' as const, start: '2026-10-09T00:00:00.000Z', last: 1 },
    ];
    const recorded = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'hourly_usage',
      start: '2026-10-01T00:00:00.000Z',
      results: Array.from({ length: 8 }, (_, i) => done(i, { pages: 1, records: 10, bytes: 100 })),
    });

    // Act
    const out = summarizeRun({
      runId: 'run-1',
      s3Url: 's3://lake/dd/',
      detailsUrl: 's3://lake/dd/_runs/run=run-1/',
      range: { start: '2026-10-01T00:00:00.000Z', end: '2026-10-11T00:00:00.000Z' },
      accounts: ['main'],
      categories: ['hourly_usage'],
      skipped: [],
      groups: [recorded],
      planned,
    });

    // Assess
    expect(out.execution_status).toBe('E_FAIL');
    expect(out.output.totals).toMatchObject({ windows: 8, records: 80, failed: 2 });
    expect(out.output.categories.hourly_usage?.failures.map((f) => [f.window, f.error])).toEqual([
      ['day=2026-10-09', 'GroupFailedError'],
      ['day=2026-10-10', 'GroupFailedError'],
    ]);
  });

  it('is S_OK when every planned group left its summary', () => {
    // Prepare
    const start = '2026-10-01T00:00:00.000Z';
    const recorded = summarizeGroup({
      runId: 'run-1',
      account: 'main',
      category: 'usage_summary',
      start,
      results: [done(0, { pages: 1, records: 1, bytes: 1 })],
    });

    // Act
    const out = summarizeRun({
      runId: 'run-1',
      s3Url: 's3://lake/dd/',
      detailsUrl: 's3://lake/dd/_runs/run=run-1/',
      range: { start, end: '2026-11-01T00:00:00.000Z' },
      accounts: ['main'],
      categories: ['usage_summary'],
      skipped: [],
      groups: [recorded],
      planned: [{ account: 'main', category: 'usage_summary', start, last: 0 }],
    });

    // Assess
    expect(out.execution_status).toBe('S_OK');
    expect(out.output.totals.failed).toBe(0);
  });
});
