import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, type CategoryName, type WindowKind } from '../../lambdas/categories.ts';
import type { Manifest } from '../../lambdas/core/commit.ts';
import { parseOptions } from '../../lambdas/core/plan.ts';
import type { CategorySummary } from '../../lambdas/core/summarize.ts';
import {
  addDays,
  addMonths,
  nthWindowStart,
  startOfDay,
  startOfMonth,
  windowsFor,
} from '../../lambdas/core/windows.ts';
import type { AccountConfig } from '../../lambdas/shared/config.ts';
import {
  countIds,
  type Harness,
  HARNESS_KEYS as KEYS,
  HARNESS_PREFIX as PREFIX,
  readLanded,
  startHarness,
} from '../../local/harness.ts';
import type { LocalRunResult } from '../../local/runner.ts';
import type { SimulatorOptions } from '../../local/simulator/index.ts';

// Ranges relative to the real clock, so the availability rules (retention, closing days, recent-only
// categories) keep meaning the same thing whatever day the suite runs.
const NOW = new Date();
const THIS_MONTH = startOfMonth(NOW);
const TODAY = startOfDay(NOW);
const day = (d: Date) => d.toISOString().slice(0, 10);
/** The last 3 full months and the current one. */
const MONTHS = { start: day(addMonths(THIS_MONTH, -3)), end: day(addMonths(THIS_MONTH, 1)) };
/** The last full month. */
const LAST_MONTH = { start: day(addMonths(THIS_MONTH, -1)), end: day(THIS_MONTH) };
/** The last 2 full days (whole past days: the simulator's data for them no longer moves). */
const LAST_TWO_DAYS = { start: day(addDays(TODAY, -2)), end: day(TODAY) };

type Input = {
  account: string;
  categories: CategoryName[];
  start: string;
  end: string;
  pageSize?: number;
};

function withEnv(options: SimulatorOptions = {}) {
  const ctx = {} as { env: Harness };
  beforeAll(async () => {
    ctx.env = await startHarness({ sim: options, run: { waitOverrideMs: 0 } });
  });
  afterAll(async () => ctx.env.close());
  return ctx;
}

function summaryOf(result: LocalRunResult, category: CategoryName): CategorySummary {
  const summary = result.output.output.categories[category];
  if (!summary) throw new Error(`the run output has no summary for ${category}`);
  return summary;
}

/** The partitions of a skipped run (`from`..`to`, both included), checked against its window count. */
function skippedPartitions(kind: WindowKind, skipped: CategorySummary['skipped'][number]): string[] {
  const startOf = (partition: string) => new Date(partition.slice(partition.indexOf('=') + 1));
  const partitions = windowsFor(
    kind,
    startOf(skipped.from),
    nthWindowStart(kind, startOf(skipped.to), 1),
  ).map((w) => w.partition);
  expect(partitions[0]).toBe(skipped.from);
  expect(partitions.at(-1)).toBe(skipped.to);
  expect(partitions).toHaveLength(skipped.windows);
  return partitions;
}

/**
 * Proves that every record the simulator holds for the windows the run planned landed exactly once,
 * that the simulator served exactly those, and that each window's manifest matches its parts.
 */
async function expectLandedExactlyOnce(
  env: Harness,
  result: LocalRunResult,
  category: CategoryName,
  input: Input,
): Promise<{ manifests: Map<string, Manifest>; expected: Set<string> }> {
  const def = CATEGORIES[category];
  const options = parseOptions(input);
  const summary = summaryOf(result, category);
  expect(summary.failed).toBe(0);

  // The planned windows: the range's windows minus the ones the planner skipped as unavailable.
  const skipped = new Set(
    summary.skipped
      .filter((s) => s.account === input.account)
      .flatMap((s) => skippedPartitions(def.window, s)),
  );
  const planned = windowsFor(def.window, new Date(input.start), new Date(input.end)).filter(
    (w) => !skipped.has(w.partition),
  );
  expect(summary.windows).toBe(planned.length);

  const expected = new Set<string>();
  for (const w of planned) {
    for (const record of env.sim.expected(category, def.params(w, options))) {
      expected.add(env.sim.recordId(category, record));
    }
  }

  const root = `${PREFIX}/${category}/account=${input.account}/`;
  const { lines, visible, manifests, commits, keys } = await readLanded(env.s3.client, env.s3.bucket, root);
  expect(visible).toEqual(lines);
  const landed = countIds(
    lines.map(({ record }) => {
      const { ingest: _ingest, ...served } = record;
      return env.sim.recordId(category, served);
    }),
  );
  expect([...landed.keys()].sort()).toEqual([...expected].sort());
  expect([...landed].filter(([, n]) => n !== 1)).toEqual([]);
  const served = new Set(env.sim.served.filter((s) => s.category === category).map((s) => s.id));
  expect(served).toEqual(expected);
  expect(summary.records).toBe(expected.size);

  // One manifest per planned window, none for a skipped one; its counts and parts match the objects.
  expect([...manifests.keys()].sort()).toEqual(planned.map((w) => `${root}${w.partition}/`).sort());
  for (const [partition, manifest] of manifests) {
    const partKeys = keys.filter((k) => k.startsWith(partition) && k.endsWith('.json.gz'));
    expect(manifest.parts.map((p) => p.key)).toEqual(partKeys);
    expect(manifest.pages).toBe(partKeys.length);
    expect(manifest.records).toBe(lines.filter((l) => l.key.startsWith(partition)).length);
    expect(commits.get(partition)).toMatchObject({ fetch_id: manifest.fetch_id, records: manifest.records });
  }
  return { manifests, expected };
}

interface CategoryCase {
  category: CategoryName;
  range: { start: string; end: string };
  pageSize?: number;
  /** Windows of the range the planner must skip as not available. */
  skipped: number;
  paginated: boolean;
}

const CASES: CategoryCase[] = [
  { category: 'hourly_usage', range: LAST_TWO_DAYS, pageSize: 25, skipped: 0, paginated: true },
  { category: 'billable_summary', range: MONTHS, skipped: 0, paginated: false },
  { category: 'usage_summary', range: MONTHS, skipped: 0, paginated: false },
  { category: 'historical_cost', range: MONTHS, skipped: 0, paginated: false },
  // Estimated cost exists for the current and previous month only; projected for the current one.
  { category: 'estimated_cost', range: MONTHS, skipped: 2, paginated: false },
  { category: 'projected_cost', range: MONTHS, skipped: 3, paginated: false },
  { category: 'cost_attribution', range: MONTHS, skipped: 0, paginated: true },
  { category: 'usage_attribution', range: MONTHS, skipped: 0, paginated: true },
];

describe('Categories: every category lands what the simulator served, exactly once', () => {
  // Two records per attribution page, so a month of 3 orgs takes several pages.
  const ctx = withEnv({ attributionPageSize: 2, orgs: 3 });

  it.each(CASES)(
    '$category: every record of the planned windows lands exactly once',
    async ({ category, range, pageSize, skipped, paginated }) => {
      // Prepare
      const input: Input = {
        account: 'main',
        categories: [category],
        ...range,
        ...(pageSize ? { pageSize } : {}),
      };

      // Act
      const result = await ctx.env.run(input);

      // Assess: the run
      expect(result.output.execution_status).toBe('S_OK');
      const summary = summaryOf(result, category);
      expect(summary.skipped.reduce((n, s) => n + s.windows, 0)).toBe(skipped);
      expect(summary.windows).toBeGreaterThan(0);

      // Assess: exactly once, and the manifests
      const { manifests, expected } = await expectLandedExactlyOnce(ctx.env, result, category, input);
      // Projections appear around the 12th of the month; before that the current month has none.
      if (category !== 'projected_cost' || NOW.getUTCDate() >= 12) expect(expected.size).toBeGreaterThan(0);
      if (paginated) {
        expect([...manifests.values()].some((m) => m.parts.length > 1)).toBe(true);
        expect(summary.pages).toBeGreaterThan(summary.windows);
      } else {
        for (const m of manifests.values()) expect(m.parts).toHaveLength(1);
      }
      if (pageSize) {
        for (const m of manifests.values()) expect(m.request.params['page[limit]']).toBe(String(pageSize));
      }
    },
  );
});

describe('Categories: errors name the cause', () => {
  describe('wrong keys', () => {
    const ctx = withEnv();

    it('fails a cost category with DatadogAuthError naming usage_read and billing_read', async () => {
      // Prepare
      const input: Input = { account: 'main', categories: ['historical_cost'], ...LAST_MONTH };

      // Act
      const result = await ctx.env.run(input, { keys: { ...KEYS, apiKey: 'WRONG-API-KEY-5678' } });

      // Assess
      expect(result.output.execution_status).toBe('E_FAIL');
      const failures = summaryOf(result, 'historical_cost').failures;
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toBe('DatadogAuthError');
      expect(failures[0]?.message).toMatch(/historical_cost answered 403 Forbidden/);
      expect(failures[0]?.message).toMatch(/API key is invalid.*lacks the usage_read and billing_read/);
      expect(JSON.stringify(result.output)).not.toContain('WRONG-API-KEY-5678');
      const { keys } = await readLanded(ctx.env.s3.client, ctx.env.s3.bucket, `${PREFIX}/historical_cost/`);
      expect(keys).toEqual([]);
    });
  });

  describe('application key without billing_read', () => {
    const ctx = withEnv({ scopes: ['usage_read'] });

    it('lands the usage categories and fails the cost one with DatadogAuthError (a mixed run)', async () => {
      // Prepare: 2 days of hourly usage, and the month(s) those days fall in for the monthly ones
      const input: Input = {
        account: 'main',
        categories: ['hourly_usage', 'billable_summary', 'historical_cost'],
        ...LAST_TWO_DAYS,
      };

      // Act
      const result = await ctx.env.run(input);

      // Assess: the run fails because of the cost category alone
      expect(result.output.execution_status).toBe('E_FAIL');
      const cost = summaryOf(result, 'historical_cost');
      const months = windowsFor('month', new Date(input.start), new Date(input.end));
      expect(cost.windows).toBe(0);
      expect(cost.failed).toBe(months.length);
      expect(result.output.output.totals.failed).toBe(months.length);
      for (const failure of cost.failures) {
        expect(failure.error).toBe('DatadogAuthError');
        expect(failure.message).toMatch(/403 Forbidden/);
        expect(failure.message).toMatch(/billing_read/);
      }
      const { keys } = await readLanded(ctx.env.s3.client, ctx.env.s3.bucket, `${PREFIX}/historical_cost/`);
      expect(keys).toEqual([]);

      // Assess: the other categories' records are all there, exactly once
      await expectLandedExactlyOnce(ctx.env, result, 'hourly_usage', input);
      await expectLandedExactlyOnce(ctx.env, result, 'billable_summary', input);
    });
  });

  describe('child-org keys', () => {
    const ctx = withEnv({ parentOrg: false });

    it('fails the parent-only categories with DatadogRequestError saying parent org', async () => {
      // Prepare
      const input: Input = {
        account: 'main',
        categories: ['usage_summary', 'historical_cost'],
        ...LAST_MONTH,
      };

      // Act
      const result = await ctx.env.run(input);

      // Assess
      expect(result.output.execution_status).toBe('E_FAIL');
      for (const category of ['usage_summary', 'historical_cost'] as const) {
        const failures = summaryOf(result, category).failures;
        expect(failures).toHaveLength(1);
        expect(failures[0]?.error).toBe('DatadogRequestError');
        expect(failures[0]?.message).toContain(`${CATEGORIES[category].path} answered 400`);
        expect(failures[0]?.message).toMatch(/non-parent org keys/);
        expect(failures[0]?.message).toMatch(/only answers keys of the parent organization.*child org/);
      }
      expect(ctx.env.sim.served).toEqual([]);
    });
  });

  describe('an account on ddog-gov.com', () => {
    const ctx = withEnv({ site: 'ddog-gov.com' });

    it('skips cost_attribution with a reason naming the site, and never asks Datadog for it', async () => {
      // Prepare
      const accounts: AccountConfig[] = [{ name: 'gov', secretName: 'x', site: 'ddog-gov.com' }];
      const input: Input = {
        account: 'gov',
        categories: ['cost_attribution', 'usage_attribution'],
        ...LAST_MONTH,
      };

      // Act
      const result = await ctx.env.run(input, { accounts, keys: { ...KEYS, site: 'ddog-gov.com' } });

      // Assess: skipped, not failed
      expect(result.output.execution_status).toBe('S_OK');
      const cost = summaryOf(result, 'cost_attribution');
      expect(cost.windows).toBe(0);
      expect(cost.failed).toBe(0);
      expect(cost.skipped).toHaveLength(1);
      expect(cost.skipped[0]).toMatchObject({
        account: 'gov',
        from: `month=${LAST_MONTH.start.slice(0, 7)}`,
        to: `month=${LAST_MONTH.start.slice(0, 7)}`,
        windows: 1,
      });
      expect(cost.skipped[0]?.reason).toMatch(/cost_attribution is not available on the ddog-gov\.com site/);
      const path = CATEGORIES.cost_attribution.path;
      expect(ctx.env.sim.requests.filter((r) => r.path === path)).toEqual([]);
      const { keys } = await readLanded(ctx.env.s3.client, ctx.env.s3.bucket, `${PREFIX}/cost_attribution/`);
      expect(keys).toEqual([]);

      // Assess: the account's other categories still land
      await expectLandedExactlyOnce(ctx.env, result, 'usage_attribution', input);
    });
  });

  describe('429 that outlasts the waits', () => {
    const ctx = withEnv();

    it('fails the window with RateLimitedError while the other categories land', async () => {
      // Prepare: every historical_cost request is rate limited
      const path = CATEGORIES.historical_cost.path;
      ctx.env.sim.faults.push(
        {
          kind: 'status',
          status: 429,
          headers: {
            'x-ratelimit-reset': '1',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-limit': '10',
            'x-ratelimit-period': '1',
          },
        },
        { times: 1000, pathIncludes: path },
      );
      const input: Input = {
        account: 'main',
        categories: ['historical_cost', 'billable_summary', 'usage_attribution'],
        ...LAST_MONTH,
      };
      const maxWaits = 2;

      // Act: no inline waits in the client or the function, so every 429 goes to a Wait state
      const result = await ctx.env.run(input, {
        limits: { maxStalledWaits: maxWaits, maxInlineWaitSeconds: 0 },
        clientOptions: { maxInlineWaits: 0 },
      });

      // Assess: the run
      expect(result.output.execution_status).toBe('E_FAIL');
      const failures = summaryOf(result, 'historical_cost').failures;
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toBe('RateLimitedError');
      expect(failures[0]?.message).toMatch(
        /GET \/api\/v2\/usage\/historical_cost answered 429 Too Many Requests/,
      );
      expect(failures[0]?.message).toMatch(/reset in 1 s/);
      expect(result.stats.waitStates).toBe(maxWaits);
      // The first try, then one more after each Wait state.
      expect(ctx.env.sim.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual(
        Array.from({ length: maxWaits + 1 }, () => 429),
      );

      // Assess: the other categories of the same run land
      await expectLandedExactlyOnce(ctx.env, result, 'billable_summary', input);
      await expectLandedExactlyOnce(ctx.env, result, 'usage_attribution', input);
    });
  });

  describe('a burst of 503s', () => {
    const ctx = withEnv({ attributionPageSize: 2 });

    it('recovers with the client retries: S_OK and every record exactly once', async () => {
      // Prepare: the second page's request (the first carrying a cursor) answers 503 twice
      ctx.env.sim.faults.push({ kind: 'status', status: 503 }, { times: 2, pathIncludes: 'next_record_id=' });
      const input: Input = { account: 'main', categories: ['usage_attribution'], ...LAST_MONTH };

      // Act
      const result = await ctx.env.run(input, { clientOptions: { baseDelayMs: 1 } });

      // Assess
      expect(result.output.execution_status).toBe('S_OK');
      expect(ctx.env.sim.requests.filter((r) => r.status === 503)).toHaveLength(2);
      const { manifests } = await expectLandedExactlyOnce(ctx.env, result, 'usage_attribution', input);
      expect([...manifests.values()].some((m) => m.parts.length > 1)).toBe(true);
    });
  });
});
