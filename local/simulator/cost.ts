/**
 * The cost endpoints, parent org only, `usage_read` and `billing_read`, not paginated:
 * `GET /api/v2/usage/historical_cost` (a month closes on the 16th of the next),
 * `GET /api/v2/usage/estimated_cost` (current and previous month; `end_month` defaults to
 * `start_month`), `GET /api/v2/usage/projected_cost` (current month, from about the 12th).
 * `view=summary` gives one account-wide record, `view=sub-org` one per org.
 */
import {
  cents,
  DAY,
  daysInMonth,
  floorDay,
  fmtTs,
  hexId,
  type Model,
  monthIdxOf,
  monthStart,
  type Org,
  type Routes,
  whole,
} from './model.ts';
import { bad, monthRange, type Params, param, parseInstant, parseMonth } from './request.ts';

/** Cost products and a monthly magnitude in cents. */
const COST_PRODUCTS: Array<[string, number]> = [
  ['infra_host', 1_500_000],
  ['apm_host', 1_200_000],
  ['logs_indexed_15day', 800_000],
  ['rum_browser_sessions', 400_000],
  ['synthetics_api_tests', 200_000],
  ['timeseries', 300_000],
];

interface CostLine {
  product: string;
  committed: number; // cents
  onDemand: number; // cents
}

function costView(p: Params): 'summary' | 'sub-org' {
  const v = param(p, 'view') ?? 'summary';
  if (v !== 'summary' && v !== 'sub-org') throw bad(`Invalid view: ${v}. Use summary or sub-org`);
  return v;
}

function monthlyLines(model: Model, salt: string, org: Org, month: number): CostLine[] {
  const lines: CostLine[] = [];
  for (const [product, mag] of COST_PRODUCTS) {
    if (!model.orgHas('product', org, product)) continue;
    const r = model.rnd(salt, org.idx, month, product);
    const committed = Math.floor(mag / 2) + (r % mag);
    const onDemand = r % 4 === 0 ? 0 : model.rnd(salt, 'od', org.idx, month, product) % Math.floor(mag / 3);
    lines.push({ product, committed, onDemand });
  }
  return lines;
}

function dailyLines(model: Model, org: Org, dayMs: number): CostLine[] {
  const lines: CostLine[] = [];
  for (const [product, mag] of COST_PRODUCTS) {
    if (!model.orgHas('product', org, product)) continue;
    const daily = Math.floor(mag / 30);
    const r = model.rnd('ec', org.idx, dayMs, product);
    const committed = Math.floor(daily / 2) + (r % daily);
    const onDemand = r % 4 === 0 ? 0 : model.rnd('ec-od', org.idx, dayMs, product) % Math.floor(daily / 3);
    lines.push({ product, committed, onDemand });
  }
  return lines;
}

function sumLines(groups: CostLine[][]): CostLine[] {
  const by = new Map<string, CostLine>();
  for (const [product] of COST_PRODUCTS) {
    for (const lines of groups) {
      const l = lines.find((x) => x.product === product);
      if (!l) continue;
      const acc = by.get(product) ?? { product, committed: 0, onDemand: 0 };
      acc.committed += l.committed;
      acc.onDemand += l.onDemand;
      by.set(product, acc);
    }
  }
  return [...by.values()];
}

function costRecord(
  model: Model,
  category: string,
  view: string,
  org: Org,
  dateMs: number,
  lines: CostLine[],
  projected: boolean,
): unknown {
  const charges = lines.flatMap((l) => [
    {
      product_name: l.product,
      charge_type: projected ? 'projected_committed' : 'committed',
      cost: cents(l.committed),
    },
    {
      product_name: l.product,
      charge_type: projected ? 'projected_on_demand' : 'on_demand',
      cost: cents(l.onDemand),
    },
    { product_name: l.product, charge_type: 'total', cost: cents(l.committed + l.onDemand) },
  ]);
  const total = cents(lines.reduce((s, l) => s + l.committed + l.onDemand, 0));
  return {
    id: hexId(category, model.cfg.seed, view, org.publicId, dateMs),
    type: projected ? 'projected_cost' : 'cost_by_org',
    attributes: {
      ...model.orgFields(org),
      date: fmtTs(dateMs),
      ...(projected ? { projected_total_cost: total } : { total_cost: total }),
      charges,
    },
  };
}

/** One record per org (sub-org view) or one account-wide record under the parent's name (summary). */
function costRecords(
  model: Model,
  category: string,
  view: 'summary' | 'sub-org',
  dateMs: number,
  linesOf: (org: Org) => CostLine[],
  projected = false,
): unknown[] {
  if (view === 'sub-org') {
    return model.orgs.map((org) => costRecord(model, category, view, org, dateMs, linesOf(org), projected));
  }
  const lines = sumLines(model.orgs.map(linesOf));
  return [costRecord(model, category, view, model.parent, dateMs, lines, projected)];
}

function historicalCost(model: Model, p: Params, nowMs: number): unknown[] {
  const view = costView(p);
  const { months } = monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
  // A month closes on the 16th of the next month.
  const closed = months.filter((m) => nowMs >= Date.UTC(Math.floor((m + 1) / 12), (m + 1) % 12, 16));
  return closed.flatMap((m) =>
    costRecords(model, 'historical_cost', view, monthStart(m), (org) => monthlyLines(model, 'hc', org, m)),
  );
}

function estimatedCost(model: Model, p: Params, nowMs: number): unknown[] {
  const view = costView(p);
  const cur = monthIdxOf(nowMs);
  const today = floorDay(nowMs);
  const startMonthRaw = param(p, 'start_month');
  const startDateRaw = param(p, 'start_date');
  if (startMonthRaw && startDateRaw) throw bad('Use either start_month or start_date, not both');
  const upTo = (org: Org, month: number, lastDay: number): CostLine[] => {
    const days: CostLine[][] = [];
    for (let d = 1; d <= lastDay; d++) {
      days.push(dailyLines(model, org, Date.UTC(Math.floor(month / 12), month % 12, d)));
    }
    return sumLines(days);
  };
  if (startDateRaw) {
    const start = parseInstant(startDateRaw);
    if (start === undefined) throw bad(`Invalid start_date: ${startDateRaw}`);
    const endRaw = param(p, 'end_date');
    const end = endRaw ? parseInstant(endRaw) : start;
    if (end === undefined) throw bad(`Invalid end_date: ${endRaw}`);
    const startDay = floorDay(start);
    if (startDay < monthStart(cur - 1) || startDay > today) {
      throw bad('start_date must be in the current or the previous month');
    }
    if (floorDay(end) < startDay) throw bad('end_date must be on or after start_date');
    const cumulative = param(p, 'cost_aggregation') === 'cumulative';
    const out: unknown[] = [];
    for (let day = startDay; day <= Math.min(floorDay(end), today); day += DAY) {
      const month = monthIdxOf(day);
      const dom = new Date(day).getUTCDate();
      const linesOf = (org: Org) => (cumulative ? upTo(org, month, dom) : dailyLines(model, org, day));
      out.push(...costRecords(model, 'estimated_cost', view, day, linesOf));
    }
    return out;
  }
  const start = startMonthRaw ? parseMonth(startMonthRaw) : cur;
  if (start === undefined) throw bad(`Invalid start_month: ${startMonthRaw}`);
  if (start < cur - 1 || start > cur) throw bad('start_month must be the current or the previous month');
  const endRaw = param(p, 'end_month');
  const end = endRaw ? parseMonth(endRaw) : start;
  if (end === undefined) throw bad(`Invalid end_month: ${endRaw}`);
  if (end < start) throw bad('end_month must be on or after start_month');
  const out: unknown[] = [];
  for (let m = start; m <= Math.min(end, cur); m++) {
    const lastDay = m === cur ? new Date(nowMs).getUTCDate() : daysInMonth(m);
    out.push(...costRecords(model, 'estimated_cost', view, monthStart(m), (org) => upTo(org, m, lastDay)));
  }
  return out;
}

function projectedCost(model: Model, p: Params, nowMs: number): unknown[] {
  const view = costView(p);
  const cur = monthIdxOf(nowMs);
  // Projections appear around the 12th of the month.
  if (new Date(nowMs).getUTCDate() < 12) return [];
  return costRecords(
    model,
    'projected_cost',
    view,
    monthStart(cur),
    (org) => monthlyLines(model, 'pc', org, cur),
    true,
  );
}

export function costRoutes(model: Model): Routes {
  return {
    '/api/v2/usage/historical_cost': {
      category: 'historical_cost',
      cost: true,
      parentOnly: true,
      handle: (p, now) => whole(historicalCost(model, p, now), 'data'),
      expected: (p, now) => historicalCost(model, p, now),
    },
    '/api/v2/usage/estimated_cost': {
      category: 'estimated_cost',
      cost: true,
      parentOnly: true,
      handle: (p, now) => whole(estimatedCost(model, p, now), 'data'),
      expected: (p, now) => estimatedCost(model, p, now),
    },
    '/api/v2/usage/projected_cost': {
      category: 'projected_cost',
      cost: true,
      parentOnly: true,
      handle: (p, now) => whole(projectedCost(model, p, now), 'data'),
      expected: (p, now) => projectedCost(model, p, now),
    },
  };
}
