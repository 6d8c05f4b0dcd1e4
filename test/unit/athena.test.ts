import '../../local/node20.ts';
import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_QUERIES } from '../../infra/athena/example-queries.ts';
import { FOCUS_SERVICES, parseFocusServices } from '../../infra/athena/focus-services.ts';
import {
  committedViewSql,
  duckdbType,
  hiveType,
  locationTemplate,
  partitionColumns,
  prestoType,
  rawTableName,
  structFields,
  TABLES,
  tableLocation,
  WINDOWS_TABLE,
} from '../../infra/athena/tables.ts';
import { PRESTO_VIEW_TYPES, prestoView, renderView, VIEWS } from '../../infra/athena/views.ts';
import { parseSettings } from '../../infra/config.ts';
import { DEFAULT_PROJECTION_START } from '../../infra/constructs/athena-lake.ts';
import { synthesizeStack } from '../../infra/definition.ts';
import { CATEGORIES, CATEGORY_NAMES } from '../../lambdas/categories.ts';
import { commitKey, partKey } from '../../lambdas/core/layout.ts';

const settings = parseSettings({
  prefix: 'dd',
  accounts: [
    { name: 'main', secretName: 'dd/main', site: 'datadoghq.com' },
    { name: 'eu', secretName: 'dd/eu', site: 'datadoghq.eu' },
  ],
});
const { template } = synthesizeStack(settings);

type TableInput = {
  Name: string;
  TableType: string;
  Parameters: Record<string, unknown>;
  PartitionKeys: Array<{ Name: string; Type: string }>;
  StorageDescriptor: {
    Columns: Array<{ Name: string; Type: string }>;
    Location?: unknown;
    SerdeInfo: { SerializationLibrary?: string };
  };
  ViewOriginalText?: string;
  ViewExpandedText?: string;
};
const glueTables = Object.values(template.findResources('AWS::Glue::Table')).map(
  (r) => r.Properties.TableInput as TableInput,
);
const byName = (name: string) => glueTables.find((t) => t.Name === name);

/** `Fn::Join` with the data bucket's Ref in place of the bucket name. */
function joined(value: unknown, bucket: string): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : bucket)).join(join[0]);
}

describe('Function: AthenaLake (Glue tables)', () => {
  it('creates one raw JSON SerDe table per category with projection on account and day or month', () => {
    // Assess
    const tables = glueTables.filter((t) => t.TableType === 'EXTERNAL_TABLE');
    expect(tables.map((t) => t.Name).sort()).toEqual(
      [...CATEGORY_NAMES.map(rawTableName), WINDOWS_TABLE.name].sort(),
    );
    for (const name of CATEGORY_NAMES) {
      const table = byName(rawTableName(name)) as TableInput;
      const partition = CATEGORIES[name].window;
      const params = table.Parameters;
      expect(params['projection.enabled']).toBe('true');
      expect(params['projection.account.type']).toBe('enum');
      expect(params['projection.account.values']).toBe('main,eu');
      expect(params[`projection.${partition}.type`]).toBe('date');
      expect(params[`projection.${partition}.format`]).toBe(partition === 'day' ? 'yyyy-MM-dd' : 'yyyy-MM');
      expect(params[`projection.${partition}.range`]).toBe(
        `${partition === 'day' ? DEFAULT_PROJECTION_START : DEFAULT_PROJECTION_START.slice(0, 7)},NOW`,
      );
      expect(table.PartitionKeys).toEqual([
        expect.objectContaining({ Name: 'account', Type: 'string' }),
        expect.objectContaining({ Name: partition, Type: 'string' }),
      ]);
      expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
        'org.openx.data.jsonserde.JsonSerDe',
      );
      expect(table.StorageDescriptor.Columns.at(-1)?.Name).toBe('ingest');
      const template = joined(params['storage.location.template'], 'BUCKET');
      expect(template).toBe(`s3://BUCKET/dd/${name}/account=\${account}/${partition}=\${${partition}}/`);
      expect(joined(table.StorageDescriptor.Location, 'BUCKET')).toBe(`s3://BUCKET/dd/${name}/`);
    }
  });

  it('never names a column like a partition column, mapping the JSON key instead', () => {
    // Assess: Hive refuses a table whose partition key repeats a column
    for (const name of [...CATEGORY_NAMES.map(rawTableName), WINDOWS_TABLE.name]) {
      const table = byName(name) as TableInput;
      const partitions = table.PartitionKeys.map((k) => k.Name);
      for (const column of table.StorageDescriptor.Columns) expect(partitions).not.toContain(column.Name);
    }
    const attribution = byName('usage_attribution_raw') as TableInput & {
      StorageDescriptor: { SerdeInfo: { Parameters: Record<string, string> } };
    };
    expect(attribution.StorageDescriptor.SerdeInfo.Parameters).toMatchObject({
      'mapping.record_month': 'month',
      'case.insensitive': 'false',
    });
  });

  it('types nested records as nested Hive structs', () => {
    // Assess
    const columns = byName('hourly_usage_raw')?.StorageDescriptor.Columns ?? [];
    expect(columns.find((c) => c.Name === 'attributes')?.Type).toBe(
      'struct<org_name:string,public_id:string,account_name:string,account_public_id:string,region:string,' +
        'product_family:string,timestamp:string,measurements:array<struct<usage_type:string,value:bigint>>>',
    );
    expect(columns.find((c) => c.Name === 'ingest')?.Type).toBe(
      'struct<account:string,category:string,window_start:string,window_end:string,page:bigint,fetched_at:string,fetch_id:string>',
    );
    const attribution = byName('cost_attribution_raw')?.StorageDescriptor.Columns ?? [];
    expect(attribution.find((c) => c.Name === 'attributes')?.Type).toContain(
      'tags:map<string,array<string>>,values:map<string,double>',
    );
  });

  it('renders one column list as Hive and DuckDB types', () => {
    // Prepare
    const type = { array: { struct: { usage_type: 'string', value: 'bigint' } } } as const;

    // Act / Assess
    expect(hiveType(type)).toBe('array<struct<usage_type:string,value:bigint>>');
    expect(duckdbType(type)).toBe('STRUCT("usage_type" VARCHAR, "value" BIGINT)[]');
    expect(duckdbType({ map: { array: 'string' } })).toBe('MAP(VARCHAR, VARCHAR[])');
    expect(structFields('historical_cost', ['attributes', 'charges'])).toEqual([
      'product_name',
      'charge_type',
      'cost',
    ]);
    expect(() => structFields('historical_cost', ['attributes', 'date'])).toThrow(/not an array of structs/);
  });

  it('resolves the location template to the directory of the keys the writer produces', () => {
    // Prepare
    const ref = {
      bucket: 'b',
      prefix: 'a/b',
      category: 'usage_summary' as const,
      account: 'main',
      partition: 'month=2026-09',
    };

    // Act
    const resolved = locationTemplate('b', 'a/b', 'usage_summary')
      .replace(`\${account}`, 'main')
      .replace(`\${month}`, '2026-09');

    // Assess
    const fetch = '20260901T000000000Z-0000-00000000';
    expect(`s3://b/${partKey(ref, fetch, 3)}`.startsWith(resolved)).toBe(true);
    expect(`s3://b/${partKey(ref, fetch, 3)}`.slice(resolved.length)).toBe(`part-00003.${fetch}.json.gz`);
    expect(tableLocation('b', '', 'hourly_usage')).toBe('s3://b/hourly_usage/');
    expect(locationTemplate('b', '', 'hourly_usage')).toBe(
      `s3://b/hourly_usage/account=\${account}/day=\${day}/`,
    );
  });
});

describe('Function: AthenaLake (windows table)', () => {
  it('reads the commit records, partitioned by category and account, from where the writer puts them', () => {
    // Prepare
    const table = byName('windows') as TableInput;
    const key = commitKey({
      prefix: 'dd',
      category: 'usage_summary',
      account: 'eu',
      partition: 'month=2026-09',
    });

    // Act
    const resolved = joined(table.Parameters['storage.location.template'], 'BUCKET')
      .replace(`\${category}`, 'usage_summary')
      .replace(`\${account}`, 'eu');

    // Assess
    expect(table.PartitionKeys.map((k) => k.Name)).toEqual(['category', 'account']);
    expect(table.Parameters['projection.category.values']).toBe(CATEGORY_NAMES.join(','));
    expect(table.Parameters['projection.account.values']).toBe('main,eu');
    expect(`s3://BUCKET/${key}`.startsWith(resolved)).toBe(true);
    expect(`s3://BUCKET/${key}`.slice(resolved.length)).toBe('month=2026-09.json');
    expect(table.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(
      WINDOWS_TABLE.columns.map((c) => c.name),
    );
  });
});

describe('Function: AthenaLake (views)', () => {
  it('shows each category as a view of its raw table joined on the committed fetch', () => {
    // Assess
    for (const name of CATEGORY_NAMES) {
      const table = byName(name) as TableInput;
      const def = TABLES[name];
      expect(table.TableType).toBe('VIRTUAL_VIEW');
      const match = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(table.ViewOriginalText ?? '');
      const decoded = JSON.parse(Buffer.from(match?.[1] ?? '', 'base64').toString('utf8'));
      expect(decoded.originalSql).toBe(committedViewSql(def));
      expect(decoded.originalSql).toContain(`FROM "${rawTableName(name)}" AS r`);
      expect(decoded.originalSql).toContain('w.fetch_id = coalesce(r.ingest.fetch_id');
      const columns = [...def.columns, ...partitionColumns(def)];
      expect(decoded.columns).toEqual(columns.map((c) => ({ name: c.name, type: prestoType(c.type) })));
      expect(table.StorageDescriptor.Columns.map((c) => c.Type)).toEqual(
        columns.map((c) => hiveType(c.type)),
      );
    }
    expect(prestoType({ array: { struct: { usage_type: 'string', value: 'bigint' } } })).toBe(
      'array(row(usage_type varchar, value bigint))',
    );
    expect(prestoType({ map: 'double' })).toBe('map(varchar, double)');
  });

  it('creates every view as a VIRTUAL_VIEW whose Presto view JSON holds exactly the rendered Athena SQL', () => {
    // Assess
    const views = glueTables.filter((t) => t.TableType === 'VIRTUAL_VIEW');
    expect(views.map((v) => v.Name).sort()).toEqual([...CATEGORY_NAMES, ...VIEWS.map((v) => v.name)].sort());
    for (const view of VIEWS) {
      const table = byName(view.name) as TableInput;
      expect(table.Parameters).toEqual({ presto_view: 'true', comment: 'Presto View' });
      expect(table.ViewExpandedText).toBe('/* Presto View */');
      const match = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(table.ViewOriginalText ?? '');
      expect(match).not.toBeNull();
      const decoded = JSON.parse(Buffer.from(match?.[1] ?? '', 'base64').toString('utf8'));
      expect(decoded.originalSql).toBe(renderView(view, 'athena'));
      expect(decoded).toEqual(
        prestoView(
          renderView(view, 'athena'),
          view.columns.map((c) => ({ name: c.name, type: PRESTO_VIEW_TYPES[c.type] })),
          'datadog_usage',
        ),
      );
      expect(decoded.catalog).toBe('awsdatacatalog');
      expect(decoded.schema).toBe('datadog_usage');
      expect(decoded.columns.map((c: { name: string }) => c.name)).toEqual(
        table.StorageDescriptor.Columns.map((c) => c.Name),
      );
    }
  });

  it('renders the dialect differences and nothing else differently', () => {
    // Act
    const athena = renderView(VIEWS[0] as (typeof VIEWS)[number], 'athena');
    const duckdb = renderView(VIEWS[0] as (typeof VIEWS)[number], 'duckdb');

    // Assess
    expect(athena).toContain('CROSS JOIN UNNEST(h.attributes.measurements) AS m ("usage_type", "value")');
    expect(athena).toContain('from_iso8601_timestamp(h.attributes."timestamp")');
    expect(athena).not.toMatch(/LATERAL|TIMESTAMPTZ|map_keys|array_to_string/);
    expect(duckdb).toContain('CROSS JOIN LATERAL');
    expect(duckdb).not.toMatch(/from_iso8601|array_join/);
    const costByTag = VIEWS.find((v) => v.name === 'cost_by_tag');
    expect(renderView(costByTag as (typeof VIEWS)[number], 'athena')).toContain(
      'CROSS JOIN UNNEST(g.cost_values) AS v ("field", "value")',
    );
  });

  it('maps every product to FOCUS 1.2 services and refuses categories FOCUS does not allow', () => {
    // Assess
    expect(FOCUS_SERVICES.length).toBeGreaterThan(20);
    expect(FOCUS_SERVICES.find((s) => s.product === 'infra_host')).toMatchObject({
      serviceCategory: 'Management and Governance',
      serviceSubcategory: 'Observability',
    });
    expect(() => parseFocusServices({ products: { x: ['X', 'Monitoring', 'Observability'] } }, 'f')).toThrow(
      /"Monitoring" is not a FOCUS 1.2 ServiceCategory/,
    );
    expect(() => parseFocusServices({ products: { x: ['X', 'Security', 'Observability'] } }, 'f')).toThrow(
      /not a FOCUS ServiceSubcategory of "Security"/,
    );
    expect(() => parseFocusServices({ products: { x: 'X' } }, 'f')).toThrow(/products\.x must be/);
    expect(parseFocusServices({ products: { x: ['X', 'Web', 'Other (Web)'] } }, 'f')).toHaveLength(1);
  });
});

describe('Function: AthenaLake (workgroup)', () => {
  it('enforces its configuration, a bytes-scanned cutoff and encrypted results in its own bucket', () => {
    // Assess
    template.resourceCountIs('AWS::Athena::WorkGroup', 1);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'datadog-usage',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: Match.objectLike({
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          OutputLocation: Match.objectLike({
            'Fn::Join': Match.arrayWith([
              Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('AthenaResults') })]),
            ]),
          }),
        }),
      }),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      BucketEncryption: Match.anyValue(),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })]),
      },
    });
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const results = policies.find((p) => JSON.stringify(p.Properties.Bucket).includes('AthenaResults'));
    expect(JSON.stringify(results?.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('stores the example questions as named queries in the workgroup and database', () => {
    // Assess
    template.resourceCountIs('AWS::Athena::NamedQuery', EXAMPLE_QUERIES.length);
    for (const example of EXAMPLE_QUERIES) {
      template.hasResourceProperties('AWS::Athena::NamedQuery', {
        Name: example.name,
        Database: 'datadog_usage',
        QueryString: example.sql,
        WorkGroup: { Ref: Match.stringLikeRegexp('AthenaWorkGroup') },
      });
    }
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'datadog_usage' } });
  });

  it('documents the same example questions and views in docs/athena-focus.md', () => {
    // Prepare
    const section = readFileSync(new URL('../../docs/athena-focus.md', import.meta.url), 'utf8');

    // Assess
    for (const example of EXAMPLE_QUERIES) expect(section).toContain(`\`\`\`sql\n${example.sql}\n\`\`\``);
    for (const view of VIEWS) expect(section).toContain(`| \`${view.name}\` |`);
  });

  it('names the accounts and the table count from the settings and the registry', () => {
    // Assess
    expect(Object.keys(TABLES)).toEqual([...CATEGORY_NAMES]);
    // Per category a raw table and its view, the windows table, the views.
    template.resourceCountIs('AWS::Glue::Table', 2 * CATEGORY_NAMES.length + 1 + VIEWS.length);
  });
});
