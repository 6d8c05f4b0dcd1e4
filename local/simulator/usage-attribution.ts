/**
 * `GET /api/v1/usage/monthly-attribution`: any org, `usage_read`; the current month refreshes daily;
 * paginated by `next_record_id` in `metadata.pagination`.
 */
import {
  type AttributionAnswer,
  attributionRoute,
  attributionRows,
  parseFields,
  tagConfigSource,
} from './attribution.ts';
import { fingerprint, floorDay, fmtTs, type Model, monthStart, type Routes, round2 } from './model.ts';
import { isTrue, monthRange, type Params, param } from './request.ts';

/** Usage types of v1 monthly usage attribution, with a magnitude per tag combination. */
const ATTRIBUTION_USAGE_TYPES: Array<[string, number]> = [
  ['infra_host', 50],
  ['apm_host', 20],
  ['container', 300],
  ['custom_timeseries', 5_000],
  ['indexed_spans', 1_000_000],
];

function usageAttributionAll(model: Model, p: Params, nowMs: number): AttributionAnswer {
  const fields = parseFields(
    param(p, 'fields'),
    ATTRIBUTION_USAGE_TYPES.map(([d]) => d),
    ['usage', 'percentage'],
    ['usage', 'percentage'],
  );
  const { months, cur } = monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
  const orgs = isTrue(p.include_descendants, true) ? model.orgs : [model.parent];
  const keysRaw = param(p, 'tag_breakdown_keys');
  const rows = attributionRows(model, 'ua', months, orgs, keysRaw, ATTRIBUTION_USAGE_TYPES, 1);
  const orgTotals = attributionRows(model, 'ua', months, model.orgs, undefined, ATTRIBUTION_USAGE_TYPES, 1);
  const usage = rows.map((row) => {
    const orgRow = orgTotals.find((r) => r.month === row.month && r.org === row.org);
    const values: Record<string, number> = {};
    for (const field of fields) {
      const di = ATTRIBUTION_USAGE_TYPES.findIndex(([d]) => field.startsWith(`${d}_`));
      const own = (row.vals[di] as number[])[0] ?? 0;
      if (field.endsWith('_usage')) values[field] = own;
      else {
        const total = orgRow ? ((orgRow.vals[di] as number[])[0] ?? 0) : 0;
        values[field] = total === 0 ? 0 : round2((own / total) * 100);
      }
    }
    // Monthly reports refresh daily: the current month was last updated today.
    const updated =
      row.month === cur
        ? floorDay(nowMs)
        : Date.UTC(Math.floor((row.month + 1) / 12), (row.month + 1) % 12, 1, 6);
    return {
      month: fmtTs(monthStart(row.month)),
      org_name: row.org.name,
      public_id: row.org.publicId,
      region: 'us',
      tag_config_source: tagConfigSource(model),
      tags: row.tags,
      updated_at: fmtTs(updated),
      values,
    };
  });
  const aggregates = fields
    .filter((f) => f.endsWith('_usage'))
    .map((field) => ({
      field,
      agg_type: 'sum',
      value: usage.reduce((s, r) => s + (r.values[field] ?? 0), 0),
    }));
  const fp = fingerprint(['ua', p.start_month ?? '', p.end_month ?? '', fields, keysRaw ?? '', orgs.length]);
  return { records: usage, aggregates, fp };
}

export function usageAttributionRoutes(model: Model): Routes {
  return {
    '/api/v1/usage/monthly-attribution': attributionRoute(
      model,
      { category: 'usage_attribution', cost: false, parentOnly: false },
      { records: 'usage', meta: 'metadata' },
      (p, now) => usageAttributionAll(model, p, now),
    ),
  };
}
