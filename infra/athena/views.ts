/**
 * The views people query instead of writing UNNEST, each defined once and rendered for Athena
 * (Trino SQL, deployed as Glue VIRTUAL_VIEW tables) and for DuckDB (`npm run query`).
 *
 * The definitions are plain SQL; the few constructs the two engines spell differently go through
 * `SqlDialect`:
 * - UNNEST of an array of structs: Trino expands the struct into columns (`AS m (usage_type, value)`),
 *   DuckDB does not accept that alias form, so it gets a LATERAL subquery naming the same columns;
 * - UNNEST of a map into (key, value) rows: Trino's `UNNEST(map)` vs DuckDB's `map_keys`/`map_values`;
 * - RFC 3339 strings to UTC timestamps: `from_iso8601_timestamp` vs a cast to TIMESTAMPTZ;
 * - joining an array of strings: `array_join` vs `array_to_string`;
 * - type names.
 * Every output column is cast to its declared type, so what Athena computes matches the column
 * types stored in the Glue view (Athena calls a view whose types drift "stale").
 */
import { FOCUS_SERVICES } from './focus-services.ts';
import { structFields } from './tables.ts';

export type Dialect = 'athena' | 'duckdb';
export type ViewColumnType = 'string' | 'bigint' | 'double' | 'date' | 'timestamp';

export interface SqlDialect {
  readonly name: Dialect;
  /** An RFC 3339 string (any offset) as a timestamp without zone, in UTC. */
  utcTimestamp(iso: string): string;
  /** A join clause: one row per element of an array of structs, its fields as `alias.<field>`. */
  unnestStructs(array: string, alias: string, fields: readonly string[]): string;
  /** A join clause: one row per entry of a map, as `alias.<key>` and `alias.<value>`. */
  unnestMap(map: string, alias: string, key: string, value: string): string;
  /** The strings of an array joined with `separator` ('' for an empty array). */
  joinStrings(array: string, separator: string): string;
  type(type: ViewColumnType): string;
}

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;
export const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

export const DIALECTS: Readonly<Record<Dialect, SqlDialect>> = {
  athena: {
    name: 'athena',
    utcTimestamp: (iso) => `CAST(from_iso8601_timestamp(${iso}) AT TIME ZONE 'UTC' AS timestamp)`,
    unnestStructs: (array, alias, fields) =>
      `CROSS JOIN UNNEST(${array}) AS ${alias} (${fields.map(quote).join(', ')})`,
    unnestMap: (map, alias, key, value) =>
      `CROSS JOIN UNNEST(${map}) AS ${alias} (${quote(key)}, ${quote(value)})`,
    joinStrings: (array, separator) => `array_join(${array}, ${sqlString(separator)})`,
    type: (type) =>
      ({ string: 'varchar', bigint: 'bigint', double: 'double', date: 'date', timestamp: 'timestamp' })[type],
  },
  duckdb: {
    name: 'duckdb',
    utcTimestamp: (iso) => `CAST(CAST(${iso} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`,
    unnestStructs: (array, alias, fields) =>
      `CROSS JOIN LATERAL (SELECT ${fields.map((f) => `_e.${quote(f)} AS ${quote(f)}`).join(', ')} FROM UNNEST(${array}) AS _u(_e)) AS ${alias}`,
    unnestMap: (map, alias, key, value) =>
      `CROSS JOIN LATERAL (SELECT UNNEST(map_keys(${map})) AS ${quote(key)}, UNNEST(map_values(${map})) AS ${quote(value)}) AS ${alias}`,
    joinStrings: (array, separator) => `array_to_string(${array}, ${sqlString(separator)})`,
    type: (type) =>
      ({ string: 'VARCHAR', bigint: 'BIGINT', double: 'DOUBLE', date: 'DATE', timestamp: 'TIMESTAMP' })[type],
  },
};

/** Glue keeps view columns in Hive types; the Presto view JSON in Presto types. */
export const HIVE_VIEW_TYPES: Readonly<Record<ViewColumnType, string>> = {
  string: 'string',
  bigint: 'bigint',
  double: 'double',
  date: 'date',
  timestamp: 'timestamp',
};
export const PRESTO_VIEW_TYPES: Readonly<Record<ViewColumnType, string>> = {
  string: 'varchar',
  bigint: 'bigint',
  double: 'double',
  date: 'date',
  timestamp: 'timestamp',
};

export interface ViewColumn {
  readonly name: string;
  readonly type: ViewColumnType;
  /** The expression; a function where the dialects differ. */
  readonly sql: string | ((d: SqlDialect) => string);
  readonly comment: string;
}

export interface ViewDef {
  readonly name: string;
  readonly description: string;
  readonly columns: readonly ViewColumn[];
  /** Common table expressions, without the `WITH`. */
  readonly with?: (d: SqlDialect) => string;
  /** Everything after `FROM`. */
  readonly from: (d: SqlDialect) => string;
}

const COST_SOURCES = [
  { table: 'historical_cost', source: 'historical' },
  { table: 'estimated_cost', source: 'estimated' },
  { table: 'projected_cost', source: 'projected' },
] as const;

const monthStart = (partition: string) => `CAST(${partition} || '-01' AS date)`;

const hourlyUsageMeasurements: ViewDef = {
  name: 'hourly_usage_measurements',
  description: 'Hourly usage: one row per hour, org, product family and usage type (filter on day to prune)',
  columns: [
    {
      name: 'hour',
      type: 'timestamp',
      sql: (d) => d.utcTimestamp('h.attributes."timestamp"'),
      comment: 'Start of the hour, UTC',
    },
    { name: 'account', type: 'string', sql: 'h.account', comment: 'Configured Datadog account' },
    { name: 'org_name', type: 'string', sql: 'h.attributes.org_name', comment: 'Org name' },
    { name: 'public_id', type: 'string', sql: 'h.attributes.public_id', comment: 'Org public id' },
    { name: 'region', type: 'string', sql: 'h.attributes.region', comment: 'Datadog region of the org' },
    { name: 'product_family', type: 'string', sql: 'h.attributes.product_family', comment: 'Product family' },
    { name: 'usage_type', type: 'string', sql: 'm.usage_type', comment: 'Usage type' },
    {
      name: 'value',
      type: 'bigint',
      sql: 'm.value',
      comment: 'Usage in the hour (null when Datadog sent null)',
    },
    { name: 'day', type: 'string', sql: 'h."day"', comment: 'UTC day YYYY-MM-DD (partition)' },
  ],
  from: (d) =>
    `hourly_usage AS h\n${d.unnestStructs('h.attributes.measurements', 'm', structFields('hourly_usage', ['attributes', 'measurements']))}`,
};

const monthlyCost: ViewDef = {
  name: 'monthly_cost',
  description:
    'Cost by month, org, product and charge type: historical where the month is closed, else estimated, else projected; no total rows',
  with: (d) => {
    const fields = structFields('historical_cost', ['attributes', 'charges']);
    const selects = COST_SOURCES.map(
      ({ table, source }, rank) => `  SELECT ${sqlString(source)} AS cost_source, ${rank + 1} AS source_rank,
    x.account AS account, x."month" AS billing_month, x.attributes.org_name AS org_name,
    x.attributes.public_id AS public_id, x.attributes.account_name AS account_name,
    x.attributes.account_public_id AS account_public_id, x.attributes.region AS region,
    c.product_name AS product_name, c.charge_type AS charge_type, c.cost AS cost
  FROM ${table} AS x
  ${d.unnestStructs('x.attributes.charges', 'c', fields)}`,
    );
    // Datadog closes a month for a whole account at once: the best source is chosen per account
    // and month (not per org), so a summary-view record never sits next to sub-org records.
    return `charges AS (
${selects.join('\n  UNION ALL\n')}
),
ranked AS (
  SELECT charges.*, min(source_rank) OVER (PARTITION BY account, billing_month) AS best_rank
  FROM charges
)`;
  },
  columns: [
    { name: 'month', type: 'date', sql: monthStart('billing_month'), comment: 'First day of the month' },
    { name: 'account', type: 'string', sql: 'account', comment: 'Configured Datadog account' },
    { name: 'org_name', type: 'string', sql: 'org_name', comment: 'Org name' },
    { name: 'public_id', type: 'string', sql: 'public_id', comment: 'Org public id' },
    { name: 'product_name', type: 'string', sql: 'product_name', comment: 'Datadog product' },
    {
      name: 'charge_type',
      type: 'string',
      sql: 'charge_type',
      comment: 'committed, on_demand (projected_committed, projected_on_demand for projections)',
    },
    { name: 'cost', type: 'double', sql: 'cost', comment: 'Cost in USD' },
    {
      name: 'cost_source',
      type: 'string',
      sql: 'cost_source',
      comment: 'historical (closed month), estimated (month to date) or projected (end of month forecast)',
    },
    { name: 'account_name', type: 'string', sql: 'account_name', comment: 'Datadog account name' },
    {
      name: 'account_public_id',
      type: 'string',
      sql: 'account_public_id',
      comment: 'Datadog account public id',
    },
    { name: 'region', type: 'string', sql: 'region', comment: 'Datadog region of the org' },
  ],
  from: () => `ranked\nWHERE source_rank = best_rank AND coalesce(charge_type, '') <> 'total'`,
};

const costByTag: ViewDef = {
  name: 'cost_by_tag',
  description:
    'Cost attribution: one row per record, tag key and field. Records without a tag breakdown have a null tag_key; an untagged resource has a null tag_value. Sum one tag_key at a time.',
  with: (d) => `tagged AS (
  SELECT x.account AS account, x."month" AS billing_month, x.attributes.org_name AS org_name,
    x.attributes.public_id AS public_id, t.tag_key AS tag_key,
    nullif(${d.joinStrings('t.tag_values', ',')}, '') AS tag_value, x.attributes."values" AS cost_values
  FROM cost_attribution AS x
  ${d.unnestMap('x.attributes.tags', 't', 'tag_key', 'tag_values')}
  UNION ALL
  SELECT x.account, x."month", x.attributes.org_name, x.attributes.public_id,
    CAST(NULL AS ${d.type('string')}), CAST(NULL AS ${d.type('string')}), x.attributes."values"
  FROM cost_attribution AS x
  WHERE x.attributes.tags IS NULL OR cardinality(x.attributes.tags) = 0
)`,
  columns: [
    { name: 'month', type: 'date', sql: monthStart('g.billing_month'), comment: 'First day of the month' },
    { name: 'account', type: 'string', sql: 'g.account', comment: 'Configured Datadog account' },
    { name: 'org_name', type: 'string', sql: 'g.org_name', comment: 'Org name' },
    { name: 'public_id', type: 'string', sql: 'g.public_id', comment: 'Org public id' },
    {
      name: 'tag_key',
      type: 'string',
      sql: 'g.tag_key',
      comment: 'Tag key (null: no tag breakdown requested)',
    },
    {
      name: 'tag_value',
      type: 'string',
      sql: 'g.tag_value',
      comment: 'Tag value, several joined with "," (null: resource without this tag)',
    },
    {
      name: 'field',
      type: 'string',
      sql: 'v.field',
      comment:
        '<dimension>_on_demand_cost, _committed_cost, _total_cost, _percentage_in_org, _percentage_in_account',
    },
    { name: 'value', type: 'double', sql: 'v.value', comment: 'USD for *_cost fields, percent otherwise' },
  ],
  from: (d) => `tagged AS g\n${d.unnestMap('g.cost_values', 'v', 'field', 'value')}`,
};

const lit = (value: string) => () => sqlString(value);
const servicesValues = () =>
  FOCUS_SERVICES.map(
    (s) =>
      `    (${[s.product, s.serviceName, s.serviceCategory, s.serviceSubcategory].map(sqlString).join(', ')})`,
  ).join(',\n');
const periodStart = 'CAST(m."month" AS timestamp)';
const periodEnd = `${periodStart} + INTERVAL '1' MONTH`;

/** FOCUS 1.2 mandatory columns the focus_datadog view fills with non-null values. */
export const FOCUS_NON_NULL_COLUMNS = [
  'BilledCost',
  'BillingAccountId',
  'BillingAccountName',
  'BillingCurrency',
  'BillingPeriodEnd',
  'BillingPeriodStart',
  'ChargeCategory',
  'ChargeDescription',
  'ChargePeriodEnd',
  'ChargePeriodStart',
  'ContractedCost',
  'EffectiveCost',
  'InvoiceIssuerName',
  'ListCost',
  'ProviderName',
  'PublisherName',
  'ServiceCategory',
  'ServiceName',
] as const;

/** Every FOCUS 1.2 mandatory column. */
export const FOCUS_MANDATORY_COLUMNS = [
  ...FOCUS_NON_NULL_COLUMNS,
  'ChargeClass',
  'PricingQuantity',
  'PricingUnit',
] as const;

const focusDatadog: ViewDef = {
  name: 'focus_datadog',
  description:
    'Datadog cost as FOCUS 1.2 (historical and estimated; projections are forecasts, not charges), to UNION with an AWS CUR 2.0 / Data Exports FOCUS table',
  columns: [
    { name: 'BilledCost', type: 'double', sql: 'm.cost', comment: 'Cost in USD' },
    {
      name: 'BillingAccountId',
      type: 'string',
      sql: 'coalesce(m.account_public_id, m.account)',
      comment: 'Datadog account public id',
    },
    {
      name: 'BillingAccountName',
      type: 'string',
      sql: 'coalesce(m.account_name, m.account)',
      comment: 'Datadog account name',
    },
    { name: 'BillingCurrency', type: 'string', sql: lit('USD'), comment: 'USD' },
    { name: 'BillingPeriodEnd', type: 'timestamp', sql: periodEnd, comment: 'Start of the next month, UTC' },
    { name: 'BillingPeriodStart', type: 'timestamp', sql: periodStart, comment: 'Start of the month, UTC' },
    { name: 'ChargeCategory', type: 'string', sql: lit('Usage'), comment: 'Usage' },
    { name: 'ChargeClass', type: 'string', sql: 'NULL', comment: 'Null: no row is a correction' },
    {
      name: 'ChargeDescription',
      type: 'string',
      sql: `coalesce(s.service_name, m.product_name) || ': ' || m.product_name || ' ' || replace(coalesce(m.charge_type, 'usage'), '_', '-')`,
      comment: 'Service, product and charge type',
    },
    { name: 'ChargeFrequency', type: 'string', sql: lit('Usage-Based'), comment: 'Usage-Based' },
    { name: 'ChargePeriodEnd', type: 'timestamp', sql: periodEnd, comment: 'Start of the next month, UTC' },
    { name: 'ChargePeriodStart', type: 'timestamp', sql: periodStart, comment: 'Start of the month, UTC' },
    { name: 'ContractedCost', type: 'double', sql: 'm.cost', comment: 'Equals BilledCost (contract rates)' },
    { name: 'EffectiveCost', type: 'double', sql: 'm.cost', comment: 'Equals BilledCost (no amortization)' },
    { name: 'InvoiceIssuerName', type: 'string', sql: lit('Datadog'), comment: 'Datadog' },
    {
      name: 'ListCost',
      type: 'double',
      sql: 'm.cost',
      comment: 'Equals BilledCost: Datadog publishes no list prices in these APIs',
    },
    {
      name: 'PricingCategory',
      type: 'string',
      sql: `CASE WHEN m.charge_type = 'committed' THEN 'Committed' WHEN m.charge_type = 'on_demand' THEN 'Standard' ELSE 'Other' END`,
      comment: 'Committed (committed usage) or Standard (on-demand)',
    },
    {
      name: 'PricingQuantity',
      type: 'double',
      sql: 'NULL',
      comment: 'Null: the cost APIs carry no quantities',
    },
    { name: 'PricingUnit', type: 'string', sql: 'NULL', comment: 'Null: the cost APIs carry no units' },
    { name: 'ProviderName', type: 'string', sql: lit('Datadog'), comment: 'Datadog' },
    { name: 'PublisherName', type: 'string', sql: lit('Datadog'), comment: 'Datadog' },
    {
      name: 'ServiceCategory',
      type: 'string',
      sql: `coalesce(s.service_category, 'Other')`,
      comment: 'FOCUS category from infra/athena/focus-services.json; Other when unmapped',
    },
    {
      name: 'ServiceName',
      type: 'string',
      sql: 'coalesce(s.service_name, m.product_name)',
      comment: 'Datadog service; the raw product name when unmapped',
    },
    {
      name: 'ServiceSubcategory',
      type: 'string',
      sql: `coalesce(s.service_subcategory, 'Other (Other)')`,
      comment: 'FOCUS subcategory',
    },
    { name: 'SubAccountId', type: 'string', sql: 'm.public_id', comment: 'Org public id' },
    { name: 'SubAccountName', type: 'string', sql: 'm.org_name', comment: 'Org name' },
    {
      name: 'x_cost_source',
      type: 'string',
      sql: 'm.cost_source',
      comment: 'historical (closed month) or estimated (month to date)',
    },
    { name: 'x_charge_type', type: 'string', sql: 'm.charge_type', comment: 'Datadog charge type' },
    { name: 'x_product', type: 'string', sql: 'm.product_name', comment: 'Datadog product name' },
    { name: 'x_account', type: 'string', sql: 'm.account', comment: 'Configured Datadog account' },
    { name: 'x_region', type: 'string', sql: 'm.region', comment: 'Datadog region of the org' },
  ],
  from: () => `monthly_cost AS m
LEFT JOIN (
  VALUES
${servicesValues()}
) AS s (product_name, service_name, service_category, service_subcategory) ON s.product_name = m.product_name
WHERE m.cost_source <> 'projected'`,
};

/** In dependency order: a view only reads tables and the views before it. */
export const VIEWS: readonly ViewDef[] = [hourlyUsageMeasurements, monthlyCost, costByTag, focusDatadog];

export function renderView(view: ViewDef, dialect: Dialect): string {
  const d = DIALECTS[dialect];
  const columns = view.columns
    .map(
      (c) =>
        `  CAST(${typeof c.sql === 'function' ? c.sql(d) : c.sql} AS ${d.type(c.type)}) AS ${quote(c.name)}`,
    )
    .join(',\n');
  return `${view.with ? `WITH ${view.with(d)}\n` : ''}SELECT\n${columns}\nFROM ${view.from(d)}`;
}

/** The JSON Athena keeps in a Glue view's `ViewOriginalText` (column names lower case, as Athena stores them). */
export function prestoView(
  sql: string,
  columns: ReadonlyArray<{ name: string; type: string }>,
  schema: string,
) {
  return {
    originalSql: sql,
    catalog: 'awsdatacatalog',
    schema,
    columns: columns.map((c) => ({ name: c.name.toLowerCase(), type: c.type })),
  };
}

export function prestoViewOriginalText(
  sql: string,
  columns: ReadonlyArray<{ name: string; type: string }>,
  schema: string,
): string {
  return `/* Presto View: ${Buffer.from(JSON.stringify(prestoView(sql, columns, schema)), 'utf8').toString('base64')} */`;
}
