import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatadogSimulator, type SimulatorOptions, startSimulator } from '../../local/simulator/index.ts';

const NOW = new Date('2026-10-20T12:34:56Z');
const KEYS = { 'DD-API-KEY': 'sim-api-key', 'DD-APPLICATION-KEY': 'sim-app-key' };

interface HourlyRecord {
  id: string;
  type: string;
  attributes: { public_id: string; timestamp: string; product_family: string };
}
interface HourlyBody {
  data: HourlyRecord[];
  meta?: { pagination: { next_record_id: string } };
}
interface Charge {
  product_name: string;
  charge_type: string;
  cost: number;
}
interface CostBody {
  data: Array<{ id: string; type: string; attributes: { total_cost?: number; charges: Charge[] } }>;
}
interface CostAttributionBody {
  data: Array<{ id: string; type: string; attributes: { values: Record<string, number> } }>;
  meta: { pagination: { next_record_id: string | null } };
}
interface UsageAttributionBody {
  usage: Array<Record<string, unknown>>;
  metadata: { pagination: { next_record_id: string | null } };
}

async function get(sim: DatadogSimulator, path: string, query: Record<string, string> = {}, headers = KEYS) {
  const qs = new URLSearchParams(query).toString();
  const res = await request(`${sim.url}${path}${qs ? `?${qs}` : ''}`, { headers });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: <T = Record<string, unknown>>(): T => JSON.parse(text) as T,
  };
}

function withSimulator(opts: SimulatorOptions = {}) {
  const ctx = {} as { sim: DatadogSimulator };
  beforeAll(async () => {
    ctx.sim = await startSimulator({ now: () => NOW, ...opts });
  });
  afterAll(async () => {
    await ctx.sim.close();
  });
  return ctx;
}

describe('Simulator: auth and errors', () => {
  const ctx = withSimulator();

  it('answers 403 Forbidden to a wrong or missing key, with rate-limit headers', async () => {
    // Prepare
    const wrong = { ...KEYS, 'DD-APPLICATION-KEY': 'nope' };

    // Act
    const res = await get(ctx.sim, '/api/v1/usage/billable-summary', {}, wrong);
    const missing = await get(ctx.sim, '/api/v1/usage/billable-summary', {}, {
      'DD-API-KEY': 'sim-api-key',
    } as never);

    // Assess
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ errors: ['Forbidden'] });
    expect(res.headers['x-ratelimit-limit']).toBeDefined();
    expect(missing.status).toBe(403);
    expect(ctx.sim.requests.at(-1)?.headers['dd-api-key']).toBe('sim-api-key');
  });

  it('validates the API key alone at /api/v1/validate, as Datadog does', async () => {
    // Act
    const valid = await get(ctx.sim, '/api/v1/validate', {}, { 'DD-API-KEY': 'sim-api-key' } as never);
    const withWrongAppKey = await get(
      ctx.sim,
      '/api/v1/validate',
      {},
      { ...KEYS, 'DD-APPLICATION-KEY': 'nope' },
    );
    const invalid = await get(ctx.sim, '/api/v1/validate', {}, { ...KEYS, 'DD-API-KEY': 'nope' });

    // Assess
    expect(valid.status).toBe(200);
    expect(valid.json()).toEqual({ valid: true });
    expect(withWrongAppKey.status).toBe(200);
    expect(invalid.status).toBe(403);
    expect(invalid.json()).toEqual({ errors: ['Forbidden'] });
    expect(invalid.headers['x-ratelimit-limit']).toBeDefined();
  });

  it('answers 404 to an unknown path', async () => {
    // Act
    const res = await get(ctx.sim, '/api/v2/usage/nothing_here');

    // Assess
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ errors: ['Not found'] });
  });

  it('answers 400 on a monthly start older than 15 months', async () => {
    // Act
    const res = await get(ctx.sim, '/api/v1/usage/summary', { start_month: '2025-06' });

    // Assess
    expect(res.status).toBe(400);
  });
});

describe('Simulator: hourly_usage', () => {
  const ctx = withSimulator();
  const base = {
    'filter[timestamp][start]': '2026-10-01T00',
    'filter[timestamp][end]': '2026-10-01T05',
    'filter[product_families]': 'all',
    'filter[include_descendants]': 'true',
  };

  it('walks every record exactly once with page[limit]=7 and the last page has no meta', async () => {
    // Prepare
    const seen: HourlyRecord[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let last: HourlyBody | undefined;

    // Act
    do {
      const res = await get(ctx.sim, '/api/v2/usage/hourly_usage', {
        ...base,
        'page[limit]': '7',
        ...(cursor ? { 'page[next_record_id]': cursor } : {}),
      });
      expect(res.status).toBe(200);
      last = res.json<HourlyBody>();
      seen.push(...last.data);
      cursor = last.meta?.pagination.next_record_id;
      pages += 1;
    } while (cursor && pages < 100);

    // Assess
    const expected = ctx.sim.expected('hourly_usage', base);
    expect(expected.length).toBeGreaterThan(50);
    expect(seen).toEqual(expected);
    expect(new Set(seen.map((r) => r.id)).size).toBe(seen.length);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    expect(last).not.toHaveProperty('meta');
    expect(ctx.sim.served.map((s) => s.id)).toEqual(seen.map((r) => r.id));
    expect(seen[0]?.attributes.timestamp).toBe('2026-10-01T00:00:00+00:00');
    expect(seen[0]?.type).toBe('usage_timeseries');
  });

  it('answers 400 on a bad page[limit], a garbage cursor and an end before start', async () => {
    // Act
    const zero = await get(ctx.sim, '/api/v2/usage/hourly_usage', { ...base, 'page[limit]': '0' });
    const big = await get(ctx.sim, '/api/v2/usage/hourly_usage', { ...base, 'page[limit]': '501' });
    const garbage = await get(ctx.sim, '/api/v2/usage/hourly_usage', {
      ...base,
      'page[next_record_id]': 'xyz',
    });
    const backwards = await get(ctx.sim, '/api/v2/usage/hourly_usage', {
      ...base,
      'filter[timestamp][end]': '2026-09-30T00',
    });

    // Assess
    expect([zero.status, big.status, garbage.status, backwards.status]).toEqual([400, 400, 400, 400]);
    expect(backwards.json()).toEqual({
      errors: ['start_hr [YYYY-MM-DDThh] must be before end_hr [YYYY-MM-DDThh]'],
    });
  });

  it('returns only the parent org without include_descendants and nothing in the future', async () => {
    // Act
    const parent = await get(ctx.sim, '/api/v2/usage/hourly_usage', {
      ...base,
      'filter[include_descendants]': 'false',
      'filter[product_families]': 'infra_hosts,unknown_family',
    });
    const future = await get(ctx.sim, '/api/v2/usage/hourly_usage', {
      ...base,
      'filter[timestamp][start]': '2026-11-01T00',
      'filter[timestamp][end]': '2026-11-02T00',
    });

    // Assess
    const data = parent.json<HourlyBody>().data;
    expect(data).toHaveLength(5);
    expect(new Set(data.map((r) => r.attributes.public_id)).size).toBe(1);
    expect(future.json()).toEqual({ data: [] });
  });
});

describe('Simulator: rate limit', () => {
  const ctx = withSimulator({ rateLimit: { limit: 3, periodSeconds: 2 } });

  it('answers 429 to the 4th request in a 2 s window, with the headers', async () => {
    // Prepare: keep the four calls inside one calendar-aligned window
    const left = 2000 - (Date.now() % 2000);
    if (left < 500) await new Promise((r) => setTimeout(r, left + 10));

    // Act
    const statuses: number[] = [];
    let res: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 4; i++) {
      res = await get(ctx.sim, '/api/v1/usage/billable-summary');
      statuses.push(res.status);
    }

    // Assess
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(res?.json()).toEqual({ errors: ['Too many requests'] });
    expect(res?.headers['x-ratelimit-limit']).toBe('3');
    expect(res?.headers['x-ratelimit-period']).toBe('2');
    expect(res?.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(res?.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    expect(res?.headers['x-ratelimit-name']).toBeTruthy();
  });
});

describe('Simulator: rate limit on a scaled clock', () => {
  const ctx = withSimulator({ rateLimit: { limit: 2, periodSeconds: 6, secondMs: 50 } });

  it('counts the headers in its seconds, and a 6 s window lasts 6 × secondMs of real time', async () => {
    // Prepare: start just after a window begins (a window lasts 300 ms)
    await new Promise((r) => setTimeout(r, 300 - (Date.now() % 300) + 5));

    // Act
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 3; i++) {
      last = await get(ctx.sim, '/api/v1/usage/billable-summary');
      statuses.push(last.status);
    }
    const reset = Number(last?.headers['x-ratelimit-reset']);
    await new Promise((r) => setTimeout(r, reset * 50 + 5));
    const after = await get(ctx.sim, '/api/v1/usage/billable-summary');

    // Assess
    expect(statuses).toEqual([200, 200, 429]);
    expect(last?.headers['x-ratelimit-period']).toBe('6');
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(6);
    expect(after.status).toBe(200);
  });
});

describe('Simulator: access rules', () => {
  const child = withSimulator({ parentOrg: false });
  const usageOnly = withSimulator({ scopes: ['usage_read'] });
  const gov = withSimulator({ site: 'ddog-gov.com' });

  it('answers 400 with the non-parent message to child-org keys on parent-only endpoints', async () => {
    // Act
    const res = await get(child.sim, '/api/v2/usage/historical_cost', { start_month: '2026-08' });
    const hourly = await get(child.sim, '/api/v2/usage/hourly_usage', {
      'filter[timestamp][start]': '2026-10-01T00',
      'filter[product_families]': 'all',
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({
      errors: ['API called with non-parent org keys. Data is only available at the root level org'],
    });
    expect(hourly.status).toBe(200);
  });

  it('answers 403 to cost endpoints without billing_read, and 400 to cost attribution on US1-FED', async () => {
    // Act
    const cost = await get(usageOnly.sim, '/api/v2/usage/historical_cost', { start_month: '2026-08' });
    const usage = await get(usageOnly.sim, '/api/v1/usage/billable-summary');
    const fed = await get(gov.sim, '/api/v2/cost_by_tag/monthly_cost_attribution', {
      start_month: '2026-08',
      fields: '*',
    });

    // Assess
    expect(cost.status).toBe(403);
    expect(cost.json()).toEqual({ errors: ['Forbidden'] });
    expect(usage.status).toBe(200);
    expect(fed.status).toBe(400);
  });
});

describe('Simulator: cost endpoints', () => {
  const ctx = withSimulator();

  it('historical_cost totals are committed + on_demand in whole cents', async () => {
    // Act
    const res = await get(ctx.sim, '/api/v2/usage/historical_cost', {
      start_month: '2026-08',
      end_month: '2026-10',
      view: 'sub-org',
    });

    // Assess: October is not closed yet (16th of November), so 2 months x 3 orgs
    const data = res.json<CostBody>().data;
    expect(data).toHaveLength(6);
    for (const rec of data) {
      const byType = (t: string) =>
        rec.attributes.charges
          .filter((c) => c.charge_type === t)
          .reduce((s, c) => s + Math.round(c.cost * 100), 0);
      expect(byType('total')).toBe(byType('committed') + byType('on_demand'));
      expect(Math.round((rec.attributes.total_cost ?? 0) * 100)).toBe(byType('total'));
    }
    expect(data).toEqual(
      ctx.sim.expected('historical_cost', { start_month: '2026-08', end_month: '2026-10', view: 'sub-org' }),
    );
  });

  it('estimated_cost rejects months before the previous one; projected_cost has projected charge types', async () => {
    // Act
    const old = await get(ctx.sim, '/api/v2/usage/estimated_cost', { start_month: '2026-08' });
    const projected = await get(ctx.sim, '/api/v2/usage/projected_cost');

    // Assess
    expect(old.status).toBe(400);
    const [rec] = projected.json<CostBody>().data;
    expect(rec?.type).toBe('projected_cost');
    expect(new Set(rec?.attributes.charges.map((c) => c.charge_type))).toEqual(
      new Set(['projected_committed', 'projected_on_demand', 'total']),
    );
  });
});

describe('Simulator: attribution pagination', () => {
  const ctx = withSimulator({ attributionPageSize: 10 });

  it('walks monthly_cost_attribution pages through meta.pagination.next_record_id', async () => {
    // Prepare
    const params = { start_month: '2026-07', end_month: '2026-09', fields: '*', tag_breakdown_keys: 'team' };
    const seen: CostAttributionBody['data'] = [];
    let cursor: string | null | undefined;
    let pages = 0;

    // Act
    do {
      const res = await get(ctx.sim, '/api/v2/cost_by_tag/monthly_cost_attribution', {
        ...params,
        ...(cursor ? { next_record_id: cursor } : {}),
      });
      expect(res.status).toBe(200);
      const body = res.json<CostAttributionBody>();
      seen.push(...body.data);
      cursor = body.meta.pagination.next_record_id;
      pages += 1;
    } while (cursor && pages < 100);

    // Assess
    const expected = ctx.sim.expected('cost_attribution', params);
    expect(pages).toBeGreaterThan(2);
    expect(cursor).toBeNull();
    expect(seen).toEqual(expected);
    expect(new Set(seen.map((r) => r.id)).size).toBe(seen.length);
    expect(seen[0]?.type).toBe('cost_by_tag');
    expect(seen[0]?.attributes.values).toHaveProperty('infra_host_total_cost');
  });

  it('walks v1 monthly-attribution pages through metadata.pagination.next_record_id', async () => {
    // Prepare
    const params = { start_month: '2026-10', fields: 'infra_host_usage', tag_breakdown_keys: 'team' };
    const seen: UsageAttributionBody['usage'] = [];
    let cursor: string | null | undefined;

    // Act
    do {
      const res = await get(ctx.sim, '/api/v1/usage/monthly-attribution', {
        ...params,
        ...(cursor ? { next_record_id: cursor } : {}),
      });
      const body = res.json<UsageAttributionBody>();
      seen.push(...body.usage);
      cursor = body.metadata.pagination.next_record_id;
    } while (cursor);

    // Assess
    expect(seen).toEqual(ctx.sim.expected('usage_attribution', params));
    const ids = seen.map((r) => ctx.sim.recordId('usage_attribution', r));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers 400 when fields is missing', async () => {
    // Act
    const res = await get(ctx.sim, '/api/v2/cost_by_tag/monthly_cost_attribution', {
      start_month: '2026-08',
    });

    // Assess
    expect(res.status).toBe(400);
  });
});

describe('Simulator: faults and close', () => {
  const ctx = withSimulator();

  it('a reset fault makes the request fail, and the next request succeeds', async () => {
    // Prepare
    ctx.sim.faults.push({ kind: 'reset' }, { pathIncludes: 'billable-summary' });

    // Act
    const failed = get(ctx.sim, '/api/v1/usage/billable-summary');
    await expect(failed).rejects.toThrow();
    const ok = await get(ctx.sim, '/api/v1/usage/billable-summary');

    // Assess
    expect(ok.status).toBe(200);
  });

  it('status, truncate, html and 429 faults apply to matching requests only, then stop', async () => {
    // Prepare
    ctx.sim.faults.push({ kind: 'status', status: 503 }, { times: 2, pathIncludes: 'summary' });
    ctx.sim.faults.push({ kind: 'truncate' }, { pathIncludes: 'projected_cost' });
    ctx.sim.faults.push({ kind: 'html' }, { pathIncludes: 'projected_cost' });
    ctx.sim.faults.push({ kind: 'status', status: 429 }, { pathIncludes: 'page[next_record_id]' });

    // Act
    const a = await get(ctx.sim, '/api/v1/usage/summary', { start_month: '2026-09' });
    const b = await get(ctx.sim, '/api/v1/usage/billable-summary');
    const c = await get(ctx.sim, '/api/v1/usage/summary', { start_month: '2026-09' });
    const truncated = await get(ctx.sim, '/api/v2/usage/projected_cost');
    const html = await get(ctx.sim, '/api/v2/usage/projected_cost');
    const first = await get(ctx.sim, '/api/v2/usage/estimated_cost');
    const limited = await get(ctx.sim, '/api/v2/usage/hourly_usage', {
      'filter[timestamp][start]': '2026-10-01T00',
      'filter[product_families]': 'all',
      'page[next_record_id]': 'whatever',
    });

    // Assess
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(c.json().usage).toHaveLength(2);
    expect(truncated.status).toBe(200);
    expect(() => truncated.json()).toThrow();
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(first.status).toBe(200);
    expect(limited.status).toBe(429);
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.headers['x-ratelimit-reset']).toBe('1');
  });

  it('close() stops the server', async () => {
    // Prepare
    const sim = await startSimulator();

    // Act
    await sim.close();

    // Assess
    await expect(request(`${sim.url}/api/v2/usage/projected_cost`, { headers: KEYS })).rejects.toThrow();
  });
});

describe('Simulator: emptyPage and repeatCursor faults, fault headers', () => {
  const ctx = withSimulator({ attributionPageSize: 10 });
  const hourly = {
    'filter[timestamp][start]': '2026-10-02T00',
    'filter[timestamp][end]': '2026-10-02T04',
    'filter[product_families]': 'all',
    'filter[include_descendants]': 'true',
    'page[limit]': '9',
  };
  const HOURLY = '/api/v2/usage/hourly_usage';

  /** Follows `cursorOf` from the first page until it is absent: every body and every cursor seen. */
  async function walk<T>(
    path: string,
    params: Record<string, string>,
    cursorParam: string,
    cursorOf: (body: T) => string | null | undefined,
  ) {
    const bodies: T[] = [];
    const cursors: string[] = [];
    let cursor: string | null | undefined;
    do {
      const res = await get(ctx.sim, path, { ...params, ...(cursor ? { [cursorParam]: cursor } : {}) });
      expect(res.status).toBe(200);
      const body = res.json<T>();
      bodies.push(body);
      cursor = cursorOf(body);
      if (cursor) cursors.push(cursor);
    } while (cursor && bodies.length < 100);
    return { bodies, cursors };
  }

  it('emptyPage on a first page and twice mid-window: nothing skipped, nothing repeated, fresh cursors', async () => {
    // Prepare
    const servedBefore = ctx.sim.served.length;
    const cursorOf = (b: HourlyBody) => b.meta?.pagination.next_record_id;
    const expected = ctx.sim.expected('hourly_usage', hourly);

    // Act: the first page empty, then (another walk) the second page empty twice
    ctx.sim.faults.push({ kind: 'emptyPage' }, { pathIncludes: 'hourly_usage' });
    const onFirst = await walk<HourlyBody>(HOURLY, hourly, 'page[next_record_id]', cursorOf);
    ctx.sim.faults.push({ kind: 'emptyPage' }, { times: 2, pathIncludes: 'page[next_record_id]' });
    const midWindow = await walk<HourlyBody>(HOURLY, hourly, 'page[next_record_id]', cursorOf);

    // Assess
    for (const { bodies, cursors } of [onFirst, midWindow]) {
      expect(bodies.flatMap((b) => b.data)).toEqual(expected);
      expect(new Set(cursors).size).toBe(cursors.length);
    }
    expect(onFirst.bodies.map((b) => b.data.length).slice(0, 2)).toEqual([0, 9]);
    expect(midWindow.bodies.map((b) => b.data.length).slice(0, 4)).toEqual([9, 0, 0, 9]);
    const ids = expected.map((r) => ctx.sim.recordId('hourly_usage', r));
    expect(ctx.sim.served.slice(servedBefore).map((s) => s.id)).toEqual([...ids, ...ids]);
  });

  it('emptyPage walks v1 monthly-attribution through metadata.pagination without a gap', async () => {
    // Prepare
    const params = { start_month: '2026-09', fields: 'infra_host_usage', tag_breakdown_keys: 'team' };
    ctx.sim.faults.push({ kind: 'emptyPage' }, { pathIncludes: 'next_record_id=' });

    // Act
    const { bodies, cursors } = await walk<UsageAttributionBody>(
      '/api/v1/usage/monthly-attribution',
      params,
      'next_record_id',
      (b) => b.metadata.pagination.next_record_id,
    );

    // Assess
    expect(bodies.flatMap((b) => b.usage)).toEqual(ctx.sim.expected('usage_attribution', params));
    expect(bodies.filter((b) => b.usage.length === 0)).toHaveLength(1);
    expect(new Set(cursors).size).toBe(cursors.length);
  });

  it('repeatCursor answers a cursor request with its own cursor and the page it points at', async () => {
    // Prepare
    const first = (await get(ctx.sim, HOURLY, hourly)).json<HourlyBody>();
    const cursor = first.meta?.pagination.next_record_id ?? '';
    ctx.sim.faults.push({ kind: 'repeatCursor' }, { pathIncludes: 'page[next_record_id]' });

    // Act
    const repeated = await get(ctx.sim, HOURLY, { ...hourly, 'page[next_record_id]': cursor });
    const normal = await get(ctx.sim, HOURLY, { ...hourly, 'page[next_record_id]': cursor });

    // Assess
    expect(repeated.status).toBe(200);
    expect(repeated.json<HourlyBody>().meta?.pagination.next_record_id).toBe(cursor);
    expect(repeated.json<HourlyBody>().data).toEqual(normal.json<HourlyBody>().data);
    expect(normal.json<HourlyBody>().meta?.pagination.next_record_id).not.toBe(cursor);
  });

  it('repeatCursor on a first page gives a constant cursor that points at the first record', async () => {
    // Prepare
    ctx.sim.faults.push({ kind: 'repeatCursor' }, { times: 3, pathIncludes: 'monthly_cost_attribution' });
    const params = { start_month: '2026-08', fields: '*' };
    const path = '/api/v2/cost_by_tag/monthly_cost_attribution';
    const cursorOf = (res: Awaited<ReturnType<typeof get>>) =>
      res.json<CostAttributionBody>().meta.pagination.next_record_id;

    // Act
    const a = await get(ctx.sim, path, params);
    const b = await get(ctx.sim, path, params);
    const looped = await get(ctx.sim, path, { ...params, next_record_id: cursorOf(a) ?? '' });
    const afterFault = await get(ctx.sim, path, { ...params, next_record_id: cursorOf(a) ?? '' });

    // Assess
    expect(cursorOf(a)).toBeTruthy();
    expect(cursorOf(b)).toBe(cursorOf(a));
    expect(cursorOf(looped)).toBe(cursorOf(a));
    expect(afterFault.status).toBe(200);
    expect(afterFault.json<CostAttributionBody>().data).toEqual(a.json<CostAttributionBody>().data);
  });

  it('emptyPage and repeatCursor answer endpoints without pagination normally', async () => {
    // Prepare
    ctx.sim.faults.push({ kind: 'emptyPage' }, { pathIncludes: 'billable-summary' });
    ctx.sim.faults.push({ kind: 'repeatCursor' }, { pathIncludes: 'billable-summary' });

    // Act
    const a = await get(ctx.sim, '/api/v1/usage/billable-summary', { month: '2026-09' });
    const b = await get(ctx.sim, '/api/v1/usage/billable-summary', { month: '2026-09' });

    // Assess
    expect(a.json()).toEqual(b.json());
    expect(a.json<{ usage: unknown[] }>().usage).toEqual(
      ctx.sim.expected('billable_summary', { month: '2026-09' }),
    );
  });

  it('fault headers replace the rate-limit headers whatever their case', async () => {
    // Prepare
    ctx.sim.faults.push(
      { kind: 'status', status: 429, headers: { 'x-ratelimit-reset': '7', 'X-RATELIMIT-LIMIT': '12' } },
      { pathIncludes: 'projected_cost' },
    );

    // Act
    const res = await get(ctx.sim, '/api/v2/usage/projected_cost');

    // Assess: one value per header, the fault's
    expect(res.status).toBe(429);
    expect(res.headers['x-ratelimit-reset']).toBe('7');
    expect(res.headers['x-ratelimit-limit']).toBe('12');
    expect(res.headers['x-ratelimit-remaining']).toBe('0');
    expect(res.headers['x-ratelimit-period']).toBe('60');
  });
});
