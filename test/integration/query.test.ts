import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_FOCUS_TABLE, EXAMPLE_QUERIES } from '../../infra/athena/example-queries.ts';
import { FOCUS_SERVICE_CATEGORIES } from '../../infra/athena/focus-services.ts';
import { TABLES } from '../../infra/athena/tables.ts';
import {
  DIALECTS,
  FOCUS_MANDATORY_COLUMNS,
  FOCUS_NON_NULL_COLUMNS,
  VIEWS,
} from '../../infra/athena/views.ts';
import { parseSettings } from '../../infra/config.ts';
import { synthesizeStack } from '../../infra/definition.ts';
import { CATEGORIES, CATEGORY_NAMES, type CategoryName, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { commitKey, parsePartitionKey, partitionOfCommitKey, partKey } from '../../lambdas/core/layout.ts';
import { windowsFor } from '../../lambdas/core/windows.ts';
import { type Harness, listKeys, startHarness } from '../../local/harness.ts';
import { type LocalLake, main, openLocalLake } from '../../local/query.ts';

/** The simulator's and the pipeline's clock: historical October is closed, estimated and projected exist for November. */
const CLOCK = new Date('2026-11-20T12:00:00Z');
const now = () => CLOCK;
const PREFIX = 'dd';
const ACCOUNTS = [
  { name: 'main', secretName: 'local', site: 'datadoghq.com' as const },
  { name: 'eu', secretName: 'local', site: 'datadoghq.com' as const },
];
const START = new Date('2026-10-31T00:00:00Z');
const END = new Date('2026-11-02T00:00:00Z');
const OPTIONS = { ...DEFAULT_OPTIONS, tagBreakdownKeys: ['team', 'service'] };

type Row = Record<string, unknown>;

async function rows(lake: LocalLake, sql: string): Promise<Row[]> {
  return (await lake.run(sql)).getRowObjectsJS() as Row[];
}

/** Every record the simulator holds for a category over the run's windows. */
function expected(env: Harness, category: CategoryName, month?: string): Array<Record<string, unknown>> {
  return windowsFor(CATEGORIES[category].window, START, END)
    .filter((w) => month === undefined || w.partition === `month=${month}`)
    .flatMap((w) => env.sim.expected(category, CATEGORIES[category].params(w, OPTIONS)))
    .map((r) => r as Record<string, unknown>);
}

type CostRecord = {
  attributes: {
    public_id: string;
    charges: Array<{ product_name: string; charge_type: string; cost: number }>;
  };
};

describe('Function: openLocalLake (tables and views over a local run)', () => {
  let env: Harness;
  let lake: LocalLake;

  beforeAll(async () => {
    env = await startHarness({ sim: { now } });
    const result = await env.run(
      {
        account: ['main', 'eu'],
        categories: 'all',
        start: START.toISOString().slice(0, 10),
        end: END.toISOString().slice(0, 10),
        tagBreakdownKeys: OPTIONS.tagBreakdownKeys,
      },
      { accounts: ACCOUNTS, prefix: PREFIX, now },
    );
    expect(result.output.execution_status).toBe('S_OK');
    lake = await openLocalLake({ s3Directory: env.s3.directory, bucket: env.s3.bucket, prefix: PREFIX });
  });
  afterAll(async () => {
    lake?.close();
    await env?.close();
  });

  it('puts every landed part in exactly one partition of one table, as partition projection resolves it', async () => {
    // Prepare: the Glue tables of the deployed stack, for these accounts and this prefix
    const { template } = synthesizeStack(parseSettings({ prefix: PREFIX, accounts: ACCOUNTS }));
    const tables = Object.values(template.findResources('AWS::Glue::Table'))
      .map((r) => r.Properties.TableInput)
      .filter((t) => t.TableType === 'EXTERNAL_TABLE' && t.Name.endsWith('_raw'))
      .map((t) => {
        const join = t.Parameters['storage.location.template']['Fn::Join'] as [string, unknown[]];
        const location = join[1].map((p) => (typeof p === 'string' ? p : env.s3.bucket)).join(join[0]);
        const partition = t.PartitionKeys[1].Name as string;
        const [start, end] = String(t.Parameters[`projection.${partition}.range`]).split(',');
        return {
          name: t.Name as string,
          location,
          partition,
          accounts: String(t.Parameters['projection.account.values']).split(','),
          format: String(t.Parameters[`projection.${partition}.format`]),
          start: start as string,
          end: end as string,
        };
      });
    const keys = await listKeys(env.s3.client, env.s3.bucket, `${PREFIX}/`);
    const parts = keys.filter((k) => parsePartitionKey(k)?.kind === 'part');

    // Act: resolve each part against every table's template
    const resolved = parts.map((key) => {
      const url = `s3://${env.s3.bucket}/${key}`;
      const dir = url.slice(0, url.lastIndexOf('/') + 1);
      const matches = tables.flatMap((t) => {
        const pattern = t.location
          .replace(/[.*+?^()|[\]\\]/g, '\\$&')
          .replace(/\$\{(\w+)\}/g, (_m, name: string) => `(?<${name}>[^/]+)`);
        const m = new RegExp(`^${pattern}$`).exec(dir);
        return m?.groups ? [{ table: t, values: m.groups }] : [];
      });
      return { key, dir, matches };
    });

    // Assess
    expect(parts.length).toBeGreaterThan(CATEGORY_NAMES.length * ACCOUNTS.length);
    for (const name of CATEGORY_NAMES)
      expect(parts.some((k) => k.startsWith(`${PREFIX}/${name}/`))).toBe(true);
    for (const { key, dir, matches } of resolved) {
      expect(matches, key).toHaveLength(1);
      const [{ table, values }] = matches as [(typeof matches)[number]];
      const account = values.account as string;
      const value = values[table.partition] as string;
      expect(table.accounts).toContain(account);
      // The Java date format of the projection parses the value, and the value lies in the range.
      const javaToRegex = table.format
        .replace('yyyy', '\\d{4}')
        .replace('MM', '\\d{2}')
        .replace('dd', '\\d{2}');
      expect(value).toMatch(new RegExp(`^${javaToRegex}$`));
      const date = new Date(`${value}${table.format === 'yyyy-MM' ? '-01' : ''}T00:00:00Z`);
      expect(date.toISOString().slice(0, value.length)).toBe(value);
      expect(value >= table.start).toBe(true);
      expect(table.end).toBe('NOW');
      expect(date.getTime()).toBeLessThanOrEqual(Date.now());
      // Substituting the projected values into the template gives the part's directory.
      expect(table.location.replace(`\${account}`, account).replace(`\${${table.partition}}`, value)).toBe(
        dir,
      );
      expect(key.startsWith(`${PREFIX}/${table.name.replace(/_raw$/, '')}/`)).toBe(true);
    }
    // Everything else is a manifest (ignored by Athena: it starts with _), run bookkeeping, or a
    // commit record, which lies outside every partition folder the tables read.
    for (const key of keys.filter((k) => !parts.includes(k))) {
      const hidden = key.split('/').some((segment) => segment.startsWith('_'));
      expect(hidden || partitionOfCommitKey(key) !== undefined, key).toBe(true);
      if (!hidden) {
        const dir = `s3://${env.s3.bucket}/${key.slice(0, key.lastIndexOf('/') + 1)}`;
        for (const t of tables) {
          expect(dir.startsWith(t.location.slice(0, t.location.indexOf('${')))).toBe(false);
        }
      }
    }
  });

  it('sums measurements to what the simulator served, with hours as UTC timestamps', async () => {
    // Prepare
    const served = new Map<string, number>();
    let measurements = 0;
    for (const r of expected(env, 'hourly_usage')) {
      const a = r.attributes as { product_family: string; measurements: Array<{ value: number | null }> };
      for (const m of a.measurements) {
        measurements += 1;
        served.set(a.product_family, (served.get(a.product_family) ?? 0) + (m.value ?? 0));
      }
    }

    // Act
    const sums = await rows(
      lake,
      `SELECT product_family, sum(value) AS total, count(*) AS n FROM hourly_usage_measurements
       WHERE account = 'main' GROUP BY 1 ORDER BY 1`,
    );
    const [range] = await rows(
      lake,
      `SELECT min(hour) AS first, max(hour) AS last, count(DISTINCT "day") AS days
       FROM hourly_usage_measurements WHERE account = 'eu'`,
    );

    // Assess
    expect(served.size).toBeGreaterThan(3);
    expect(Object.fromEntries(sums.map((r) => [r.product_family, Number(r.total)]))).toEqual(
      Object.fromEntries(served),
    );
    expect(sums.reduce((n, r) => n + Number(r.n), 0)).toBe(measurements);
    expect(range?.first).toEqual(new Date('2026-10-31T00:00:00Z'));
    expect(range?.last).toEqual(new Date('2026-11-01T23:00:00Z'));
    expect(Number(range?.days)).toBe(2);
  });

  it('adds on-demand and committed up to the total per product of historical cost, and never counts a total row', async () => {
    // Prepare: Datadog's own total per org and product for the closed month
    const totals = new Map<string, number>();
    for (const r of expected(env, 'historical_cost', '2026-10') as unknown as CostRecord[]) {
      for (const c of r.attributes.charges.filter((c) => c.charge_type === 'total')) {
        totals.set(`${r.attributes.public_id}|${c.product_name}`, c.cost);
      }
    }

    // Act
    const historical = await rows(
      lake,
      `SELECT account, public_id, product_name, sum(cost) AS cost, count(*) AS n FROM monthly_cost
       WHERE month = DATE '2026-10-01' AND cost_source = 'historical' GROUP BY 1, 2, 3`,
    );
    const chargeTypes = await rows(lake, `SELECT DISTINCT charge_type FROM monthly_cost ORDER BY 1`);

    // Assess
    expect(totals.size).toBeGreaterThan(6);
    for (const account of ['main', 'eu']) {
      const mine = historical.filter((r) => r.account === account);
      expect(mine).toHaveLength(totals.size);
      for (const r of mine) {
        expect(Number(r.n)).toBe(2);
        expect(Number(r.cost)).toBeCloseTo(totals.get(`${r.public_id}|${r.product_name}`) as number, 6);
      }
    }
    expect(chargeTypes.map((r) => r.charge_type)).toEqual(['committed', 'on_demand']);
  });

  it('takes estimated cost only for months without historical, and projected only where neither exists', async () => {
    // Act
    const sources = await rows(
      lake,
      `SELECT account, CAST(month AS VARCHAR) AS month, list(DISTINCT cost_source) AS sources, sum(cost) AS cost
       FROM monthly_cost GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const landed = await rows(
      lake,
      `SELECT 'estimated' AS source, "month", count(*) AS n FROM estimated_cost GROUP BY 2
       UNION ALL SELECT 'projected', "month", count(*) FROM projected_cost GROUP BY 2 ORDER BY 1, 2`,
    );
    const estimatedNovember = (expected(env, 'estimated_cost', '2026-11') as unknown as CostRecord[])
      .flatMap((r) => r.attributes.charges)
      .filter((c) => c.charge_type === 'total')
      .reduce((s, c) => s + c.cost, 0);

    // Assess: estimated October and projected November landed, and the view shows neither
    expect(landed.map((r) => `${r.source} ${r.month}`)).toEqual(
      expect.arrayContaining(['estimated 2026-10', 'estimated 2026-11', 'projected 2026-11']),
    );
    expect(sources.map((r) => [r.account, r.month, r.sources])).toEqual([
      ['eu', '2026-10-01', ['historical']],
      ['eu', '2026-11-01', ['estimated']],
      ['main', '2026-10-01', ['historical']],
      ['main', '2026-11-01', ['estimated']],
    ]);
    expect(Number(sources[3]?.cost)).toBeCloseTo(estimatedNovember, 6);
  });

  it('breaks cost attribution down by tag so that each tag key sums to the attributed total', async () => {
    // Prepare
    const records = expected(env, 'cost_attribution', '2026-10');
    const total = records
      .flatMap((r) => Object.entries((r.attributes as { values: Record<string, number> }).values))
      .filter(([field]) => field.endsWith('_total_cost'))
      .reduce((s, [, v]) => s + v, 0);

    // Act
    const byKey = await rows(
      lake,
      `SELECT tag_key, sum(value) AS cost, count(*) FILTER (WHERE tag_value IS NULL) AS untagged,
         count(*) FILTER (WHERE tag_value = '<empty>') AS empty_value
       FROM cost_by_tag WHERE account = 'main' AND field LIKE '%_total_cost' GROUP BY 1 ORDER BY 1`,
    );

    // Assess
    expect(records.length).toBeGreaterThan(10);
    expect(byKey.map((r) => r.tag_key)).toEqual(['service', 'team']);
    for (const r of byKey) {
      expect(Number(r.cost)).toBeCloseTo(total, 4);
      expect(Number(r.untagged)).toBeGreaterThan(0);
    }
    expect(Number(byKey[1]?.empty_value)).toBeGreaterThan(0);
  });

  it('gives FOCUS 1.2 every mandatory column, non-null where FOCUS requires, for every non-projected cost', async () => {
    // Act
    const columns = await rows(lake, 'DESCRIBE focus_datadog');
    const nulls = await rows(
      lake,
      `SELECT ${FOCUS_NON_NULL_COLUMNS.map((c) => `count(*) FILTER (WHERE "${c}" IS NULL) AS "${c}"`).join(', ')}
       FROM focus_datadog`,
    );
    const [focus] = await rows(
      lake,
      `SELECT count(*) AS n, sum(BilledCost) AS billed, count(DISTINCT x_cost_source) AS sources,
         count(*) FILTER (WHERE ChargeCategory = 'Usage' AND ChargeClass IS NULL AND BillingCurrency = 'USD'
           AND BillingPeriodEnd = BillingPeriodStart + INTERVAL 1 MONTH AND EffectiveCost = BilledCost) AS valid,
         list(DISTINCT ServiceCategory) AS categories, count(*) FILTER (WHERE ServiceName = x_product) AS unmapped
       FROM focus_datadog`,
    );
    const [cost] = await rows(
      lake,
      `SELECT count(*) AS n, sum(cost) AS cost FROM monthly_cost WHERE cost_source <> 'projected'`,
    );

    // Assess
    const names = columns.map((c) => c.column_name);
    for (const column of FOCUS_MANDATORY_COLUMNS) expect(names).toContain(column);
    for (const column of ['SubAccountId', 'SubAccountName', 'x_cost_source', 'x_charge_type', 'x_account']) {
      expect(names).toContain(column);
    }
    expect(nulls[0]).toEqual(Object.fromEntries(FOCUS_NON_NULL_COLUMNS.map((c) => [c, 0n])));
    expect(Number(focus?.n)).toBe(Number(cost?.n));
    expect(Number(focus?.n)).toBeGreaterThan(0);
    expect(Number(focus?.valid)).toBe(Number(focus?.n));
    expect(Number(focus?.billed)).toBeCloseTo(Number(cost?.cost), 4);
    expect(Number(focus?.unmapped)).toBe(0);
    for (const category of (focus?.categories ?? []) as string[]) {
      expect(FOCUS_SERVICE_CATEGORIES).toHaveProperty(category);
    }
  });

  it('declares each view column with the type DuckDB computes for it', async () => {
    for (const view of VIEWS) {
      // Act
      const described = await rows(lake, `DESCRIBE "${view.name}"`);

      // Assess
      expect(described.map((c) => [c.column_name, c.column_type])).toEqual(
        view.columns.map((c) => [c.name, DIALECTS.duckdb.type(c.type)]),
      );
    }
  });

  it('answers how fresh each window is and whether it is final from the windows table', async () => {
    // Act
    const windows = await rows(
      lake,
      `SELECT category, account, window_key, status, fetched_at, run_id, records, pages FROM windows ORDER BY 1, 2, 3`,
    );

    // Assess: one row per committed window of every category and account, counts as the views show
    const expectedWindows = CATEGORY_NAMES.flatMap((c) =>
      ACCOUNTS.flatMap((a) =>
        windowsFor(CATEGORIES[c].window, START, END)
          .filter((w) => c !== 'estimated_cost' || w.partition >= 'month=2026-10')
          .filter((w) => c !== 'projected_cost' || w.partition === 'month=2026-11')
          .map((w) => `${c} ${a.name} ${w.partition.split('=')[1]}`),
      ),
    ).sort();
    expect(windows.map((w) => `${w.category} ${w.account} ${w.window_key}`).sort()).toEqual(expectedWindows);
    const status = (category: string, key: string) =>
      windows.find((w) => w.category === category && w.window_key === key && w.account === 'main')?.status;
    // Fetched on 2026-11-20: a day is final 72 h after it ends; October's cost closed on the 16th and its
    // attribution on the 19th; November is still open; estimates and forecasts are never final.
    expect(status('hourly_usage', '2026-10-31')).toBe('final');
    expect(status('historical_cost', '2026-10')).toBe('final');
    expect(status('cost_attribution', '2026-10')).toBe('final');
    expect(status('usage_summary', '2026-11')).toBe('provisional');
    expect(status('estimated_cost', '2026-10')).toBe('provisional');
    expect(status('projected_cost', '2026-11')).toBe('provisional');
    for (const w of windows) {
      expect(w.fetched_at).toBe(CLOCK.toISOString());
      expect(w.run_id).toMatch(/^local-/);
    }
    const [hourly] = await rows(
      lake,
      `SELECT count(*) AS n FROM hourly_usage WHERE account = 'main' AND "day" = '2026-10-31'`,
    );
    expect(windows.find((w) => w.category === 'hourly_usage' && w.window_key === '2026-10-31')?.records).toBe(
      hourly?.n,
    );
  });

  it('answers every example question, Datadog next to an AWS FOCUS table too', async () => {
    // Prepare: a stand-in for the CUR 2.0 FOCUS export
    const [schema, table] = AWS_FOCUS_TABLE.split('.');
    await lake.run(`CREATE SCHEMA ${schema}`);
    await lake.run(
      `CREATE TABLE ${schema}.${table} AS SELECT 'AWS' AS ProviderName, 'Compute' AS ServiceCategory,
         TIMESTAMP '2026-10-01' AS ChargePeriodStart, CAST(1234.5 AS DECIMAL(18, 6)) AS EffectiveCost`,
    );

    for (const example of EXAMPLE_QUERIES) {
      // Act
      const result = await rows(lake, example.sql);

      // Assess
      expect(result.length, example.name).toBeGreaterThan(0);
    }
    const focus = await rows(lake, EXAMPLE_QUERIES.at(-1)?.sql as string);
    expect(new Set(focus.map((r) => r.ProviderName))).toEqual(new Set(['AWS', 'Datadog']));
  });
});

const FETCH = '20261115T000000000Z-0000-0a1b2c3d';

/**
 * A committed window as a run leaves it, where s3rver keeps it (`<data-dir>/s3/local/<key>._S3rver_object`):
 * one gzip NDJSON part of fetch {@link FETCH}, and the commit record naming that fetch.
 */
function writePart(dataDir: string, table: CategoryName, account: string, value: string, records: unknown[]) {
  const ref = {
    prefix: 'datadog',
    category: table,
    account,
    partition: `${TABLES[table].partition.name}=${value}`,
  };
  const put = (key: string, body: Buffer | string) => {
    const file = path.join(dataDir, 's3', 'local', `${key}._S3rver_object`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
  };
  const lines = records
    .map((r) => {
      const record = r as { ingest: Record<string, unknown> };
      return `${JSON.stringify({ ...record, ingest: { ...record.ingest, fetch_id: FETCH } })}\n`;
    })
    .join('');
  put(partKey(ref, FETCH, 0), gzipSync(lines));
  put(commitKey(ref), `${JSON.stringify({ window_key: value, fetch_id: FETCH, records: records.length })}\n`);
}

const costRecord = (month: string, charges: Array<[string, string, number]>, projected = false) => ({
  id: `${month}-${projected}`,
  type: projected ? 'projected_cost' : 'cost_by_org',
  attributes: {
    org_name: 'Acme',
    public_id: 'acme1',
    account_name: 'Acme Inc',
    account_public_id: 'acct1',
    region: 'eu',
    date: `${month}-01T00:00:00+00:00`,
    charges: charges.map(([product_name, charge_type, cost]) => ({ product_name, charge_type, cost })),
  },
  ingest: { account: 'acme', category: 'x', window_start: '', window_end: '', page: 0, fetched_at: '' },
});

describe('Function: npm run query (local/query.ts)', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'query-data-'));
    writePart(dataDir, 'historical_cost', 'acme', '2026-07', [
      costRecord('2026-07', [
        ['infra_host', 'committed', 10],
        ['infra_host', 'total', 10],
        ['quantum_widgets', 'on_demand', 5],
        ['quantum_widgets', 'total', 5],
      ]),
    ]);
    writePart(dataDir, 'estimated_cost', 'acme', '2026-07', [
      costRecord('2026-07', [['infra_host', 'committed', 99]]),
    ]);
    writePart(dataDir, 'estimated_cost', 'acme', '2026-08', [
      costRecord('2026-08', [['infra_host', 'committed', 20]]),
    ]);
    writePart(dataDir, 'projected_cost', 'acme', '2026-08', [
      costRecord('2026-08', [['infra_host', 'projected_committed', 77]], true),
    ]);
    writePart(dataDir, 'projected_cost', 'acme', '2026-09', [
      costRecord('2026-09', [['infra_host', 'projected_committed', 30]], true),
    ]);
    writePart(dataDir, 'cost_attribution', 'acme', '2026-07', [
      {
        id: 'a',
        type: 'cost_by_tag',
        attributes: { month: '2026-07-01T00:00:00+00:00', org_name: 'Acme', public_id: 'acme1', tags: null },
      },
    ]);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function query(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(
      ['--data-dir', dataDir, ...args],
      (t) => {
        out += t;
      },
      (t) => {
        err += t;
      },
    );
    return { code, out, err };
  }

  it('picks one cost source per month and keeps unknown products under their raw name', async () => {
    // Act
    const cost = await query(
      '--format',
      'json',
      'SELECT CAST(month AS VARCHAR) AS month, product_name, cost_source, cost FROM monthly_cost ORDER BY 1, 2',
    );
    const focus = await query(
      '--format',
      'json',
      `SELECT ServiceName, ServiceCategory, x_cost_source, BilledCost FROM focus_datadog ORDER BY 1, 3`,
    );

    // Assess
    expect(cost.code).toBe(0);
    expect(JSON.parse(cost.out)).toEqual([
      { month: '2026-07-01', product_name: 'infra_host', cost_source: 'historical', cost: 10 },
      { month: '2026-07-01', product_name: 'quantum_widgets', cost_source: 'historical', cost: 5 },
      { month: '2026-08-01', product_name: 'infra_host', cost_source: 'estimated', cost: 20 },
      { month: '2026-09-01', product_name: 'infra_host', cost_source: 'projected', cost: 30 },
    ]);
    expect(JSON.parse(focus.out)).toEqual([
      {
        ServiceName: 'Infrastructure Monitoring',
        ServiceCategory: 'Management and Governance',
        x_cost_source: 'estimated',
        BilledCost: 20,
      },
      {
        ServiceName: 'Infrastructure Monitoring',
        ServiceCategory: 'Management and Governance',
        x_cost_source: 'historical',
        BilledCost: 10,
      },
      {
        ServiceName: 'quantum_widgets',
        ServiceCategory: 'Other',
        x_cost_source: 'historical',
        BilledCost: 5,
      },
    ]);
  });

  it('keeps tables without data queryable, empty, and prints tables and CSV', async () => {
    // Act
    const empty = await query('SELECT count(*) AS n FROM hourly_usage_measurements');
    const list = await query();
    const tags = await query('--format', 'csv', 'SELECT tag_key, tag_value, field FROM cost_by_tag');
    const failed = await query('SELECT nope FROM nowhere');
    const badFormat = await query('--format', 'xml', 'SELECT 1');

    // Assess
    expect(empty.code).toBe(0);
    expect(empty.out).toMatch(/^n\n─+\n0\n\(1 row\)\n$/);
    expect(list.out).toContain('focus_datadog');
    expect(list.out).toMatch(/table │ usage_summary\s+│\s+0/);
    expect(tags.out).toBe('tag_key,tag_value,field\n');
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/Query failed: .*nowhere/);
    expect(badFormat.code).toBe(2);
  });
});
