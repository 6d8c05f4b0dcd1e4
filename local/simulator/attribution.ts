/**
 * What cost and usage attribution share: the parent org's tag configuration, rows broken down by the
 * requested tag keys (`tags: null` when no configured key was asked for), `fields` and paging by
 * `next_record_id` (`sort_name`/`sort_direction` are accepted and ignored).
 */
import type { HandlerResult, Model, Org, Route } from './model.ts';
import { bad, decodeCursor, encodeCursor, type Params, param } from './request.ts';

const UNTAGGED = '\u0000';

/** Usage-attribution tag configuration of the parent org. */
const TAG_CONFIG: Array<[string, string[]]> = [
  ['team', ['a', 'b', 'c', 'd', '<empty>']],
  ['service', ['web', 'api', 'worker']],
  ['env', ['prod', 'staging']],
];

/** Every combination of every configured tag key, each key possibly absent (UNTAGGED). */
const FULL_COMBOS: Array<{ key: string; values: string[] }> = (() => {
  let combos: string[][] = [[]];
  for (const [, values] of TAG_CONFIG) {
    combos = combos.flatMap((c) => [...values, UNTAGGED].map((v) => [...c, v]));
  }
  return combos.map((values) => ({ key: values.join('/'), values }));
})();

export interface AttributionRow {
  month: number;
  org: Org;
  tags: Record<string, string[]> | null;
  vals: number[][];
}

/**
 * Rows of (month, org, tag values of the requested keys), each summing the full tag combinations it
 * groups, so totals agree whatever breakdown is asked for.
 */
export function attributionRows(
  model: Model,
  kind: string,
  months: number[],
  orgs: Org[],
  keysRaw: string | undefined,
  dims: Array<[string, number]>,
  parts: number,
): AttributionRow[] {
  const configured = TAG_CONFIG.map(([k]) => k);
  const keys = [
    ...new Set(
      (keysRaw ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter((k) => configured.includes(k)),
    ),
  ];
  const keyPos = keys.map((k) => configured.indexOf(k));
  const rows: AttributionRow[] = [];
  for (const month of months) {
    for (const org of orgs) {
      const groups = new Map<string, { tags: Record<string, string[]> | null; vals: number[][] }>();
      for (const combo of FULL_COMBOS) {
        if (org.idx !== 0 && model.rnd(kind, 'combo', org.idx, combo.key) % 5 === 0) continue;
        const projected = keyPos.map((i) => combo.values[i] as string);
        const gk = projected.join('/');
        let g = groups.get(gk);
        if (!g) {
          const tags =
            keys.length === 0
              ? null
              : Object.fromEntries(
                  keys.map((k, i) => [k, projected[i] === UNTAGGED ? [] : [projected[i] as string]]),
                );
          g = { tags, vals: dims.map(() => Array.from({ length: parts }, () => 0)) };
          groups.set(gk, g);
        }
        dims.forEach(([dim, mag], di) => {
          for (let pi = 0; pi < parts; pi++) {
            const r = model.rnd(kind, org.idx, month, combo.key, dim, pi);
            const arr = g.vals[di] as number[];
            arr[pi] =
              (arr[pi] as number) +
              (pi === 1 && r % 3 === 0 ? 0 : r % (pi === 0 ? mag : Math.floor(mag / 3)));
          }
        });
      }
      for (const g of groups.values()) rows.push({ month, org, ...g });
    }
  }
  return rows;
}

export function tagConfigSource(model: Model): string {
  return `${model.parent.publicId}:::${TAG_CONFIG.map(([k]) => k).join('///')}`;
}

export function parseFields(
  raw: string | undefined,
  dims: string[],
  suffixes: string[],
  star: string[],
): string[] {
  if (!raw) throw bad('fields is required');
  const requested = raw
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (requested.length === 0) throw bad('fields is required');
  const valid = new Set(dims.flatMap((d) => suffixes.map((s) => `${d}_${s}`)));
  const out: string[] = [];
  for (const f of requested) {
    if (f === '*') {
      out.push(...dims.flatMap((d) => star.map((s) => `${d}_${s}`)));
    } else if (valid.has(f)) {
      out.push(f);
    } else {
      throw bad(`Invalid fields: ${f}`);
    }
  }
  return [...new Set(out)];
}

/** The page `next_record_id` points at; the cursor is the offset and a fingerprint of the request. */
function attributionPage(
  model: Model,
  p: Params,
  all: unknown[],
  fp: string,
  wrap: (data: unknown[], next: string | null) => unknown,
): HandlerResult {
  let offset = 0;
  const cursor = param(p, 'next_record_id');
  if (cursor) {
    const c = decodeCursor(cursor);
    const o = c?.o;
    if (!c || c.f !== fp || typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o > all.length) {
      throw bad('Invalid next_record_id');
    }
    offset = o;
  }
  const size = model.cfg.attributionPageSize;
  const data = all.slice(offset, offset + size);
  const next = offset + size < all.length ? encodeCursor({ o: offset + size, f: fp }) : null;
  return { body: wrap(data, next), records: data };
}

/** What an attribution endpoint has for a request: every record, the aggregates, a fingerprint. */
export interface AttributionAnswer {
  records: unknown[];
  aggregates: unknown[];
  fp: string;
}

/** A paginated attribution route: records under `fields.records`, aggregates and paging under `fields.meta`. */
export function attributionRoute(
  model: Model,
  route: Pick<Route, 'category' | 'cost' | 'parentOnly' | 'unavailable'>,
  fields: { records: 'data' | 'usage'; meta: 'meta' | 'metadata' },
  all: (p: Params, nowMs: number) => AttributionAnswer,
): Route {
  return {
    ...route,
    cursor: {
      param: 'next_record_id',
      path: [fields.meta, 'pagination', 'next_record_id'],
      recordsField: fields.records,
      start: (p, now) => encodeCursor({ o: 0, f: all(p, now).fp }),
    },
    handle: (p, now) => {
      const { records, aggregates, fp } = all(p, now);
      return attributionPage(model, p, records, fp, (data, next) => ({
        [fields.records]: data,
        [fields.meta]: { aggregates, pagination: { next_record_id: next } },
      }));
    },
    expected: (p, now) => all(p, now).records,
  };
}
