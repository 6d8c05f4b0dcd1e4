/** Reading a request as Datadog does: query values, dates and months, cursors, and 400 answers. */
import { monthIdxOf, RETENTION_MONTHS } from './model.ts';

export type Params = Record<string, string>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
export const bad = (message: string): HttpError => new HttpError(400, message);

/** Datadog's error body: `{"errors":[...]}`. */
export const errorsJson = (errors: string[]): string => JSON.stringify({ errors });

/** A non-empty, trimmed query value. */
export function param(p: Params, name: string): string | undefined {
  const v = p[name]?.trim();
  return v ? v : undefined;
}

export function isTrue(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v.trim() === '') return dflt;
  return v.trim().toLowerCase() === 'true';
}

/** Accepts YYYY-MM-DD, YYYY-MM-DDThh, …Thh:mm, …Thh:mm:ss(.fff) with an optional Z/±hh:mm; UTC if none. */
export function parseInstant(raw: string): number | undefined {
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
export function parseMonth(raw: string): number | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(raw.trim());
  if (m) {
    const mo = Number(m[2]);
    return mo >= 1 && mo <= 12 ? Number(m[1]) * 12 + mo - 1 : undefined;
  }
  const ms = parseInstant(raw);
  return ms === undefined ? undefined : monthIdxOf(ms);
}

/** start/end month with retention check; end inclusive, clipped to the current month. */
export function monthRange(
  p: Params,
  nowMs: number,
  opts: { required: boolean; defaultEnd: 'current' | 'start' },
) {
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

export function encodeCursor(obj: Record<string, number | string>): string {
  return Buffer.from(JSON.stringify(obj), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
