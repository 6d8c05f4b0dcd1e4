/**
 * A simulated Datadog Usage Metering / Cost API, served over real HTTP on 127.0.0.1 (node:http only).
 *
 * It follows Datadog's documented behaviour: both keys on every request, `usage_read` and
 * (for cost) `billing_read`, parent-only endpoints answering 400 to child-org keys, calendar-aligned
 * rate-limit windows with the five X-RateLimit-* headers on every response, the real pagination
 * parameters and cursor locations, 15-month retention and the per-dataset availability dates.
 * All data is deterministic for a given seed and clock.
 *
 * Categories (used by `served`, `expected` and `recordId`):
 * hourly_usage, billable_summary, usage_summary, historical_cost, estimated_cost, projected_cost,
 * cost_attribution, usage_attribution.
 *
 * Choices where the reference is silent (documented so tests and callers can rely on them):
 * - hourly_usage without `filter[timestamp][end]` ends after the current hour.
 * - Monthly endpoints treat `end_month` as inclusive. It defaults to the current month, except for
 *   estimated_cost where it defaults to `start_month` (the spec says "add end_month for month-over-month").
 * - Months or hours that are not available yet (future, or before the close date) are left out, not 400.
 * - usage_summary rows carry `orgs` only with `include_org_details=true`.
 * - Attribution rows have `tags: null` when no configured tag key was asked for in `tag_breakdown_keys`.
 * - `sort_name`/`sort_direction`, `include_connected_accounts`, `filter[versions]` and
 *   `filter[include_breakdown]` are accepted and ignored.
 * - `GET /api/v1/validate` checks the API key only (no application key, no scope): 200
 *   `{"valid":true}` or 403 `{"errors":["Forbidden"]}`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/** The keys the simulator accepts unless told otherwise (also the local runner's placeholder keys). */
export const SIMULATOR_KEYS = { apiKey: 'sim-api-key', appKey: 'sim-app-key' } as const;

export interface SimulatorOptions {
  /** Port to listen on; default 0 (ephemeral). The host is always 127.0.0.1. */
  port?: number;
  /** Accepted DD-API-KEY; default 'sim-api-key'. */
  apiKey?: string;
  /** Accepted DD-APPLICATION-KEY; default 'sim-app-key'. */
  appKey?: string;
  /** Permissions of the application key; default ['usage_read', 'billing_read']. */
  scopes?: string[];
  /** Default true; false makes parent-only endpoints answer 400 "non-parent org keys". */
  parentOrg?: boolean;
  /** Number of orgs, parent included; default 3. */
  orgs?: number;
  /** Product families that have hourly data; default a realistic set of 8. */
  productFamilies?: string[];
  /** Seed of the deterministic data; default 1. */
  seed?: number;
  /** Default `page[limit]` of hourly_usage; default 500 (the spec default). */
  defaultPageLimit?: number;
  /** Page size of cost_attribution and usage_attribution; default 50. */
  attributionPageSize?: number;
  /** Calendar-aligned windows of `periodSeconds`; default 1000 per 60 s. Headers are always sent. */
  rateLimit?: { limit: number; periodSeconds: number };
  /** Clock for data availability (not for rate-limit windows, which use the real clock). */
  now?: () => Date;
  /** 'ddog-gov.com' (US1-FED) makes cost_attribution answer 400. */
  site?: string;
}

export interface ServedRecord {
  category: string;
  id: string;
}

export interface DatadogSimulator {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Every request received, in arrival order; `status` is filled in when the answer starts. */
  requests: Array<{
    method: string;
    path: string;
    query: Record<string, string>;
    status: number;
    headers: Record<string, string | string[] | undefined>;
  }>;
  /** Every record sent in a 2xx response body, in order (re-served records appear again). */
  served: ServedRecord[];
  faults: FaultQueue;
  /** The full record set the endpoint has for these query params (pagination ignored). Throws on bad params. */
  expected(category: string, params: Record<string, string>): unknown[];
  /** Stable unique id of a record as served; see `recordId` below for the rule per category. */
  recordId(category: string, record: unknown): string;
}

export type Fault =
  /**
   * Answer with this status; body defaults to `{"errors":[<status text>]}`. `headers` override the
   * rate-limit ones case-insensitively (`x-ratelimit-reset` replaces `X-RateLimit-Reset`).
   */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Send 200 headers and part of a body, then destroy the socket. */
  | { kind: 'reset' }
  /** Wait, then answer normally. */
  | { kind: 'delay'; ms: number }
  /** 200 with the first half of the normal JSON body (correct Content-Length). */
  | { kind: 'truncate' }
  /** 200 text/html maintenance page. */
  | { kind: 'html' }
  /**
   * 200 with an empty record array and a cursor that continues where the request's cursor pointed (the
   * first record when the request had none), spelled differently each time so it is never a repeat:
   * nothing is skipped. Paginated endpoints only; elsewhere the request is answered normally.
   */
  | { kind: 'emptyPage' }
  /**
   * 200 with the page's records and, as its cursor, the request's own cursor (or, on a first page, a
   * constant cursor that points at the first record): a client that follows it loops. Paginated
   * endpoints only; elsewhere the request is answered normally.
   */
  | { kind: 'repeatCursor' };

/**
 * Faults apply, in push order, to the next `times` (default 1) authenticated requests within the rate
 * limit whose raw or decoded URL (path and query) contains `pathIncludes` (any request if omitted).
 */
export interface FaultQueue {
  push(f: Fault, opts?: { times?: number; pathIncludes?: string }): void;
  clear(): void;
}

// ---------------------------------------------------------------------------------------------
// Deterministic data helpers

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RETENTION_MONTHS = 15;
const UNTAGGED = '\u0000';
const NON_PARENT = 'API called with non-parent org keys. Data is only available at the root level org';
/** Datadog's key-validation endpoint: `{"valid":true}` for a valid API key, 403 otherwise. */
const VALIDATE_PATH = '/api/v1/validate';

const DEFAULT_FAMILIES = [
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

/** Cost products and a monthly magnitude in cents. */
const COST_PRODUCTS: Array<[string, number]> = [
  ['infra_host', 1_500_000],
  ['apm_host', 1_200_000],
  ['logs_indexed_15day', 800_000],
  ['rum_browser_sessions', 400_000],
  ['synthetics_api_tests', 200_000],
  ['timeseries', 300_000],
];

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

/** Usage types of v1 monthly usage attribution, with a magnitude per tag combination. */
const ATTRIBUTION_USAGE_TYPES: Array<[string, number]> = [
  ['infra_host', 50],
  ['apm_host', 20],
  ['container', 300],
  ['custom_timeseries', 5_000],
  ['indexed_spans', 1_000_000],
];

/** Usage-attribution tag configuration of the parent org. */
const TAG_CONFIG: Array<[string, string[]]> = [
  ['team', ['a', 'b', 'c', 'd', '<empty>']],
  ['service', ['web', 'api', 'worker']],
  ['env', ['prod', 'staging']],
];

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

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hexId(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 32);
}

const floorHour = (ms: number): number => Math.floor(ms / HOUR) * HOUR;
const floorDay = (ms: number): number => Math.floor(ms / DAY) * DAY;
const monthIdxOf = (ms: number): number => {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};
const monthStart = (idx: number): number => Date.UTC(Math.floor(idx / 12), idx % 12, 1);
const daysInMonth = (idx: number): number =>
  new Date(Date.UTC(Math.floor(idx / 12), (idx % 12) + 1, 0)).getUTCDate();
/** RFC 3339 as Datadog writes it: 2026-09-01T00:00:00+00:00 */
const fmtTs = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
const cents = (c: number): number => c / 100;
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Accepts YYYY-MM-DD, YYYY-MM-DDThh, …Thh:mm, …Thh:mm:ss(.fff) with an optional Z/±hh:mm; UTC if none. */
function parseInstant(raw: string): number | undefined {
  // A '+' in an unencoded query string arrives as a space.
  const v = raw.trim().replace(/ (?=\d{2}(?::?\d{2})?$)/, '+');
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      v,
    );
  if (!m) return undefined;
  const [y, mo, d, hh, mi, ss] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 59) return undefined;
  const base = Date.UTC(y, mo - 1, d, hh, mi, ss);
  if (new Date(base).getUTCDate() !== d) return undefined;
  let offsetMin = 0;
  const tz = m[7];
  if (tz && tz !== 'Z') {
    const t = /^([+-])(\d{2}):?(\d{2})?$/.exec(tz);
    if (!t) return undefined;
    offsetMin = (t[1] === '-' ? -1 : 1) * (Number(t[2]) * 60 + Number(t[3] ?? 0));
  }
  return base - offsetMin * 60_000;
}

/** Month index from YYYY-MM or any instant accepted by parseInstant (truncated to its UTC month). */
function parseMonth(raw: string): number | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(raw.trim());
  if (m) {
    const mo = Number(m[2]);
    return mo >= 1 && mo <= 12 ? Number(m[1]) * 12 + mo - 1 : undefined;
  }
  const ms = parseInstant(raw);
  return ms === undefined ? undefined : monthIdxOf(ms);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
const bad = (message: string): HttpError => new HttpError(400, message);

type Params = Record<string, string>;

/** A non-empty, trimmed query value. */
function param(p: Params, name: string): string | undefined {
  const v = p[name]?.trim();
  return v ? v : undefined;
}

function isTrue(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v.trim() === '') return dflt;
  return v.trim().toLowerCase() === 'true';
}

function encodeCursor(obj: Record<string, number | string>): string {
  return Buffer.from(JSON.stringify(obj), 'utf8').toString('base64url');
}

function decodeCursor(raw: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const fingerprint = (parts: unknown): string => hash32(JSON.stringify(parts)).toString(36);

// ---------------------------------------------------------------------------------------------
// Data model

interface Org {
  idx: number;
  name: string;
  publicId: string;
  id: string;
}

interface CostLine {
  product: string;
  committed: number; // cents
  onDemand: number; // cents
}

interface Resolved {
  apiKey: string;
  appKey: string;
  scopes: Set<string>;
  parentOrg: boolean;
  families: string[];
  seed: number;
  defaultPageLimit: number;
  attributionPageSize: number;
  limit: number;
  periodSeconds: number;
  now: () => Date;
  site: string;
}

interface HandlerResult {
  body: unknown;
  records: unknown[];
}

/** Where a paginated endpoint takes and returns its cursor (for the emptyPage and repeatCursor faults). */
interface RouteCursor {
  /** Query parameter the cursor comes back in. */
  param: string;
  /** Where the next cursor is in the body. */
  path: readonly string[];
  /** The record array of the body. */
  recordsField: 'data' | 'usage';
  /** A valid cursor that points at the first record of these params. */
  start(p: Params, nowMs: number): string;
}

interface Route {
  category: string;
  cost: boolean;
  parentOnly: boolean;
  cursor?: RouteCursor;
  handle(p: Params, nowMs: number): HandlerResult;
}

class Model {
  readonly orgs: Org[];
  readonly parent: Org;
  readonly account: { name: string; publicId: string };
  private readonly fullCombos: Array<{ key: string; values: string[] }>;

  constructor(
    private readonly cfg: Resolved,
    orgCount: number,
  ) {
    const n = Math.max(1, Math.floor(orgCount));
    this.orgs = Array.from({ length: n }, (_, idx) => ({
      idx,
      name: idx === 0 ? 'Sim Parent Org' : `Sim Child Org ${idx}`,
      publicId: hexId('org', cfg.seed, idx).slice(0, 12),
      id: hexId('org-id', cfg.seed, idx).slice(0, 24),
    }));
    this.parent = this.orgs[0] as Org;
    this.account = { name: 'Sim Account', publicId: hexId('account', cfg.seed).slice(0, 12) };
    // Every combination of every configured tag key, each key possibly absent (UNTAGGED).
    let combos: string[][] = [[]];
    for (const [, values] of TAG_CONFIG) {
      combos = combos.flatMap((c) => [...values, UNTAGGED].map((v) => [...c, v]));
    }
    this.fullCombos = combos.map((values) => ({ key: values.join('/'), values }));
  }

  rnd(...parts: Array<string | number>): number {
    return hash32(`${this.cfg.seed}|${parts.join('|')}`);
  }

  orgHas(kind: string, org: Org, item: string): boolean {
    return org.idx === 0 || this.rnd('has', kind, org.idx, item) % 4 !== 0;
  }

  // ----- hourly_usage -------------------------------------------------------------------------

  private planHourly(p: Params, nowMs: number) {
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
      ? this.cfg.families
      : this.cfg.families.filter((f) => requested.includes(f));
    const includeDescendants = isTrue(p['filter[include_descendants]'], false);
    const orgs = includeDescendants ? this.orgs : [this.parent];
    const pairs: Array<{ org: Org; family: string }> = [];
    for (const org of orgs) {
      for (const family of families) if (this.orgHas('family', org, family)) pairs.push({ org, family });
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
    let limit = this.cfg.defaultPageLimit;
    if (limitRaw !== undefined) {
      limit = /^\d+$/.test(limitRaw.trim()) ? Number(limitRaw.trim()) : Number.NaN;
      if (!(limit >= 1 && limit <= 500)) throw bad('page[limit] must be between 1 and 500');
    }
    const fp = fingerprint([startHr, endRaw ?? '', [...requested].sort(), includeDescendants]);
    return { effStart, pairs, total: hours * pairs.length, limit, fp };
  }

  private hourlyRecord(hourMs: number, org: Org, family: string): unknown {
    const types = FAMILY_USAGE_TYPES[family] ?? [[`${family}_count`, 1_000]];
    // 1 to 3 usage types per family; diurnal shape plus noise, occasionally null.
    const diurnal = 0.6 + 0.4 * Math.sin(((new Date(hourMs).getUTCHours() - 6) / 24) * 2 * Math.PI);
    const measurements = types.slice(0, 3).map(([usageType, mag]) => {
      const r = this.rnd('hu', org.idx, family, usageType, hourMs);
      const value = r % 53 === 0 ? null : Math.floor(mag * (0.5 + (r % 1000) / 2000) * diurnal);
      return { usage_type: usageType, value };
    });
    return {
      id: hexId('hourly_usage', this.cfg.seed, org.publicId, hourMs, family),
      type: 'usage_timeseries',
      attributes: {
        org_name: org.name,
        public_id: org.publicId,
        account_name: this.account.name,
        account_public_id: this.account.publicId,
        region: 'us',
        product_family: family,
        timestamp: fmtTs(hourMs),
        measurements,
      },
    };
  }

  hourlyExpected(p: Params, nowMs: number): unknown[] {
    const plan = this.planHourly(p, nowMs);
    const out: unknown[] = [];
    for (let i = 0; i < plan.total; i++) out.push(this.hourlyAt(plan, i));
    return out;
  }

  private hourlyAt(plan: { effStart: number; pairs: Array<{ org: Org; family: string }> }, i: number) {
    const per = plan.pairs.length;
    const pair = plan.pairs[i % per] as { org: Org; family: string };
    return this.hourlyRecord(plan.effStart + Math.floor(i / per) * HOUR, pair.org, pair.family);
  }

  /** A cursor at the first record of the hourly request: hour `effStart`, pair 0. */
  hourlyStartCursor(p: Params, nowMs: number): string {
    const plan = this.planHourly(p, nowMs);
    return encodeCursor({ h: plan.effStart, k: 0, f: plan.fp });
  }

  hourlyPage(p: Params, nowMs: number): HandlerResult {
    const plan = this.planHourly(p, nowMs);
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
    for (let i = offset; i < end; i++) data.push(this.hourlyAt(plan, i));
    if (end >= plan.total) return { body: { data }, records: data };
    const next = encodeCursor({
      h: plan.effStart + Math.floor(end / per) * HOUR,
      k: end % per,
      f: plan.fp,
    });
    return { body: { data, meta: { pagination: { next_record_id: next } } }, records: data };
  }

  // ----- monthly helpers ------------------------------------------------------------------------

  /** start/end month with retention check; end inclusive, clipped to the current month. */
  private monthRange(p: Params, nowMs: number, opts: { required: boolean; defaultEnd: 'current' | 'start' }) {
    const cur = monthIdxOf(nowMs);
    const startRaw = param(p, 'start_month');
    if (!startRaw && opts.required) throw bad('start_month is required');
    const start = startRaw ? parseMonth(startRaw) : cur;
    if (start === undefined) throw bad(`Invalid start_month: ${startRaw}`);
    if (start < cur - RETENTION_MONTHS) {
      throw bad('start_month must be within the last 15 months');
    }
    const endRaw = param(p, 'end_month');
    const end = endRaw ? parseMonth(endRaw) : opts.defaultEnd === 'current' ? Math.max(cur, start) : start;
    if (end === undefined) throw bad(`Invalid end_month: ${endRaw}`);
    if (end < start) throw bad('end_month must be on or after start_month');
    const months: number[] = [];
    for (let m = start; m <= Math.min(end, cur); m++) months.push(m);
    return { start, end, months, cur };
  }

  private view(p: Params): 'summary' | 'sub-org' {
    const v = param(p, 'view') ?? 'summary';
    if (v !== 'summary' && v !== 'sub-org') throw bad(`Invalid view: ${v}. Use summary or sub-org`);
    return v;
  }

  // ----- billable_summary --------------------------------------------------------------------------

  billableSummary(p: Params, nowMs: number): unknown[] {
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
    const orgUsage = (org: Org, key: string, mag: number) => this.rnd('bs', org.idx, month, key) % mag;
    return this.orgs.map((org) => {
      const usage: Record<string, unknown> = {};
      for (const [key, unit, mag] of BILLABLE_KEYS) {
        const accountTotal = this.orgs.reduce((s, o) => s + orgUsage(o, key, mag), 0);
        const commit = Math.min(accountTotal, this.rnd('bs-commit', month, key) % mag);
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
        org_name: org.name,
        public_id: org.publicId,
        account_name: this.account.name,
        account_public_id: this.account.publicId,
        region: 'us',
        num_orgs: 1,
        start_date: fmtTs(start),
        end_date: fmtTs(end),
        ratio_in_month: round2(elapsedDays / days),
        billing_plan: 'Enterprise',
        usage,
      };
    });
  }

  // ----- usage_summary -----------------------------------------------------------------------------

  private summary(p: Params, nowMs: number) {
    const { start, end, months } = this.monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
    const withOrgs = isTrue(p.include_org_details, false);
    const orgValue = (org: Org, m: number, field: string, mag: number) =>
      this.rnd('us', org.idx, m, field) % mag;
    const usage = months.map((m) => {
      const row: Record<string, unknown> = { date: fmtTs(monthStart(m)) };
      for (const [field, , mag] of SUMMARY_FIELDS) {
        row[field] = this.orgs.reduce((s, o) => s + orgValue(o, m, field, mag), 0);
      }
      if (withOrgs) {
        row.orgs = this.orgs.map((org) => {
          const o: Record<string, unknown> = {
            id: org.id,
            name: org.name,
            public_id: org.publicId,
            region: 'us',
            account_name: this.account.name,
            account_public_id: this.account.publicId,
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

  // ----- cost endpoints ----------------------------------------------------------------------------

  private monthlyLines(salt: string, org: Org, month: number): CostLine[] {
    const lines: CostLine[] = [];
    for (const [product, mag] of COST_PRODUCTS) {
      if (!this.orgHas('product', org, product)) continue;
      const r = this.rnd(salt, org.idx, month, product);
      const committed = Math.floor(mag / 2) + (r % mag);
      const onDemand = r % 4 === 0 ? 0 : this.rnd(salt, 'od', org.idx, month, product) % Math.floor(mag / 3);
      lines.push({ product, committed, onDemand });
    }
    return lines;
  }

  private dailyLines(org: Org, dayMs: number): CostLine[] {
    const lines: CostLine[] = [];
    for (const [product, mag] of COST_PRODUCTS) {
      if (!this.orgHas('product', org, product)) continue;
      const daily = Math.floor(mag / 30);
      const r = this.rnd('ec', org.idx, dayMs, product);
      const committed = Math.floor(daily / 2) + (r % daily);
      const onDemand = r % 4 === 0 ? 0 : this.rnd('ec-od', org.idx, dayMs, product) % Math.floor(daily / 3);
      lines.push({ product, committed, onDemand });
    }
    return lines;
  }

  private static sumLines(groups: CostLine[][]): CostLine[] {
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

  private costRecord(
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
      id: hexId(category, this.cfg.seed, view, org.publicId, dateMs),
      type: projected ? 'projected_cost' : 'cost_by_org',
      attributes: {
        org_name: org.name,
        public_id: org.publicId,
        account_name: this.account.name,
        account_public_id: this.account.publicId,
        region: 'us',
        date: fmtTs(dateMs),
        ...(projected ? { projected_total_cost: total } : { total_cost: total }),
        charges,
      },
    };
  }

  /** One record per org (sub-org view) or one account-wide record under the parent's name (summary). */
  private costRecords(
    category: string,
    view: 'summary' | 'sub-org',
    dateMs: number,
    linesOf: (org: Org) => CostLine[],
    projected = false,
  ): unknown[] {
    if (view === 'sub-org') {
      return this.orgs.map((org) => this.costRecord(category, view, org, dateMs, linesOf(org), projected));
    }
    const lines = Model.sumLines(this.orgs.map(linesOf));
    return [this.costRecord(category, view, this.parent, dateMs, lines, projected)];
  }

  historicalCost(p: Params, nowMs: number): unknown[] {
    const view = this.view(p);
    const { months } = this.monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
    // A month closes on the 16th of the next month.
    const closed = months.filter((m) => nowMs >= Date.UTC(Math.floor((m + 1) / 12), (m + 1) % 12, 16));
    return closed.flatMap((m) =>
      this.costRecords('historical_cost', view, monthStart(m), (org) => this.monthlyLines('hc', org, m)),
    );
  }

  estimatedCost(p: Params, nowMs: number): unknown[] {
    const view = this.view(p);
    const cur = monthIdxOf(nowMs);
    const today = floorDay(nowMs);
    const startMonthRaw = param(p, 'start_month');
    const startDateRaw = param(p, 'start_date');
    if (startMonthRaw && startDateRaw) throw bad('Use either start_month or start_date, not both');
    const upTo = (org: Org, month: number, lastDay: number): CostLine[] => {
      const days: CostLine[][] = [];
      for (let d = 1; d <= lastDay; d++) {
        days.push(this.dailyLines(org, Date.UTC(Math.floor(month / 12), month % 12, d)));
      }
      return Model.sumLines(days);
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
        const linesOf = (org: Org) => (cumulative ? upTo(org, month, dom) : this.dailyLines(org, day));
        out.push(...this.costRecords('estimated_cost', view, day, linesOf));
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
      out.push(...this.costRecords('estimated_cost', view, monthStart(m), (org) => upTo(org, m, lastDay)));
    }
    return out;
  }

  projectedCost(p: Params, nowMs: number): unknown[] {
    const view = this.view(p);
    const cur = monthIdxOf(nowMs);
    // Projections appear around the 12th of the month.
    if (new Date(nowMs).getUTCDate() < 12) return [];
    return this.costRecords(
      'projected_cost',
      view,
      monthStart(cur),
      (org) => this.monthlyLines('pc', org, cur),
      true,
    );
  }

  // ----- attribution (cost and usage) ------------------------------------------------------------

  /**
   * Rows of (month, org, tag values of the requested keys), each summing the full tag combinations it
   * groups, so totals agree whatever breakdown is asked for.
   */
  private attributionRows(
    kind: string,
    months: number[],
    orgs: Org[],
    keysRaw: string | undefined,
    dims: Array<[string, number]>,
    parts: number,
  ) {
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
    const rows: Array<{ month: number; org: Org; tags: Record<string, string[]> | null; vals: number[][] }> =
      [];
    for (const month of months) {
      for (const org of orgs) {
        const groups = new Map<string, { tags: Record<string, string[]> | null; vals: number[][] }>();
        for (const combo of this.fullCombos) {
          if (org.idx !== 0 && this.rnd(kind, 'combo', org.idx, combo.key) % 5 === 0) continue;
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
              const r = this.rnd(kind, org.idx, month, combo.key, dim, pi);
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

  private tagConfigSource(): string {
    return `${this.parent.publicId}:::${TAG_CONFIG.map(([k]) => k).join('///')}`;
  }

  private parseFields(raw: string | undefined, dims: string[], suffixes: string[], star: string[]): string[] {
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

  private attributionPage(
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
    const size = this.cfg.attributionPageSize;
    const data = all.slice(offset, offset + size);
    const next = offset + size < all.length ? encodeCursor({ o: offset + size, f: fp }) : null;
    return { body: wrap(data, next), records: data };
  }

  private costAttributionAll(p: Params, nowMs: number) {
    const fields = this.parseFields(
      param(p, 'fields'),
      COST_DIMENSIONS.map(([d]) => d),
      COST_FIELD_SUFFIXES,
      COST_FIELD_SUFFIXES,
    );
    const { months: inRange } = this.monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
    // A month's cost attribution is available by the 19th of the next month.
    const months = inRange.filter((m) => nowMs >= Date.UTC(Math.floor((m + 1) / 12), (m + 1) % 12, 19));
    const orgs = isTrue(p.include_descendants, true) ? this.orgs : [this.parent];
    const keysRaw = param(p, 'tag_breakdown_keys');
    const rows = this.attributionRows('ca', months, orgs, keysRaw, COST_DIMENSIONS, 2);
    // Percentages are against all orgs of the account, whatever include_descendants says.
    const accountRows = this.attributionRows('ca', months, this.orgs, undefined, COST_DIMENSIONS, 2);
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
        id: hexId('cost_attribution', this.cfg.seed, row.org.publicId, row.month, tagKey),
        type: 'cost_by_tag',
        attributes: {
          month: fmtTs(monthStart(row.month)),
          org_name: row.org.name,
          public_id: row.org.publicId,
          tag_config_source: this.tagConfigSource(),
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
    const fp = fingerprint([
      'ca',
      p.start_month ?? '',
      p.end_month ?? '',
      fields,
      keysRaw ?? '',
      orgs.length,
    ]);
    return { records, aggregates, fp };
  }

  costAttributionPage(p: Params, nowMs: number): HandlerResult {
    const { records, aggregates, fp } = this.costAttributionAll(p, nowMs);
    return this.attributionPage(p, records, fp, (data, next) => ({
      data,
      meta: { aggregates, pagination: { next_record_id: next } },
    }));
  }

  costAttributionStartCursor(p: Params, nowMs: number): string {
    return encodeCursor({ o: 0, f: this.costAttributionAll(p, nowMs).fp });
  }

  costAttributionExpected(p: Params, nowMs: number): unknown[] {
    return this.costAttributionAll(p, nowMs).records;
  }

  private usageAttributionAll(p: Params, nowMs: number) {
    const fields = this.parseFields(
      param(p, 'fields'),
      ATTRIBUTION_USAGE_TYPES.map(([d]) => d),
      ['usage', 'percentage'],
      ['usage', 'percentage'],
    );
    const { months, cur } = this.monthRange(p, nowMs, { required: true, defaultEnd: 'current' });
    const orgs = isTrue(p.include_descendants, true) ? this.orgs : [this.parent];
    const keysRaw = param(p, 'tag_breakdown_keys');
    const rows = this.attributionRows('ua', months, orgs, keysRaw, ATTRIBUTION_USAGE_TYPES, 1);
    const orgTotals = this.attributionRows('ua', months, this.orgs, undefined, ATTRIBUTION_USAGE_TYPES, 1);
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
        tag_config_source: this.tagConfigSource(),
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
    const fp = fingerprint([
      'ua',
      p.start_month ?? '',
      p.end_month ?? '',
      fields,
      keysRaw ?? '',
      orgs.length,
    ]);
    return { usage, aggregates, fp };
  }

  usageAttributionPage(p: Params, nowMs: number): HandlerResult {
    const { usage, aggregates, fp } = this.usageAttributionAll(p, nowMs);
    return this.attributionPage(p, usage, fp, (data, next) => ({
      usage: data,
      metadata: { aggregates, pagination: { next_record_id: next } },
    }));
  }

  usageAttributionStartCursor(p: Params, nowMs: number): string {
    return encodeCursor({ o: 0, f: this.usageAttributionAll(p, nowMs).fp });
  }

  usageAttributionExpected(p: Params, nowMs: number): unknown[] {
    return this.usageAttributionAll(p, nowMs).usage;
  }

  // ----- routing --------------------------------------------------------------------------------

  routes(): Record<string, Route & { expected(p: Params, nowMs: number): unknown[] }> {
    const whole = (records: unknown[], key: string): HandlerResult => ({ body: { [key]: records }, records });
    return {
      '/api/v2/usage/hourly_usage': {
        category: 'hourly_usage',
        cost: false,
        parentOnly: false,
        cursor: {
          param: 'page[next_record_id]',
          path: ['meta', 'pagination', 'next_record_id'],
          recordsField: 'data',
          start: (p, now) => this.hourlyStartCursor(p, now),
        },
        handle: (p, now) => this.hourlyPage(p, now),
        expected: (p, now) => this.hourlyExpected(p, now),
      },
      '/api/v1/usage/billable-summary': {
        category: 'billable_summary',
        cost: false,
        parentOnly: true,
        handle: (p, now) => whole(this.billableSummary(p, now), 'usage'),
        expected: (p, now) => this.billableSummary(p, now),
      },
      '/api/v1/usage/summary': {
        category: 'usage_summary',
        cost: false,
        parentOnly: true,
        handle: (p, now) => this.summary(p, now),
        expected: (p, now) => this.summary(p, now).records,
      },
      '/api/v2/usage/historical_cost': {
        category: 'historical_cost',
        cost: true,
        parentOnly: true,
        handle: (p, now) => whole(this.historicalCost(p, now), 'data'),
        expected: (p, now) => this.historicalCost(p, now),
      },
      '/api/v2/usage/estimated_cost': {
        category: 'estimated_cost',
        cost: true,
        parentOnly: true,
        handle: (p, now) => whole(this.estimatedCost(p, now), 'data'),
        expected: (p, now) => this.estimatedCost(p, now),
      },
      '/api/v2/usage/projected_cost': {
        category: 'projected_cost',
        cost: true,
        parentOnly: true,
        handle: (p, now) => whole(this.projectedCost(p, now), 'data'),
        expected: (p, now) => this.projectedCost(p, now),
      },
      '/api/v2/cost_by_tag/monthly_cost_attribution': {
        category: 'cost_attribution',
        cost: true,
        parentOnly: true,
        cursor: {
          param: 'next_record_id',
          path: ['meta', 'pagination', 'next_record_id'],
          recordsField: 'data',
          start: (p, now) => this.costAttributionStartCursor(p, now),
        },
        handle: (p, now) => this.costAttributionPage(p, now),
        expected: (p, now) => this.costAttributionExpected(p, now),
      },
      '/api/v1/usage/monthly-attribution': {
        category: 'usage_attribution',
        cost: false,
        parentOnly: false,
        cursor: {
          param: 'next_record_id',
          path: ['metadata', 'pagination', 'next_record_id'],
          recordsField: 'usage',
          start: (p, now) => this.usageAttributionStartCursor(p, now),
        },
        handle: (p, now) => this.usageAttributionPage(p, now),
        expected: (p, now) => this.usageAttributionExpected(p, now),
      },
    };
  }
}

/**
 * Record id rules:
 * - hourly_usage, historical_cost, estimated_cost, projected_cost, cost_attribution: the record's own `id`
 *   (deterministic hashes of seed + org + hour/month/day + family/view/tags).
 * - billable_summary: `<public_id>|<YYYY-MM of start_date>`.
 * - usage_summary: `<YYYY-MM of date>` (one row per month for the whole account).
 * - usage_attribution: `<public_id>|<YYYY-MM of month>|<JSON of tags, or null>`.
 */
function recordId(category: string, record: unknown): string {
  const r = (record ?? {}) as Record<string, unknown>;
  const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
  switch (category) {
    case 'billable_summary':
      return `${str(r.public_id)}|${str(r.start_date).slice(0, 7)}`;
    case 'usage_summary':
      return str(r.date).slice(0, 7);
    case 'usage_attribution':
      return `${str(r.public_id)}|${str(r.month).slice(0, 7)}|${JSON.stringify(r.tags ?? null)}`;
    default:
      if (typeof r.id === 'string') return r.id;
      throw new Error(`recordId: record of ${category} has no id`);
  }
}

// ---------------------------------------------------------------------------------------------
// Server

interface QueuedFault {
  fault: Fault;
  remaining: number;
  pathIncludes: string | undefined;
}

function firstParams(sp: URLSearchParams): Params {
  const out: Params = {};
  for (const [k, v] of sp) if (!(k in out)) out[k] = v;
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const json = (errors: string[]): string => JSON.stringify({ errors });

/** Later header sets override earlier ones case-insensitively: one header per name is ever sent. */
function mergeHeaders(...sets: Array<Record<string, string> | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) {
    for (const [name, value] of Object.entries(set ?? {})) {
      for (const existing of Object.keys(out)) {
        if (existing.toLowerCase() === name.toLowerCase()) delete out[existing];
      }
      out[name] = value;
    }
  }
  return out;
}

/** Sets `body.<path>` to `value`, creating the objects on the way. */
function setPath(body: unknown, path: readonly string[], value: unknown): void {
  let node = body as Record<string, unknown>;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not found',
  429: 'Too many requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Starts the simulator on 127.0.0.1 and resolves once it listens. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<DatadogSimulator> {
  const cfg: Resolved = {
    apiKey: opts.apiKey ?? SIMULATOR_KEYS.apiKey,
    appKey: opts.appKey ?? SIMULATOR_KEYS.appKey,
    scopes: new Set(opts.scopes ?? ['usage_read', 'billing_read']),
    parentOrg: opts.parentOrg ?? true,
    families: [...new Set(opts.productFamilies ?? DEFAULT_FAMILIES)].sort(),
    seed: opts.seed ?? 1,
    defaultPageLimit: opts.defaultPageLimit ?? 500,
    attributionPageSize: Math.max(1, opts.attributionPageSize ?? 50),
    limit: opts.rateLimit?.limit ?? 1000,
    periodSeconds: Math.max(1, opts.rateLimit?.periodSeconds ?? 60),
    now: opts.now ?? (() => new Date()),
    site: opts.site ?? 'datadoghq.com',
  };
  const model = new Model(cfg, opts.orgs ?? 3);
  const routes = model.routes();
  const requests: DatadogSimulator['requests'] = [];
  const served: ServedRecord[] = [];
  let queue: QueuedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let window = -1;
  let count = 0;
  /** Makes each emptyPage cursor distinct from every cursor sent before. */
  let emptyPages = 0;

  const faults: FaultQueue = {
    push(fault, o) {
      queue.push({ fault, remaining: Math.max(1, o?.times ?? 1), pathIncludes: o?.pathIncludes });
    },
    clear() {
      queue = [];
    },
  };

  const takeFault = (rawUrl: string): Fault | undefined => {
    const decoded = safeDecode(rawUrl);
    const q = queue.find(
      (f) =>
        f.pathIncludes === undefined || rawUrl.includes(f.pathIncludes) || decoded.includes(f.pathIncludes),
    );
    if (!q) return undefined;
    q.remaining -= 1;
    if (q.remaining <= 0) queue = queue.filter((x) => x !== q);
    return q.fault;
  };

  /** Calendar-aligned window state on the real clock; `count` increments only for authenticated calls. */
  const rateLimit = (increment: boolean) => {
    const nowMs = Date.now();
    const periodMs = cfg.periodSeconds * 1000;
    const w = Math.floor(nowMs / periodMs);
    if (w !== window) {
      window = w;
      count = 0;
    }
    if (increment) count += 1;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(cfg.limit),
      'X-RateLimit-Period': String(cfg.periodSeconds),
      'X-RateLimit-Remaining': String(Math.max(0, cfg.limit - count)),
      'X-RateLimit-Reset': String(Math.max(1, Math.ceil(((w + 1) * periodMs - nowMs) / 1000))),
      'X-RateLimit-Name': 'usage_metering',
    };
    return { over: count > cfg.limit, headers };
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.resume();
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://127.0.0.1');
    const query = firstParams(url.searchParams);
    const entry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      status: 0,
      headers: { ...req.headers },
    };
    requests.push(entry);

    const send = (
      status: number,
      body: string,
      headers: Record<string, string>,
      contentType = 'application/json',
    ) => {
      entry.status = status;
      res.writeHead(status, {
        ...headers,
        'Content-Type': contentType,
        'Content-Length': String(Buffer.byteLength(body)),
      });
      res.end(body);
    };

    // Key validation (GET /api/v1/validate) reads only the API key, as Datadog's does.
    if (req.method === 'GET' && url.pathname === VALIDATE_PATH) {
      const valid = req.headers['dd-api-key'] === cfg.apiKey;
      const rl = rateLimit(valid);
      return valid
        ? send(200, JSON.stringify({ valid: true }), rl.headers)
        : send(403, json(['Forbidden']), rl.headers);
    }

    const authed =
      req.headers['dd-api-key'] === cfg.apiKey && req.headers['dd-application-key'] === cfg.appKey;
    const rl = rateLimit(authed);
    if (!authed) return send(403, json(['Forbidden']), rl.headers);
    if (rl.over) return send(429, json(['Too many requests']), rl.headers);

    const normal = (): { status: number; body: string; category?: string; records?: unknown[] } => {
      const route = req.method === 'GET' ? routes[url.pathname] : undefined;
      if (!route) return { status: 404, body: json(['Not found']) };
      const needed = route.cost ? ['usage_read', 'billing_read'] : ['usage_read'];
      if (!needed.every((s) => cfg.scopes.has(s))) return { status: 403, body: json(['Forbidden']) };
      if (route.parentOnly && !cfg.parentOrg) return { status: 400, body: json([NON_PARENT]) };
      if (route.category === 'cost_attribution' && cfg.site === 'ddog-gov.com') {
        return {
          status: 400,
          body: json(['Monthly cost attribution is not available on this site (US1-FED)']),
        };
      }
      try {
        const r = route.handle(query, cfg.now().getTime());
        return { status: 200, body: JSON.stringify(r.body), category: route.category, records: r.records };
      } catch (err) {
        if (err instanceof HttpError) return { status: err.status, body: json([err.message]) };
        return { status: 500, body: json(['Internal Server Error']) };
      }
    };

    const sendNormal = (r: ReturnType<typeof normal>) => {
      if (r.status >= 200 && r.status < 300 && r.category && r.records) {
        for (const rec of r.records) served.push({ category: r.category, id: recordId(r.category, rec) });
      }
      return send(r.status, r.body, rl.headers);
    };

    const fault = takeFault(rawUrl);
    if (fault?.kind === 'delay') await sleep(Math.max(0, fault.ms));
    if (res.destroyed) return;

    switch (fault?.kind) {
      case 'status': {
        // A simulated 429 says "nothing left, retry in 1 s" unless the fault overrides the headers.
        const limited: Record<string, string> =
          fault.status === 429 ? { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1' } : {};
        const body = fault.body ?? json([STATUS_TEXT[fault.status] ?? 'Error']);
        return send(fault.status, body, mergeHeaders(rl.headers, limited, fault.headers));
      }
      case 'reset': {
        entry.status = 200;
        res.writeHead(200, { ...rl.headers, 'Content-Type': 'application/json' });
        res.write('{"data":[{"id":"', () => {
          req.socket.destroy();
        });
        return;
      }
      case 'truncate': {
        const r = normal();
        const body = r.body.slice(0, Math.max(1, Math.floor(r.body.length / 2)));
        return send(200, body, rl.headers);
      }
      case 'html':
        return send(
          200,
          '<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We will be back soon</h1></body></html>',
          rl.headers,
          'text/html; charset=utf-8',
        );
      case 'emptyPage':
      case 'repeatCursor': {
        const r = normal();
        const route = routes[url.pathname];
        if (r.status !== 200 || !route?.cursor) return sendNormal(r);
        const cursor = route.cursor;
        const asked = param(query, cursor.param);
        const nowMs = cfg.now().getTime();
        if (fault.kind === 'repeatCursor') {
          const body = JSON.parse(r.body) as unknown;
          setPath(body, cursor.path, asked ?? cursor.start(query, nowMs));
          return sendNormal({ ...r, body: JSON.stringify(body) });
        }
        // The same position as the request's cursor (or the first record), spelled anew.
        const position = decodeCursor(asked ?? cursor.start(query, nowMs)) ?? {};
        emptyPages += 1;
        const next = encodeCursor({ ...(position as Record<string, number | string>), e: emptyPages });
        const body: Record<string, unknown> = { [cursor.recordsField]: [] };
        setPath(body, cursor.path, next);
        return send(200, JSON.stringify(body), rl.headers);
      }
      default:
        return sendNormal(normal());
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(json(['Internal Server Error']));
      } else {
        res.destroy();
      }
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    served,
    faults,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
    expected(category, params) {
      const route = Object.values(routes).find((r) => r.category === category);
      if (!route) throw new Error(`Unknown category: ${category}`);
      try {
        return route.expected(params, cfg.now().getTime());
      } catch (err) {
        if (err instanceof HttpError) throw new Error(`${category}: ${err.message}`);
        throw err;
      }
    },
    recordId,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  const sim = await startSimulator({ port: Number.isFinite(port) ? port : 0 });
  console.log(sim.url);
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
