/**
 * The monthly summaries, parent org only and not paginated: `GET /api/v1/usage/billable-summary` (one
 * row per org for `month`) and `GET /api/v1/usage/summary` (one row per month, with `orgs` only when
 * `include_org_details=true`).
 */
import {
  daysInMonth,
  floorDay,
  fmtTs,
  type HandlerResult,
  HOUR,
  type Model,
  monthIdxOf,
  monthStart,
  type Org,
  RETENTION_MONTHS,
  type Routes,
  round2,
  whole,
} from './model.ts';
import { bad, isTrue, monthRange, type Params, param, parseMonth } from './request.ts';

/** Billable-summary keys: [key, unit, magnitude]. */
const BILLABLE_KEYS: Array<[string, string, number]> = [
  ['infra_host_top99p', 'hosts', 500],
  ['apm_host_sum', 'hosts', 200],
  ['logs_indexed_15day_sum', 'logs', 50_000_000],
  ['ingested_timeseries_average', 'timeseries', 100_000],
  ['rum_sum', 'sessions', 100_000],
];

/** v1 usage summary fields: [date/org-level field, top-level aggregate field, magnitude]. */
const SUMMARY_FIELDS: Array<[string, string, number]> = [
  ['infra_host_top99p', 'infra_host_top99p_sum', 500],
  ['apm_host_top99p', 'apm_host_top99p_sum', 200],
  ['custom_ts_avg', 'custom_ts_sum', 100_000],
  ['indexed_events_count_sum', 'indexed_events_count_agg_sum', 10_000_000],
  ['rum_session_count_sum', 'rum_session_count_agg_sum', 100_000],
];

function billableSummary(model: Model, p: Params, nowMs: number): unknown[] {
  const cur = monthIdxOf(nowMs);
  const raw = param(p, 'month');
  const month = raw ? parseMonth(raw) : cur;
  if (month === undefined) throw bad(`Invalid month: ${raw}`);
  if (month < cur - RETENTION_MONTHS) throw bad('month must be within the last 15 months');
  if (month > cur) return [];
  const days = daysInMonth(month);
  const elapsedDays = month === cur ? new Date(nowMs).getUTCDate() : days;
  const start = monthStart(month);
  const end = month === cur ? floorDay(nowMs) : monthStart(month + 1) - HOUR;
  const orgUsage = (org: Org, key: string, mag: number) => model.rnd('bs', org.idx, month, key) % mag;
  return model.orgs.map((org) => {
    const usage: Record<string, unknown> = {};
    for (const [key, unit, mag] of BILLABLE_KEYS) {
      const accountTotal = model.orgs.reduce((s, o) => s + orgUsage(o, key, mag), 0);
      const commit = Math.min(accountTotal, model.rnd('bs-commit', month, key) % mag);
      const own = orgUsage(org, key, mag);
      usage[key] = {
        account_billable_usage: accountTotal,
        account_committed_usage: commit,
        account_on_demand_usage: accountTotal - commit,
        org_billable_usage: own,
        percentage_in_account: accountTotal === 0 ? 0 : round2((own / accountTotal) * 100),
        elapsed_usage_hours: elapsedDays * 24,
        first_billable_usage_hour: fmtTs(start),
        last_billable_usage_hour: fmtTs(end),
        usage_unit: unit,
      };
    }
    return {
      ...model.orgFields(org),
      num_orgs: 1,
      start_date: fmtTs(start),
      end_date: fmtTs(end),
      ratio_in_month: round2(elapsedDays / days),
      billing_plan: 'Enterprise',
      usage,
    };
  });
}

function usageSummary(model: Model, p: Params, nowMs: number): HandlerResult {
  const { start, end, months } = monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
  const withOrgs = isTrue(p.include_org_details, false);
  const orgValue = (org: Org, m: number, field: string, mag: number) =>
    model.rnd('us', org.idx, m, field) % mag;
  const usage = months.map((m) => {
    const row: Record<string, unknown> = { date: fmtTs(monthStart(m)) };
    for (const [field, , mag] of SUMMARY_FIELDS) {
      row[field] = model.orgs.reduce((s, o) => s + orgValue(o, m, field, mag), 0);
    }
    if (withOrgs) {
      row.orgs = model.orgs.map((org) => {
        const o: Record<string, unknown> = {
          id: org.id,
          name: org.name,
          public_id: org.publicId,
          region: 'us',
          account_name: model.account.name,
          account_public_id: model.account.publicId,
        };
        for (const [field, , mag] of SUMMARY_FIELDS) o[field] = orgValue(org, m, field, mag);
        return o;
      });
    }
    return row;
  });
  const top: Record<string, unknown> = {
    start_date: fmtTs(monthStart(start)),
    end_date: fmtTs(monthStart(end + 1) - HOUR),
    last_updated: fmtTs(floorDay(nowMs)),
  };
  for (const [field, agg] of SUMMARY_FIELDS) {
    top[agg] = usage.reduce((s, r) => s + (r[field] as number), 0);
  }
  top.usage = usage;
  return { body: top, records: usage };
}

export function summaryRoutes(model: Model): Routes {
  return {
    '/api/v1/usage/billable-summary': {
      category: 'billable_summary',
      cost: false,
      parentOnly: true,
      handle: (p, now) => whole(billableSummary(model, p, now), 'usage'),
      expected: (p, now) => billableSummary(model, p, now),
    },
    '/api/v1/usage/summary': {
      category: 'usage_summary',
      cost: false,
      parentOnly: true,
      handle: (p, now) => usageSummary(model, p, now),
      expected: (p, now) => usageSummary(model, p, now).records,
    },
  };
}
