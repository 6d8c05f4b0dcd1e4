/**
 * `GET /api/v2/cost_by_tag/monthly_cost_attribution`: parent org only, `billing_read`, not on US1-FED;
 * a month is available from the 19th of the next; paginated by `next_record_id` in `meta.pagination`.
 */
import { attributionRoute, attributionRows, parseFields, tagConfigSource } from './attribution.ts';
import { cents, fingerprint, fmtTs, hexId, type Model, monthStart, type Routes, round2 } from './model.ts';
import { isTrue, monthRange, type Params, param } from './request.ts';

/** Billing dimensions of cost attribution, with a monthly magnitude in cents per tag combination. */
const COST_DIMENSIONS: Array<[string, number]> = [
  ['infra_host', 60_000],
  ['apm_host', 40_000],
  ['logs_indexed_15day', 30_000],
  ['rum_browser_sessions', 10_000],
  ['timeseries', 8_000],
];
const COST_FIELD_SUFFIXES = [
  'on_demand_cost',
  'committed_cost',
  'total_cost',
  'percentage_in_org',
  'percentage_in_account',
];

function costAttributionAll(model: Model, p: Params, nowMs: number) {
  const fields = parseFields(
    param(p, 'fields'),
    COST_DIMENSIONS.map(([d]) => d),
    COST_FIELD_SUFFIXES,
    COST_FIELD_SUFFIXES,
  );
  const { months: inRange } = monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
  // A month's cost attribution is available by the 19th of the next month.
  const months = inRange.filter((m) => nowMs >= Date.UTC(Math.floor((m + 1) / 12), (m + 1) % 12, 19));
  const orgs = isTrue(p.include_descendants, true) ? model.orgs : [model.parent];
  const keysRaw = param(p, 'tag_breakdown_keys');
  const rows = attributionRows(model, 'ca', months, orgs, keysRaw, COST_DIMENSIONS, 2);
  // Percentages are against all orgs of the account, whatever include_descendants says.
  const accountRows = attributionRows(model, 'ca', months, model.orgs, undefined, COST_DIMENSIONS, 2);
  const totalOf = (vals: number[][], di: number) =>
    ((vals[di] as number[])[0] ?? 0) + ((vals[di] as number[])[1] ?? 0);
  const records = rows.map((row) => {
    const orgRow = accountRows.find((r) => r.month === row.month && r.org === row.org);
    const values: Record<string, number> = {};
    for (const field of fields) {
      const di = COST_DIMENSIONS.findIndex(([d]) => field.startsWith(`${d}_`));
      const dim = (COST_DIMENSIONS[di] as [string, number])[0];
      const suffix = field.slice(dim.length + 1);
      const v = row.vals[di] as number[];
      const total = totalOf(row.vals, di);
      if (suffix === 'committed_cost') values[field] = cents(v[0] ?? 0);
      else if (suffix === 'on_demand_cost') values[field] = cents(v[1] ?? 0);
      else if (suffix === 'total_cost') values[field] = cents(total);
      else if (suffix === 'percentage_in_org') {
        const orgTotal = orgRow ? totalOf(orgRow.vals, di) : 0;
        values[field] = orgTotal === 0 ? 0 : round2((total / orgTotal) * 100);
      } else {
        const acc = accountRows
          .filter((r) => r.month === row.month)
          .reduce((s, r) => s + totalOf(r.vals, di), 0);
        values[field] = acc === 0 ? 0 : round2((total / acc) * 100);
      }
    }
    const tagKey = row.tags ? JSON.stringify(row.tags) : 'null';
    return {
      id: hexId('cost_attribution', model.cfg.seed, row.org.publicId, row.month, tagKey),
      type: 'cost_by_tag',
      attributes: {
        month: fmtTs(monthStart(row.month)),
        org_name: row.org.name,
        public_id: row.org.publicId,
        tag_config_source: tagConfigSource(model),
        tags: row.tags,
        values,
        updated_at: fmtTs(Date.UTC(Math.floor((row.month + 1) / 12), (row.month + 1) % 12, 19, 6)),
      },
    };
  });
  const aggregates = fields
    .filter((f) => f.endsWith('_cost'))
    .map((field) => ({
      field,
      agg_type: 'sum',
      value: cents(Math.round(records.reduce((s, r) => s + (r.attributes.values[field] ?? 0) * 100, 0))),
    }));
  const fp = fingerprint(['ca', p.start_month ?? '', p.end_month ?? '', fields, keysRaw ?? '', orgs.length]);
  return { records, aggregates, fp };
}

export function costAttributionRoutes(model: Model): Routes {
  return {
    '/api/v2/cost_by_tag/monthly_cost_attribution': attributionRoute(
      model,
      {
        category: 'cost_attribution',
        cost: true,
        parentOnly: true,
        unavailable: (cfg) =>
          cfg.site === 'ddog-gov.com'
            ? 'Monthly cost attribution is not available on this site (US1-FED)'
            : undefined,
      },
      { records: 'data', meta: 'meta' },
      (p, now) => costAttributionAll(model, p, now),
    ),
  };
}
