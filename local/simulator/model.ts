/**
 * The deterministic data model every endpoint draws from: the organizations of the account, seeded
 * values and ids, the calendar helpers, and the shape of a route. Same seed and clock, same data.
 */
import { createHash } from 'node:crypto';
import type { Params } from './request.ts';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const RETENTION_MONTHS = 15;

/** The simulator's options with every default applied. */
export interface SimConfig {
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
  /** Real milliseconds in one second of the rate limit. */
  secondMs: number;
  now: () => Date;
  site: string;
}

export interface Org {
  idx: number;
  name: string;
  publicId: string;
  id: string;
}

export interface HandlerResult {
  body: unknown;
  records: unknown[];
}

/** Where a paginated endpoint takes and returns its cursor (for the emptyPage and repeatCursor faults). */
export interface RouteCursor {
  /** Query parameter the cursor comes back in. */
  param: string;
  /** Where the next cursor is in the body. */
  path: readonly string[];
  /** The record array of the body. */
  recordsField: 'data' | 'usage';
  /** A valid cursor that points at the first record of these params. */
  start(p: Params, nowMs: number): string;
}

export interface Route {
  category: string;
  cost: boolean;
  parentOnly: boolean;
  cursor?: RouteCursor;
  /** Why the endpoint answers 400 with this configuration (a site without it), if it does. */
  unavailable?(cfg: SimConfig): string | undefined;
  handle(p: Params, nowMs: number): HandlerResult;
  /** The full record set for these params (pagination ignored). */
  expected(p: Params, nowMs: number): unknown[];
}

/** Routes by path. */
export type Routes = Record<string, Route>;

/** An answer that is all the records at once, under `key`. */
export const whole = (records: unknown[], key: string): HandlerResult => ({
  body: { [key]: records },
  records,
});

export function hash32(s: string): number {
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

export function hexId(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 32);
}

export const fingerprint = (parts: unknown): string => hash32(JSON.stringify(parts)).toString(36);

export const floorHour = (ms: number): number => Math.floor(ms / HOUR) * HOUR;
export const floorDay = (ms: number): number => Math.floor(ms / DAY) * DAY;
export const monthIdxOf = (ms: number): number => {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};
export const monthStart = (idx: number): number => Date.UTC(Math.floor(idx / 12), idx % 12, 1);
export const daysInMonth = (idx: number): number =>
  new Date(Date.UTC(Math.floor(idx / 12), (idx % 12) + 1, 0)).getUTCDate();
/** RFC 3339 as Datadog writes it: 2026-09-01T00:00:00+00:00 */
export const fmtTs = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
export const cents = (c: number): number => c / 100;
export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The account: a parent org and its children, and values seeded by the configuration's seed. */
export class Model {
  readonly orgs: Org[];
  readonly parent: Org;
  readonly account: { name: string; publicId: string };

  constructor(
    readonly cfg: SimConfig,
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
  }

  rnd(...parts: Array<string | number>): number {
    return hash32(`${this.cfg.seed}|${parts.join('|')}`);
  }

  orgHas(kind: string, org: Org, item: string): boolean {
    return org.idx === 0 || this.rnd('has', kind, org.idx, item) % 4 !== 0;
  }

  /** The fields naming an org and its account, as Datadog's per-org records begin. */
  orgFields(org: Org): {
    org_name: string;
    public_id: string;
    account_name: string;
    account_public_id: string;
    region: string;
  } {
    return {
      org_name: org.name,
      public_id: org.publicId,
      account_name: this.account.name,
      account_public_id: this.account.publicId,
      region: 'us',
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
export function recordId(category: string, record: unknown): string {
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
