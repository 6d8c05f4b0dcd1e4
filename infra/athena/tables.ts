/**
 * The table schema of every category, from the registry: one entry per category, the columns of
 * its records as they land (the Datadog record unchanged, plus `ingest`). The Glue tables (Hive
 * types) and the local DuckDB tables (`read_json(columns=…)`) are both rendered from this list.
 *
 * Datadog timestamps stay strings here (RFC 3339, e.g. `2026-09-01T00:00:00+00:00`): the JSON SerDe
 * does not parse that form as a Hive timestamp, so the views parse them (`utcTimestamp` in views.ts).
 */
import { CATEGORIES, CATEGORY_NAMES, type CategoryName, type WindowKind } from '../../lambdas/categories.ts';
import {
  categoryPrefix,
  commitsTemplate,
  LEGACY_FETCH_ID,
  partitionTemplate,
} from '../../lambdas/core/layout.ts';

/** A column type: scalars, arrays, string-keyed maps and structs (fields in declared order). */
export type ColumnType =
  | 'string'
  | 'bigint'
  | 'double'
  | 'boolean'
  | { readonly array: ColumnType }
  | { readonly map: ColumnType }
  | { readonly struct: Readonly<Record<string, ColumnType>> };

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly comment: string;
  /** The record's JSON key, when the column has another name (a key that collides with a partition column). */
  readonly key?: string;
}

export interface PartitionScheme {
  /** The partition column after `account`: `day` or `month`. */
  readonly name: 'day' | 'month';
  /** Java date format of the values, as Athena partition projection reads them. */
  readonly format: 'yyyy-MM-dd' | 'yyyy-MM';
  readonly intervalUnit: 'DAYS' | 'MONTHS';
}

export interface TableDef {
  readonly name: CategoryName;
  readonly description: string;
  readonly partition: PartitionScheme;
  /** Record columns, then `ingest`; the partition columns (`account`, then day/month) come after. */
  readonly columns: readonly Column[];
}

export const PARTITIONS: Readonly<Record<WindowKind, PartitionScheme>> = {
  day: { name: 'day', format: 'yyyy-MM-dd', intervalUnit: 'DAYS' },
  month: { name: 'month', format: 'yyyy-MM', intervalUnit: 'MONTHS' },
};

const array = (of: ColumnType): ColumnType => ({ array: of });
const map = (of: ColumnType): ColumnType => ({ map: of });
const struct = (fields: Record<string, ColumnType>): ColumnType => ({ struct: fields });
const col = (name: string, type: ColumnType, comment: string): Column => ({ name, type, comment });

const ORG = {
  org_name: 'string',
  public_id: 'string',
  account_name: 'string',
  account_public_id: 'string',
  region: 'string',
} as const;

const INGEST = col(
  'ingest',
  struct({
    account: 'string',
    category: 'string',
    window_start: 'string',
    window_end: 'string',
    page: 'bigint',
    fetched_at: 'string',
    fetch_id: 'string',
  }),
  'Added by the lake: configured account, category, window [start, end), page number, fetch time, fetch id',
);

const CHARGES = array(struct({ product_name: 'string', charge_type: 'string', cost: 'double' }));

const costByOrg = (totalField: string): Column[] => [
  col('id', 'string', 'Record id'),
  col('type', 'string', 'JSON:API type'),
  col(
    'attributes',
    struct({ ...ORG, date: 'string', [totalField]: 'double', charges: CHARGES }),
    'Org, month (RFC 3339), total and charges (product_name, charge_type, cost in USD)',
  ),
];

/** `tags`: tag key → values (an empty list: the resource had no such tag); null without a breakdown. */
const TAGS = map(array('string'));

/**
 * The usage fields of the v1 usage summary (`UsageSummaryDate`), all int64. Datadog froze this
 * schema: new usage types appear as untyped extra keys (see `/api/v2/usage/summary/available_fields`).
 * Source: @datadog/datadog-api-client 1.64.0, models UsageSummaryDate and UsageSummaryDateOrg.
 */
const SUMMARY_FIELDS = `
agent_host_top99p ai_credits_agent_builder_ai_credits_sum ai_credits_bits_assistant_ai_credits_sum
ai_credits_bits_dev_ai_credits_sum ai_credits_bits_sre_ai_credits_sum ai_credits_sum
apm_azure_app_service_host_top99p apm_devsecops_host_top99p apm_enterprise_standalone_hosts_top99p
apm_fargate_count_avg apm_host_top99p apm_pro_standalone_hosts_top99p appsec_fargate_count_avg
asm_serverless_sum audit_logs_lines_indexed_sum audit_trail_enabled_hwm
audit_trail_event_forwarding_events_sum avg_profiled_fargate_tasks aws_host_top99p aws_lambda_func_count
aws_lambda_invocations_sum azure_app_service_top99p billable_ingested_bytes_sum bits_ai_investigations_sum
browser_rum_lite_session_count_sum browser_rum_replay_session_count_sum browser_rum_units_sum
ccm_anthropic_spend_last ccm_aws_spend_last ccm_azure_spend_last ccm_confluent_spend_last
ccm_databricks_spend_last ccm_elastic_spend_last ccm_fastly_spend_last ccm_gcp_spend_last
ccm_github_spend_last ccm_mongodb_spend_last ccm_oci_spend_last ccm_openai_spend_last
ccm_snowflake_spend_last ccm_spend_monitored_ent_last ccm_spend_monitored_pro_last ccm_twilio_spend_last
ci_pipeline_indexed_spans_sum ci_test_indexed_spans_sum ci_visibility_itr_committers_hwm
ci_visibility_pipeline_committers_hwm ci_visibility_test_committers_hwm
cloud_cost_management_aws_host_count_avg cloud_cost_management_azure_host_count_avg
cloud_cost_management_gcp_host_count_avg cloud_cost_management_host_count_avg
cloud_cost_management_oci_host_count_avg cloud_siem_events_sum cloud_siem_indexed_logs_sum
code_analysis_sa_committers_hwm code_analysis_sca_committers_hwm code_security_host_top99p container_avg
container_excl_agent_avg container_hwm csm_container_enterprise_compliance_count_sum
csm_container_enterprise_cws_count_sum csm_container_enterprise_total_count_sum
csm_host_enterprise_aas_host_count_top99p csm_host_enterprise_aws_host_count_top99p
csm_host_enterprise_azure_host_count_top99p csm_host_enterprise_compliance_host_count_top99p
csm_host_enterprise_cws_host_count_top99p csm_host_enterprise_gcp_host_count_top99p
csm_host_enterprise_oci_host_count_top99p csm_host_enterprise_total_host_count_top99p
csm_host_pro_hosts_agentless_scanners_sum csm_host_pro_hosts_agentless_scanners_top99p
csm_host_pro_oci_host_count_top99p cspm_aas_host_top99p cspm_aws_host_top99p cspm_azure_host_top99p
cspm_container_avg cspm_container_hwm cspm_gcp_host_top99p cspm_host_top99p
cspm_hosts_agentless_scanners_sum cspm_hosts_agentless_scanners_top99p custom_ts_avg
cws_container_count_avg cws_fargate_task_avg cws_host_top99p data_jobs_monitoring_host_hr_sum
data_stream_monitoring_host_count_sum data_stream_monitoring_host_count_top99p dbm_host_top99p
dbm_queries_count_avg do_jobs_monitoring_orchestrators_job_hours_sum eph_infra_host_agent_sum
eph_infra_host_alibaba_sum eph_infra_host_aws_sum eph_infra_host_azure_sum
eph_infra_host_basic_infra_basic_agent_sum eph_infra_host_basic_infra_basic_vsphere_sum
eph_infra_host_basic_sum eph_infra_host_ent_sum eph_infra_host_gcp_sum eph_infra_host_heroku_sum
eph_infra_host_only_aas_sum eph_infra_host_only_vsphere_sum eph_infra_host_opentelemetry_apm_sum
eph_infra_host_opentelemetry_sum eph_infra_host_pro_sum eph_infra_host_proplus_sum
eph_infra_host_proxmox_sum error_tracking_apm_error_events_sum error_tracking_error_events_sum
error_tracking_events_sum error_tracking_rum_error_events_sum
event_management_correlation_correlated_events_sum
event_management_correlation_correlated_related_events_sum event_management_correlation_sum
fargate_container_profiler_profiling_fargate_avg fargate_container_profiler_profiling_fargate_eks_avg
fargate_tasks_count_avg fargate_tasks_count_hwm feature_flags_config_requests_sum
flex_logs_compute_large_avg flex_logs_compute_medium_avg flex_logs_compute_small_avg
flex_logs_compute_xlarge_avg flex_logs_compute_xsmall_avg flex_logs_starter_avg
flex_logs_starter_storage_index_avg flex_logs_starter_storage_retention_adjustment_avg
flex_stored_logs_avg forwarding_events_bytes_sum gcp_host_top99p heroku_host_top99p
incident_management_monthly_active_users_hwm incident_management_seats_hwm indexed_events_count_sum
indexed_points_sum infra_cpu_avg infra_cpu_default_infra_host_vcpu_agent_avg
infra_cpu_default_infra_host_vcpu_agent_basic_avg infra_cpu_default_infra_host_vcpu_agent_basic_sum
infra_cpu_default_infra_host_vcpu_agent_sum infra_cpu_default_infra_host_vcpu_aws_avg
infra_cpu_default_infra_host_vcpu_aws_sum infra_cpu_default_infra_host_vcpu_azure_avg
infra_cpu_default_infra_host_vcpu_azure_sum infra_cpu_default_infra_host_vcpu_gcp_avg
infra_cpu_default_infra_host_vcpu_gcp_sum infra_cpu_default_infra_host_vcpu_nutanix_avg
infra_cpu_default_infra_host_vcpu_nutanix_basic_avg infra_cpu_default_infra_host_vcpu_nutanix_basic_sum
infra_cpu_default_infra_host_vcpu_nutanix_sum infra_cpu_default_infra_host_vcpu_opentelemetry_avg
infra_cpu_default_infra_host_vcpu_opentelemetry_sum infra_cpu_observed_infra_host_vcpu_agent_avg
infra_cpu_observed_infra_host_vcpu_agent_sum infra_cpu_observed_infra_host_vcpu_aws_avg
infra_cpu_observed_infra_host_vcpu_aws_sum infra_cpu_observed_infra_host_vcpu_azure_avg
infra_cpu_observed_infra_host_vcpu_azure_sum infra_cpu_observed_infra_host_vcpu_gcp_avg
infra_cpu_observed_infra_host_vcpu_gcp_sum infra_cpu_observed_infra_host_vcpu_nutanix_avg
infra_cpu_observed_infra_host_vcpu_nutanix_sum infra_cpu_observed_infra_host_vcpu_opentelemetry_avg
infra_cpu_observed_infra_host_vcpu_opentelemetry_sum infra_cpu_sum infra_edge_monitoring_devices_top99p
infra_host_basic_infra_basic_agent_top99p infra_host_basic_infra_basic_vsphere_top99p
infra_host_basic_top99p infra_host_top99p infra_storage_mgmt_objects_count_avg ingest_points_sum
ingested_events_bytes_sum iot_apm_host_sum iot_apm_host_top99p iot_device_sum iot_device_top99p
llm_observability_15day_retention_spans_sum llm_observability_30day_retention_spans_sum
llm_observability_60day_retention_spans_sum llm_observability_90day_retention_spans_sum
llm_observability_min_spend_sum llm_observability_sum logs_archive_search_gb_scanned_sum metric_names_sum
mobile_rum_lite_session_count_sum mobile_rum_session_count_android_sum
mobile_rum_session_count_flutter_sum mobile_rum_session_count_ios_sum
mobile_rum_session_count_reactnative_sum mobile_rum_session_count_roku_sum mobile_rum_session_count_sum
mobile_rum_units_sum ndm_netflow_events_sum netflow_indexed_events_count_sum
network_device_wireless_top99p network_path_sum npm_host_top99p
observability_pipelines_bytes_processed_sum oci_host_sum oci_host_top99p on_call_seat_hwm
online_archive_events_count_sum opentelemetry_apm_host_top99p opentelemetry_host_top99p
product_analytics_sum profiling_aas_count_top99p profiling_host_top99p proxmox_host_sum
proxmox_host_top99p published_app_hwm rum_browser_and_mobile_session_count
rum_browser_legacy_session_count_sum rum_browser_lite_session_count_sum
rum_browser_replay_session_count_sum rum_indexed_sessions_sum rum_ingested_sessions_sum
rum_lite_session_count_sum rum_mobile_legacy_session_count_android_sum
rum_mobile_legacy_session_count_flutter_sum rum_mobile_legacy_session_count_ios_sum
rum_mobile_legacy_session_count_reactnative_sum rum_mobile_legacy_session_count_roku_sum
rum_mobile_lite_session_count_android_sum rum_mobile_lite_session_count_flutter_sum
rum_mobile_lite_session_count_ios_sum rum_mobile_lite_session_count_kotlinmultiplatform_sum
rum_mobile_lite_session_count_reactnative_sum rum_mobile_lite_session_count_roku_sum
rum_mobile_lite_session_count_unity_sum rum_mobile_replay_session_count_android_sum
rum_mobile_replay_session_count_ios_sum rum_mobile_replay_session_count_kotlinmultiplatform_sum
rum_mobile_replay_session_count_reactnative_sum rum_replay_session_count_sum rum_session_count_sum
rum_session_replay_add_on_sum rum_total_session_count_sum rum_units_sum sca_fargate_count_avg
sca_fargate_count_hwm sds_apm_scanned_bytes_sum sds_events_scanned_bytes_sum sds_logs_scanned_bytes_sum
sds_rum_scanned_bytes_sum sds_total_scanned_bytes_sum
serverless_apps_apm_apm_azure_appservice_instances_avg
serverless_apps_apm_apm_azure_azurefunction_instances_avg
serverless_apps_apm_apm_azure_containerapp_instances_avg serverless_apps_apm_apm_fargate_ecs_tasks_avg
serverless_apps_apm_apm_gcp_cloudfunction_instances_avg serverless_apps_apm_apm_gcp_cloudrun_instances_avg
serverless_apps_apm_apm_gcp_gke_autopilot_pods_avg serverless_apps_apm_avg
serverless_apps_apm_excl_fargate_apm_azure_appservice_instances_avg
serverless_apps_apm_excl_fargate_apm_azure_azurefunction_instances_avg
serverless_apps_apm_excl_fargate_apm_azure_containerapp_instances_avg
serverless_apps_apm_excl_fargate_apm_gcp_cloudfunction_instances_avg
serverless_apps_apm_excl_fargate_apm_gcp_cloudrun_instances_avg
serverless_apps_apm_excl_fargate_apm_gcp_gke_autopilot_pods_avg serverless_apps_apm_excl_fargate_avg
serverless_apps_azure_container_app_instances_avg serverless_apps_azure_count_avg
serverless_apps_azure_function_app_instances_avg serverless_apps_azure_web_app_instances_avg
serverless_apps_dsm_fargate_tasks_avg serverless_apps_ecs_avg serverless_apps_eks_avg
serverless_apps_excl_fargate_avg serverless_apps_excl_fargate_azure_container_app_instances_avg
serverless_apps_excl_fargate_azure_function_app_instances_avg
serverless_apps_excl_fargate_azure_web_app_instances_avg
serverless_apps_excl_fargate_google_cloud_functions_instances_avg
serverless_apps_excl_fargate_google_cloud_run_instances_avg
serverless_apps_excl_fargate_infra_gcp_gke_autopilot_pods_avg
serverless_apps_google_cloud_functions_instances_avg serverless_apps_google_cloud_run_instances_avg
serverless_apps_google_count_avg serverless_apps_infra_gcp_gke_autopilot_pods_avg
serverless_apps_total_count_avg siem_12mo_retention_sum siem_6mo_retention_sum
siem_analyzed_logs_add_on_count_sum snmp_device_count_sum snmp_device_count_top99p
synthetics_browser_check_calls_count_sum synthetics_check_calls_count_sum synthetics_mobile_test_runs_sum
synthetics_parallel_testing_max_slots_hwm trace_search_indexed_events_count_sum
twol_ingested_events_bytes_sum universal_service_monitoring_host_top99p vsphere_host_top99p
vuln_management_host_count_top99p workflow_executions_usage_sum
`
  .split(/\s+/)
  .filter(Boolean);

/** The org level has these instead of the account-wide `dbm_host_top99p`, `dbm_queries_count_avg`, `iot_device_*`. */
const SUMMARY_ORG_ONLY_FIELDS = [
  'custom_historical_ts_avg',
  'custom_live_ts_avg',
  'dbm_host_top99p_sum',
  'dbm_queries_avg_sum',
  'iot_device_agg_sum',
  'iot_device_top99p_sum',
];
const SUMMARY_DATE_ONLY_FIELDS = [
  'dbm_host_top99p',
  'dbm_queries_count_avg',
  'iot_device_sum',
  'iot_device_top99p',
];

const bigints = (names: readonly string[]): Record<string, ColumnType> =>
  Object.fromEntries(names.map((n) => [n, 'bigint' as const]));

const RECORD_COLUMNS: Readonly<Record<CategoryName, readonly Column[]>> = {
  hourly_usage: [
    col('id', 'string', 'Record id'),
    col('type', 'string', 'JSON:API type (usage_timeseries)'),
    col(
      'attributes',
      struct({
        ...ORG,
        product_family: 'string',
        timestamp: 'string',
        measurements: array(struct({ usage_type: 'string', value: 'bigint' })),
      }),
      'Org, product family, hour (RFC 3339) and measurements (usage_type, value; value may be null)',
    ),
  ],
  billable_summary: [
    ...Object.entries(ORG).map(([name, type]) => col(name, type, `Org or account: ${name}`)),
    col('num_orgs', 'bigint', 'Number of orgs'),
    col('start_date', 'string', 'First billable hour of the month (RFC 3339)'),
    col('end_date', 'string', 'Last billable hour of the month (RFC 3339)'),
    col('ratio_in_month', 'double', 'Fraction of the month elapsed'),
    col('billing_plan', 'string', 'Billing plan (deprecated by Datadog from June 2026)'),
    col(
      'usage',
      map(
        struct({
          account_billable_usage: 'bigint',
          account_committed_usage: 'bigint',
          account_on_demand_usage: 'bigint',
          elapsed_usage_hours: 'bigint',
          first_billable_usage_hour: 'string',
          last_billable_usage_hour: 'string',
          org_billable_usage: 'bigint',
          percentage_in_account: 'double',
          usage_unit: 'string',
        }),
      ),
      'Billing key (e.g. infra_host_top99p) → billable, committed and on-demand usage',
    ),
  ],
  usage_summary: [
    col('date', 'string', 'Month (RFC 3339)'),
    col(
      'orgs',
      array(
        struct({
          id: 'string',
          name: 'string',
          public_id: 'string',
          region: 'string',
          account_name: 'string',
          account_public_id: 'string',
          ...bigints([
            ...SUMMARY_FIELDS.filter((f) => !SUMMARY_DATE_ONLY_FIELDS.includes(f)),
            ...SUMMARY_ORG_ONLY_FIELDS,
          ]),
        }),
      ),
      'Per-org usage of the month (with include_org_details)',
    ),
    ...SUMMARY_FIELDS.map((name) => col(name, 'bigint', 'Account-wide usage of the month')),
  ],
  historical_cost: costByOrg('total_cost'),
  estimated_cost: costByOrg('total_cost'),
  projected_cost: costByOrg('projected_total_cost'),
  cost_attribution: [
    col('id', 'string', 'Record id'),
    col('type', 'string', 'JSON:API type (cost_by_tag)'),
    col(
      'attributes',
      struct({
        month: 'string',
        org_name: 'string',
        public_id: 'string',
        tag_config_source: 'string',
        tags: TAGS,
        values: map('double'),
        updated_at: 'string',
      }),
      'Month, org, tags (key → values) and values (<dimension>_{on_demand,committed,total}_cost, percentages)',
    ),
  ],
  usage_attribution: [
    // The record's `month` would collide with the partition column `month` (Hive refuses the table).
    { ...col('record_month', 'string', "The record's month (RFC 3339), JSON key `month`"), key: 'month' },
    col('org_name', 'string', 'Org name'),
    col('public_id', 'string', 'Org public id'),
    col('region', 'string', 'Datadog region'),
    col('tag_config_source', 'string', 'Tag configuration: <org>:::<tag1>///<tag2>'),
    col('tags', TAGS, 'Tag key → values; null without a tag breakdown'),
    col('updated_at', 'string', 'Last update (RFC 3339)'),
    col('values', map('double'), '<usage_type>_usage and <usage_type>_percentage'),
  ],
};

/** One table per category, named after it, partitioned by account then day or month. */
export const TABLES: Readonly<Record<CategoryName, TableDef>> = Object.fromEntries(
  CATEGORY_NAMES.map((name) => {
    const def = CATEGORIES[name];
    const table: TableDef = {
      name,
      description: `${def.title} (${def.path}), one row per record as landed`,
      partition: PARTITIONS[def.window],
      columns: [...RECORD_COLUMNS[name], INGEST],
    };
    return [name, table];
  }),
) as Record<CategoryName, TableDef>;

/** JSON SerDe `mapping.<column>` properties for the columns whose JSON key differs from their name. */
export function serdeMappings(table: TableDef): Record<string, string> {
  return Object.fromEntries(
    table.columns.filter((c) => c.key).map((c) => [`mapping.${c.name}`, c.key as string]),
  );
}

/** `account`, then `day` or `month`: both strings, exactly as in the S3 keys. */
export function partitionColumns(table: TableDef): Column[] {
  return [
    col('account', 'string', 'Configured Datadog account (partition)'),
    col(
      table.partition.name,
      'string',
      `${table.partition.name === 'day' ? 'UTC day' : 'Month'} ${table.partition.format} (partition)`,
    ),
  ];
}

/** The struct fields, in declared order, of the elements of an array-of-struct column path. */
export function structFields(table: CategoryName, path: readonly string[]): string[] {
  let type: ColumnType | undefined = TABLES[table].columns.find((c) => c.name === path[0])?.type;
  for (const field of path.slice(1)) {
    type = typeof type === 'object' && 'struct' in type ? type.struct[field] : undefined;
  }
  const element = typeof type === 'object' && 'array' in type ? type.array : undefined;
  if (typeof element !== 'object' || !('struct' in element)) {
    throw new Error(`${table}.${path.join('.')} is not an array of structs`);
  }
  return Object.keys(element.struct);
}

/** Hive (Glue) type, e.g. `array<struct<usage_type:string,value:bigint>>`. */
export function hiveType(type: ColumnType): string {
  if (typeof type === 'string') return type;
  if ('array' in type) return `array<${hiveType(type.array)}>`;
  if ('map' in type) return `map<string,${hiveType(type.map)}>`;
  return `struct<${Object.entries(type.struct)
    .map(([name, t]) => `${name}:${hiveType(t)}`)
    .join(',')}>`;
}

const DUCKDB_SCALARS = { string: 'VARCHAR', bigint: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN' } as const;

/** DuckDB type, e.g. `STRUCT("usage_type" VARCHAR, "value" BIGINT)[]`. */
export function duckdbType(type: ColumnType): string {
  if (typeof type === 'string') return DUCKDB_SCALARS[type];
  if ('array' in type) return `${duckdbType(type.array)}[]`;
  if ('map' in type) return `MAP(VARCHAR, ${duckdbType(type.map)})`;
  return `STRUCT(${Object.entries(type.struct)
    .map(([name, t]) => `"${name}" ${duckdbType(t)}`)
    .join(', ')})`;
}

/** The table of every landed part of a category, whatever fetch it belongs to: what the views filter. */
export function rawTableName(category: CategoryName): string {
  return `${category}_raw`;
}

/** `s3://<bucket>/<prefix>/<category>/`: the raw table's location. */
export function tableLocation(bucket: string, prefix: string, table: CategoryName): string {
  return `s3://${bucket}/${categoryPrefix(prefix, table)}`;
}

const projection = (name: string) => `\${${name}}`;

/** Partition projection's `storage.location.template` of a raw table: the window's partition folder. */
export function locationTemplate(bucket: string, prefix: string, table: CategoryName): string {
  return `s3://${bucket}/${partitionTemplate(prefix, table, CATEGORIES[table].window, projection)}`;
}

/**
 * The `windows` table: one row per committed window, read from the commit records. `fetch_id` names
 * the fetch the category's view shows for the window.
 */
export const WINDOWS_TABLE = {
  name: 'windows',
  description: 'One row per committed window: which fetch the views show, its counts, freshness and finality',
  columns: [
    col('window_kind', 'string', 'day or month'),
    col('window_key', 'string', 'The partition value: YYYY-MM-DD (day) or YYYY-MM (month)'),
    col('window_start', 'string', 'Window start, inclusive (ISO 8601, UTC)'),
    col('window_end', 'string', 'Window end, exclusive (ISO 8601, UTC)'),
    col('fetch_id', 'string', 'The committed fetch: its parts are the ones the views show'),
    col('pages', 'bigint', 'API pages (parts) of the fetch'),
    col('records', 'bigint', 'Records of the fetch'),
    col('bytes', 'bigint', 'Gzip bytes of its parts'),
    col('fetched_at', 'string', 'When the fetch began (ISO 8601): how fresh the window is'),
    col('committed_at', 'string', 'When it became visible (ISO 8601)'),
    col('run_id', 'string', 'The run (execution name) that fetched it'),
    col('execution_id', 'string', 'The execution ARN'),
    col('status', 'string', 'final (fetched after Datadog stopped restating the window) or provisional'),
    col('final_after', 'string', "When Datadog stops restating the window (ISO 8601); '' when it never does"),
    col('manifest', 'string', "S3 key of the fetch's manifest (parts, counts, checksums)"),
  ] as readonly Column[],
  partitions: [
    col('category', 'string', 'Category (partition)'),
    col('account', 'string', 'Configured Datadog account (partition)'),
  ] as readonly Column[],
} as const;

/** `s3://<bucket>/<prefix>/${category}/commits/account=${account}/`: where a windows partition lives. */
export function windowsLocationTemplate(bucket: string, prefix: string): string {
  return `s3://${bucket}/${commitsTemplate(prefix, projection)}`;
}

/** Presto (Athena engine) type, e.g. `array(row(usage_type varchar, value bigint))`. */
export function prestoType(type: ColumnType): string {
  if (typeof type === 'string') return type === 'string' ? 'varchar' : type;
  if ('array' in type) return `array(${prestoType(type.array)})`;
  if ('map' in type) return `map(varchar, ${prestoType(type.map)})`;
  return `row(${Object.entries(type.struct)
    .map(([name, t]) => `${name} ${prestoType(t)}`)
    .join(', ')})`;
}

/**
 * The category's view: the raw rows of the fetch each window's commit record names, and nothing
 * else. Plain SQL, the same for Athena and DuckDB. Rows landed before fetch ids carry none; they
 * count as fetch `legacy`, which `npm run migrate` commits for windows that were complete.
 */
export function committedViewSql(table: TableDef): string {
  const q = (name: string) => `"${name}"`;
  const columns = [...table.columns, ...partitionColumns(table)].map((c) => `r.${q(c.name)}`);
  return `SELECT ${columns.join(', ')}
FROM ${q(rawTableName(table.name))} AS r
JOIN ${q(WINDOWS_TABLE.name)} AS w
  ON w.category = '${table.name}'
 AND w.account = r.account
 AND w.window_key = r.${q(table.partition.name)}
 AND w.fetch_id = coalesce(r.ingest.fetch_id, '${LEGACY_FETCH_ID}')`;
}
