/**
 * THE registry: one entry per Datadog usage/cost category. CDK creates one Lambda per entry, the
 * state machine routes on the names, the planner reads the windows and availability, the client
 * builds requests from `params`, the writer reads records from `recordsField`.
 */

import type { CategoryOptions } from './core/options.ts';

// The per-run options every category reads are declared, with their defaults, by their schema.
export { type CategoryOptions, DEFAULT_OPTIONS } from './core/options.ts';

export type WindowKind = 'day' | 'month';
export type Permission = 'usage_read' | 'billing_read';

/** A half-open UTC window `[start, end)`; `partition` is the Hive partition it lands in. */
export interface Window {
  /** ISO 8601 UTC, e.g. `2026-09-01T00:00:00.000Z`. */
  start: string;
  end: string;
  /** `day=YYYY-MM-DD` or `month=YYYY-MM`. */
  partition: string;
}

export interface Pagination {
  /** Query parameter the cursor goes back in. */
  cursorParam: string;
  /** Where the cursor is in the response body. */
  cursorPath: readonly string[];
  /** Page size parameter, when the endpoint has one. */
  pageSizeParam?: string;
}

export interface Availability {
  /** Datadog keeps this many months (the current one included in the count from its start). */
  retentionMonths: number;
  /** Only the last N months exist at all (1 = current month only). */
  recentMonthsOnly?: number;
  /** The month is final on this day of the following month. */
  finalOnDayOfNextMonth?: number;
}

export interface CategoryDef {
  readonly name: CategoryName;
  readonly title: string;
  readonly path: string;
  readonly window: WindowKind;
  /** Record array of the response: `data` for v2, `usage` for v1. */
  readonly recordsField: 'data' | 'usage';
  readonly pagination?: Pagination;
  readonly permissions: readonly Permission[];
  /** Child-org keys get a 400 "non-parent org keys" here. */
  readonly parentOnly: boolean;
  /** Not served on these sites. */
  readonly unavailableOnSites?: readonly string[];
  readonly availability: Availability;
  /** Query parameters for one window, without the cursor. */
  params(window: Window, options: CategoryOptions): Record<string, string>;
  /**
   * How far into its window a record lies, 0 to 1, where the endpoint answers in time order: lets a
   * run estimate how many pages a window takes from its first pages. Assumed, not documented.
   */
  position?(record: unknown, window: Window): number | undefined;
}

const RETENTION_MONTHS = 15;

/** `YYYY-MM-DDThh` in UTC: the hour precision Datadog documents for hourly filters. */
export function hourParam(iso: string): string {
  return iso.slice(0, 13);
}

/** `YYYY-MM` in UTC. */
export function monthParam(iso: string): string {
  return iso.slice(0, 7);
}

/** The month before `end`, i.e. the last month of a half-open month window. */
function lastMonthParam(window: Window): string {
  const end = new Date(window.end);
  return new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
}

const bool = (value: boolean): string => (value ? 'true' : 'false');

function withOptional(params: Record<string, string>, extra: Record<string, string | undefined>) {
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && value !== '') params[key] = value;
  }
  return params;
}

const connected = (o: CategoryOptions) => (o.includeConnectedAccounts ? 'true' : undefined);

export const CATEGORY_NAMES = [
  'hourly_usage',
  'billable_summary',
  'usage_summary',
  'historical_cost',
  'estimated_cost',
  'projected_cost',
  'cost_attribution',
  'usage_attribution',
] as const;

export type CategoryName = (typeof CATEGORY_NAMES)[number];

export const CATEGORIES: Readonly<Record<CategoryName, CategoryDef>> = {
  hourly_usage: {
    name: 'hourly_usage',
    title: 'Hourly usage by product family',
    path: '/api/v2/usage/hourly_usage',
    window: 'day',
    recordsField: 'data',
    pagination: {
      cursorParam: 'page[next_record_id]',
      cursorPath: ['meta', 'pagination', 'next_record_id'],
      pageSizeParam: 'page[limit]',
    },
    permissions: ['usage_read'],
    parentOnly: false,
    availability: { retentionMonths: RETENTION_MONTHS },
    params: (w, o) =>
      withOptional(
        {
          'filter[timestamp][start]': hourParam(w.start),
          'filter[timestamp][end]': hourParam(w.end),
          'filter[product_families]': o.productFamilies.join(','),
          'filter[include_descendants]': bool(o.includeDescendants),
          'page[limit]': String(o.pageSize),
        },
        { 'filter[include_connected_accounts]': connected(o) },
      ),
    // Hourly records come hour by hour (what the simulator does; Datadog documents no order).
    position: (record, w) => {
      const at = Date.parse(
        String((record as { attributes?: { timestamp?: unknown } })?.attributes?.timestamp),
      );
      const start = Date.parse(w.start);
      const end = Date.parse(w.end);
      return Number.isNaN(at)
        ? undefined
        : Math.min(1, Math.max(0, (at + 3_600_000 - start) / (end - start)));
    },
  },
  billable_summary: {
    name: 'billable_summary',
    title: 'Billable usage summary',
    path: '/api/v1/usage/billable-summary',
    window: 'month',
    recordsField: 'usage',
    permissions: ['usage_read'],
    parentOnly: true,
    availability: { retentionMonths: RETENTION_MONTHS },
    params: (w, o) =>
      withOptional({ month: monthParam(w.start) }, { include_connected_accounts: connected(o) }),
  },
  usage_summary: {
    name: 'usage_summary',
    title: 'Usage summary',
    path: '/api/v1/usage/summary',
    window: 'month',
    recordsField: 'usage',
    permissions: ['usage_read'],
    parentOnly: true,
    availability: { retentionMonths: RETENTION_MONTHS },
    params: (w, o) =>
      withOptional(
        {
          start_month: monthParam(w.start),
          end_month: lastMonthParam(w),
          include_org_details: bool(o.includeDescendants),
        },
        { include_connected_accounts: connected(o) },
      ),
  },
  historical_cost: {
    name: 'historical_cost',
    title: 'Historical cost by org',
    path: '/api/v2/usage/historical_cost',
    window: 'month',
    recordsField: 'data',
    permissions: ['usage_read', 'billing_read'],
    parentOnly: true,
    availability: { retentionMonths: RETENTION_MONTHS, finalOnDayOfNextMonth: 16 },
    params: (w, o) =>
      withOptional(
        {
          start_month: monthParam(w.start),
          end_month: lastMonthParam(w),
          view: o.includeDescendants ? 'sub-org' : 'summary',
        },
        { include_connected_accounts: connected(o) },
      ),
  },
  estimated_cost: {
    name: 'estimated_cost',
    title: 'Estimated cost by org',
    path: '/api/v2/usage/estimated_cost',
    window: 'month',
    recordsField: 'data',
    permissions: ['usage_read', 'billing_read'],
    parentOnly: true,
    availability: { retentionMonths: RETENTION_MONTHS, recentMonthsOnly: 2 },
    params: (w, o) =>
      withOptional(
        {
          start_month: monthParam(w.start),
          end_month: lastMonthParam(w),
          view: o.includeDescendants ? 'sub-org' : 'summary',
        },
        { include_connected_accounts: connected(o) },
      ),
  },
  projected_cost: {
    name: 'projected_cost',
    title: 'Projected cost for the current month',
    path: '/api/v2/usage/projected_cost',
    window: 'month',
    recordsField: 'data',
    permissions: ['usage_read', 'billing_read'],
    parentOnly: true,
    availability: { retentionMonths: RETENTION_MONTHS, recentMonthsOnly: 1 },
    params: (_w, o) =>
      withOptional(
        { view: o.includeDescendants ? 'sub-org' : 'summary' },
        { include_connected_accounts: connected(o) },
      ),
  },
  cost_attribution: {
    name: 'cost_attribution',
    title: 'Monthly cost attribution by tag',
    path: '/api/v2/cost_by_tag/monthly_cost_attribution',
    window: 'month',
    recordsField: 'data',
    pagination: { cursorParam: 'next_record_id', cursorPath: ['meta', 'pagination', 'next_record_id'] },
    permissions: ['usage_read', 'billing_read'],
    parentOnly: true,
    unavailableOnSites: ['ddog-gov.com'],
    availability: { retentionMonths: RETENTION_MONTHS, finalOnDayOfNextMonth: 19 },
    params: (w, o) =>
      withOptional(
        {
          start_month: monthParam(w.start),
          end_month: lastMonthParam(w),
          fields: o.fields,
          include_descendants: bool(o.includeDescendants),
        },
        {
          tag_breakdown_keys: o.tagBreakdownKeys.join(','),
          sort_direction: o.sortDirection,
          sort_name: o.sortName,
        },
      ),
  },
  usage_attribution: {
    name: 'usage_attribution',
    title: 'Monthly usage attribution by tag',
    path: '/api/v1/usage/monthly-attribution',
    window: 'month',
    recordsField: 'usage',
    pagination: { cursorParam: 'next_record_id', cursorPath: ['metadata', 'pagination', 'next_record_id'] },
    permissions: ['usage_read'],
    parentOnly: false,
    availability: { retentionMonths: RETENTION_MONTHS, finalOnDayOfNextMonth: 19 },
    params: (w, o) =>
      withOptional(
        {
          start_month: monthParam(w.start),
          end_month: lastMonthParam(w),
          fields: o.fields,
          include_descendants: bool(o.includeDescendants),
        },
        {
          tag_breakdown_keys: o.tagBreakdownKeys.join(','),
          sort_direction: o.sortDirection,
          sort_name: o.sortName,
        },
      ),
  },
};

export function isCategoryName(value: unknown): value is CategoryName {
  return typeof value === 'string' && (CATEGORY_NAMES as readonly string[]).includes(value);
}

export function category(name: CategoryName): CategoryDef {
  return CATEGORIES[name];
}
