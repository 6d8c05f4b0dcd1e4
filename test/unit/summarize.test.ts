import { describe, expect, it } from 'vitest';
import type { Skipped } from '../../lambdas/core/plan.ts';
import {
  causeMessage,
  type GroupSummary,
  MAX_FAILURES_LISTED,
  summarizeGroup,
  summarizeRun,
} from '../../lambdas/core/summarize.ts';
import type { WindowResult } from '../../lambdas/core/work-item.ts';

function done(
  windowStart: string,
  counts: { pages: number; records: number; bytes: number },
  final = true,
): WindowResult {
  return { windowStart, status: 'done', final, ...counts };
}

function failed(windowStart: string, error?: { Error: string; Cause: string }): WindowResult {
  const result: WindowResult = {
    windowStart,
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
    failed: 0,
    failures: [],
    ...overrides,
  };
}

describe('Function: summarizeGroup', () => {
  it('counts done, provisional and failed windows and adds up their pages, records and bytes', () => {
    // Prepare
    const results: WindowResult[] = [
      done('2026-11-20T00:00:00.000Z', { pages: 2, records: 900, bytes: 10_000 }),
      done('2026-11-21T00:00:00.000Z', { pages: 1, records: 40, bytes: 700 }, false),
      failed('2026-11-22T00:00:00.000Z', { Error: 'DatadogUnavailableError', Cause: 'GET /x answered 503' }),
      done('2026-11-23T00:00:00.000Z', { pages: 3, records: 1_200, bytes: 20_000 }, false),
    ];

    // Act
    const summary = summarizeGroup({ account: 'main', category: 'hourly_usage', results });

    // Assess
    expect(summary).toEqual({
      account: 'main',
      category: 'hourly_usage',
      windows: 3,
      pages: 6,
      records: 2_140,
      bytes: 30_700,
      provisional: 2,
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
      account: 'main',
      category: 'estimated_cost',
      results: [failed('2026-10-01T00:00:00.000Z', { Error: 'DatadogAuthError', Cause: cause })],
    });

    // Assess
    expect(summary.failed).toBe(1);
    expect(summary.windows).toBe(0);
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
      account: 'main',
      category: 'hourly_usage',
      results: [failed('2026-11-22T00:00:00.000Z')],
    });

    // Assess
    expect(summary.failures).toEqual([
      { account: 'main', window: 'day=2026-11-22', error: 'Unknown', message: 'no cause recorded' },
    ]);
  });

  it('lists at most MAX_FAILURES_LISTED failures but counts them all', () => {
    // Prepare
    const results = Array.from({ length: MAX_FAILURES_LISTED + 5 }, (_, i) =>
      failed(new Date(Date.UTC(2026, 9, 1 + i)).toISOString(), {
        Error: 'States.Timeout',
        Cause: `timeout ${i}`,
      }),
    );

    // Act
    const summary = summarizeGroup({ account: 'main', category: 'hourly_usage', results });

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
    const summary = summarizeGroup({ account: 'main', category: 'usage_summary', results: [] });

    // Assess
    expect(summary).toEqual(group({ account: 'main', category: 'usage_summary' }));
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
    range: { start: '2026-11-23T05:00:00.000Z', end: '2026-11-26T05:00:00.000Z' },
    accounts: ['main', 'eu'],
  };

  it('sets S_OK and adds up totals per category and for the run when nothing failed', () => {
    // Prepare
    const skipped: Skipped[] = [
      {
        account: 'main',
        category: 'projected_cost',
        partition: 'month=2026-10',
        reason: 'current month only',
      },
      { account: 'eu', category: 'projected_cost', partition: 'month=2026-10', reason: 'current month only' },
      { account: 'eu', category: 'hourly_usage', partition: 'day=2026-11-27', reason: 'in the future' },
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
    expect(out.output.range).toEqual(base.range);
    expect(out.output.accounts).toEqual(['main', 'eu']);
    expect(out.output.totals).toEqual({
      windows: 9,
      pages: 10,
      records: 93,
      bytes: 930,
      failed: 0,
      skipped: 3,
    });
    expect(out.output.categories.hourly_usage).toEqual({
      windows: 8,
      pages: 9,
      records: 90,
      bytes: 900,
      provisional: 3,
      failed: 0,
      failures: [],
      skipped: [{ account: 'eu', window: 'day=2026-11-27', reason: 'in the future' }],
    });
    expect(out.output.categories.projected_cost?.skipped).toEqual([
      { account: 'main', window: 'month=2026-10', reason: 'current month only' },
      { account: 'eu', window: 'month=2026-10', reason: 'current month only' },
    ]);
    expect(out.output.categories.projected_cost?.windows).toBe(1);
    expect(out.output.categories.usage_summary).toEqual({
      windows: 0,
      pages: 0,
      records: 0,
      bytes: 0,
      provisional: 0,
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
    expect(out.output.totals).toEqual({ windows: 3, pages: 3, records: 6, bytes: 60, failed: 1, skipped: 0 });
    expect(out.output.categories.estimated_cost?.failed).toBe(1);
    expect(out.output.categories.estimated_cost?.failures).toEqual([failure]);
  });

  it('sets S_OK for a run where every window was skipped', () => {
    // Prepare
    const skipped: Skipped[] = [
      {
        account: 'gov',
        category: 'cost_attribution',
        partition: 'month=2026-11',
        reason: 'not on this site',
      },
    ];

    // Act
    const out = summarizeRun({ ...base, categories: ['cost_attribution'], skipped, groups: [] });

    // Assess
    expect(out.execution_status).toBe('S_OK');
    expect(out.output.totals).toEqual({ windows: 0, pages: 0, records: 0, bytes: 0, failed: 0, skipped: 1 });
    expect(out.output.categories.cost_attribution?.skipped).toEqual([
      { account: 'gov', window: 'month=2026-11', reason: 'not on this site' },
    ]);
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
