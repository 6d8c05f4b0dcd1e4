/**
 * Example questions: deployed as Athena named queries and shown in docs/athena-focus.md; each runs
 * unchanged on Athena and on DuckDB (`npm run query`).
 */
export interface ExampleQuery {
  readonly name: string;
  readonly question: string;
  readonly sql: string;
}

/** The AWS side of the FOCUS example: a CUR 2.0 / Data Exports FOCUS 1.x table in Athena. */
export const AWS_FOCUS_TABLE = 'cur.focus_export';

export const EXAMPLE_QUERIES: readonly ExampleQuery[] = [
  {
    name: 'freshness-and-finality',
    question: 'How fresh is each category, and which of its windows may Datadog still restate?',
    sql: `SELECT category, account, count(*) AS windows, min(window_key) AS first_window, max(window_key) AS last_window,
  max(fetched_at) AS last_fetched, count_if(status = 'provisional') AS provisional_windows
FROM windows
GROUP BY 1, 2
ORDER BY 1, 2`,
  },
  {
    name: 'usage-trend-by-family',
    question: 'How does usage of each product family trend, day by day, over the last 30 days?',
    sql: `SELECT "day", product_family, usage_type, sum(value) AS usage
FROM hourly_usage_measurements
WHERE "day" >= CAST(CAST(current_date - INTERVAL '30' DAY AS date) AS varchar)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3`,
  },
  {
    name: 'cost-by-sub-org',
    question: 'What does each sub-org cost per month, and is the figure final?',
    sql: `SELECT month, account, org_name, cost_source, round(sum(cost), 2) AS cost_usd
FROM monthly_cost
GROUP BY 1, 2, 3, 4
ORDER BY 1 DESC, 5 DESC`,
  },
  {
    name: 'month-over-month-cost',
    question: 'How did the Datadog bill change month over month, per product?',
    sql: `WITH by_month AS (
  SELECT month, product_name, sum(cost) AS cost
  FROM monthly_cost
  WHERE cost_source <> 'projected'
  GROUP BY 1, 2
)
SELECT month, product_name, round(cost, 2) AS cost_usd,
  round(cost - lag(cost) OVER (PARTITION BY product_name ORDER BY month), 2) AS change_usd,
  round(100 * (cost / nullif(lag(cost) OVER (PARTITION BY product_name ORDER BY month), 0) - 1), 1) AS change_pct
FROM by_month
ORDER BY product_name, month`,
  },
  {
    name: 'cost-by-team-tag',
    question: 'What does each team cost per month (cost attribution fetched with tagBreakdownKeys ["team"])?',
    sql: `SELECT month, coalesce(tag_value, '(untagged)') AS team, round(sum(value), 2) AS cost_usd
FROM cost_by_tag
WHERE tag_key = 'team' AND field LIKE '%_total_cost'
GROUP BY 1, 2
ORDER BY 1 DESC, 3 DESC`,
  },
  {
    name: 'datadog-next-to-aws-focus',
    question: 'What do Datadog and AWS cost side by side, per FOCUS service category and month?',
    sql: `SELECT ProviderName, ServiceCategory, date_trunc('month', ChargePeriodStart) AS month,
  round(sum(EffectiveCost), 2) AS effective_cost
FROM (
  SELECT ProviderName, ServiceCategory, ChargePeriodStart, EffectiveCost FROM focus_datadog
  UNION ALL
  SELECT ProviderName, ServiceCategory, CAST(ChargePeriodStart AS timestamp), CAST(EffectiveCost AS double)
  FROM ${AWS_FOCUS_TABLE}
) AS focus
GROUP BY 1, 2, 3
ORDER BY 3 DESC, 4 DESC`,
  },
];
