/**
 * `GET /api/v2/usage/hourly_usage`: one record per org × product family × hour, paginated by
 * `page[limit]` and `page[next_record_id]` (in `meta.pagination`). Without `filter[timestamp][end]`
 * the range ends after the current hour.
 */
import {
  fingerprint,
  floorHour,
  fmtTs,
  type HandlerResult,
  HOUR,
  hexId,
  type Model,
  type Org,
  RETENTION_MONTHS,
  type Routes,
} from './model.ts';
import { bad, decodeCursor, encodeCursor, isTrue, type Params, param, parseInstant } from './request.ts';

export const DEFAULT_FAMILIES = [
  'analyzed_logs',
  'indexed_logs',
  'indexed_spans',
  'infra_hosts',
  'rum',
  'serverless',
  'synthetics_api',
  'timeseries',
];

/** Usage types (and a value magnitude) per product family; other families get `<family>_count`. */
const FAMILY_USAGE_TYPES: Record<string, Array<[string, number]>> = {
  analyzed_logs: [['analyzed_logs', 50_000]],
  indexed_logs: [
    ['logs_indexed_events_3_day_count', 2_000_000],
    ['logs_indexed_events_15_day_count', 8_000_000],
  ],
  indexed_spans: [['indexed_events_count', 5_000_000]],
  infra_hosts: [
    ['agent_host_count', 400],
    ['host_count', 500],
    ['container_count', 3_000],
  ],
  rum: [
    ['rum_browser_and_mobile_session_count', 20_000],
    ['rum_browser_lite_session_count', 15_000],
  ],
  serverless: [
    ['func_count', 200],
    ['invocations_sum', 1_000_000],
  ],
  synthetics_api: [['check_calls_count', 10_000]],
  timeseries: [
    ['num_custom_timeseries', 60_000],
    ['num_custom_input_timeseries', 40_000],
    ['num_custom_output_timeseries', 60_000],
  ],
};

interface HourlyPlan {
  effStart: number;
  pairs: Array<{ org: Org; family: string }>;
  total: number;
  limit: number;
  fp: string;
}

function planHourly(model: Model, p: Params, nowMs: number): HourlyPlan {
  const startRaw = param(p, 'filter[timestamp][start]');
  if (!startRaw) throw bad('filter[timestamp][start] is required');
  const famRaw = param(p, 'filter[product_families]');
  if (!famRaw) throw bad('filter[product_families] is required');
  const start = parseInstant(startRaw);
  if (start === undefined) throw bad(`Invalid filter[timestamp][start]: ${startRaw}`);
  const startHr = floorHour(start);
  const nowHr = floorHour(nowMs);
  const endRaw = param(p, 'filter[timestamp][end]');
  let endHr = Math.max(startHr + HOUR, nowHr + HOUR);
  if (endRaw) {
    const end = parseInstant(endRaw);
    if (end === undefined) throw bad(`Invalid filter[timestamp][end]: ${endRaw}`);
    endHr = floorHour(end);
  }
  if (endHr <= startHr) throw bad('start_hr [YYYY-MM-DDThh] must be before end_hr [YYYY-MM-DDThh]');

  const requested = [
    ...new Set(
      famRaw
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
    ),
  ];
  const families = requested.includes('all')
    ? model.cfg.families
    : model.cfg.families.filter((f) => requested.includes(f));
  const includeDescendants = isTrue(p['filter[include_descendants]'], false);
  const orgs = includeDescendants ? model.orgs : [model.parent];
  const pairs: Array<{ org: Org; family: string }> = [];
  for (const org of orgs) {
    for (const family of families) if (model.orgHas('family', org, family)) pairs.push({ org, family });
  }

  const nowD = new Date(nowMs);
  const retention = Date.UTC(
    nowD.getUTCFullYear(),
    nowD.getUTCMonth() - RETENTION_MONTHS,
    nowD.getUTCDate(),
    nowD.getUTCHours(),
  );
  const effStart = Math.max(startHr, Math.ceil(retention / HOUR) * HOUR);
  const effEnd = Math.min(endHr, nowHr + HOUR);
  const hours = Math.max(0, (effEnd - effStart) / HOUR);

  const limitRaw = p['page[limit]'];
  let limit = model.cfg.defaultPageLimit;
  if (limitRaw !== undefined) {
    limit = /^\d+$/.test(limitRaw.trim()) ? Number(limitRaw.trim()) : Number.NaN;
    if (!(limit >= 1 && limit <= 500)) throw bad('page[limit] must be between 1 and 500');
  }
  const fp = fingerprint([startHr, endRaw ?? '', [...requested].sort(), includeDescendants]);
  return { effStart, pairs, total: hours * pairs.length, limit, fp };
}

function hourlyRecord(model: Model, hourMs: number, org: Org, family: string): unknown {
  const types = FAMILY_USAGE_TYPES[family] ?? [[`${family}_count`, 1_000]];
  // 1 to 3 usage types per family; diurnal shape plus noise, occasionally null.
  const diurnal = 0.6 + 0.4 * Math.sin(((new Date(hourMs).getUTCHours() - 6) / 24) * 2 * Math.PI);
  const measurements = types.slice(0, 3).map(([usageType, mag]) => {
    const r = model.rnd('hu', org.idx, family, usageType, hourMs);
    const value = r % 53 === 0 ? null : Math.floor(mag * (0.5 + (r % 1000) / 2000) * diurnal);
    return { usage_type: usageType, value };
  });
  return {
    id: hexId('hourly_usage', model.cfg.seed, org.publicId, hourMs, family),
    type: 'usage_timeseries',
    attributes: {
      ...model.orgFields(org),
      product_family: family,
      timestamp: fmtTs(hourMs),
      measurements,
    },
  };
}

function hourlyAt(model: Model, plan: HourlyPlan, i: number): unknown {
  const per = plan.pairs.length;
  const pair = plan.pairs[i % per] as { org: Org; family: string };
  return hourlyRecord(model, plan.effStart + Math.floor(i / per) * HOUR, pair.org, pair.family);
}

function hourlyExpected(model: Model, p: Params, nowMs: number): unknown[] {
  const plan = planHourly(model, p, nowMs);
  const out: unknown[] = [];
  for (let i = 0; i < plan.total; i++) out.push(hourlyAt(model, plan, i));
  return out;
}

/** A cursor at the first record of the hourly request: hour `effStart`, pair 0. */
function hourlyStartCursor(model: Model, p: Params, nowMs: number): string {
  const plan = planHourly(model, p, nowMs);
  return encodeCursor({ h: plan.effStart, k: 0, f: plan.fp });
}

function hourlyPage(model: Model, p: Params, nowMs: number): HandlerResult {
  const plan = planHourly(model, p, nowMs);
  const per = plan.pairs.length;
  let offset = 0;
  const cursor = param(p, 'page[next_record_id]');
  if (cursor) {
    // The cursor holds an absolute position (hour, pair) so it survives the retention window moving.
    const c = decodeCursor(cursor);
    const h = c?.h;
    const k = c?.k;
    if (
      !c ||
      c.f !== plan.fp ||
      typeof h !== 'number' ||
      typeof k !== 'number' ||
      h % HOUR !== 0 ||
      !Number.isInteger(k) ||
      k < 0 ||
      (per > 0 && k >= per)
    ) {
      throw bad('Invalid page[next_record_id]');
    }
    offset = per === 0 ? 0 : Math.max(0, ((h - plan.effStart) / HOUR) * per + k);
  }
  const end = Math.min(plan.total, offset + plan.limit);
  const data: unknown[] = [];
  for (let i = offset; i < end; i++) data.push(hourlyAt(model, plan, i));
  if (end >= plan.total) return { body: { data }, records: data };
  const next = encodeCursor({
    h: plan.effStart + Math.floor(end / per) * HOUR,
    k: end % per,
    f: plan.fp,
  });
  return { body: { data, meta: { pagination: { next_record_id: next } } }, records: data };
}

export function hourlyUsageRoutes(model: Model): Routes {
  return {
    '/api/v2/usage/hourly_usage': {
      category: 'hourly_usage',
      cost: false,
      parentOnly: false,
      cursor: {
        param: 'page[next_record_id]',
        path: ['meta', 'pagination', 'next_record_id'],
        recordsField: 'data',
        start: (p, now) => hourlyStartCursor(model, p, now),
      },
      handle: (p, now) => hourlyPage(model, p, now),
      expected: (p, now) => hourlyExpected(model, p, now),
    },
  };
}
