import * as z from 'zod/mini';
import type { Window, WindowKind } from '../categories.ts';
import { InputError } from '../shared/errors.ts';
import { parseWith, problemCheck, show } from '../shared/schema.ts';
import { partitionOf } from './layout.ts';

/** The forms a user may type for `start` and `end` (all UTC). */
export const TIME_FORMS = 'YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh or YYYY-MM-DD Thh (UTC)';

/**
 * Years a time may name. Datadog keeps usage for 15 months, so a year before 2000 is a typo (and
 * `Date.UTC` would silently read 0000–0099 as 1900–1999); the upper bound keeps every range a
 * bounded number of windows.
 */
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;

/**
 * The longest lookback: ten years, far beyond Datadog's 15-month retention (anything older is only
 * skipped), and small enough that the arithmetic on it stays exact.
 */
export const MAX_LOOKBACK_DAYS = 3660;

const TIME_PATTERN =
  /^(\d{4})-(\d{2})(?:-(\d{2})(?:(?:T| T|\s)(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]00:?00)?)?)?$/;

/** The UTC time `value` names in one of {@link TIME_FORMS}, or why it names none. */
function readTime(value: string): { time: Date } | { problem: string } {
  if (value.trim() === '')
    return { problem: `expected a time in the form ${TIME_FORMS}, got ${describe(value)}` };
  const match = TIME_PATTERN.exec(value.trim());
  if (!match) return { problem: `"${value}" is not a time in the form ${TIME_FORMS}` };
  const [, y, mo, d, h, mi, s] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (year < MIN_YEAR || year > MAX_YEAR) {
    return { problem: `"${value}" has year ${y}; years are ${MIN_YEAR} to ${MAX_YEAR} (${TIME_FORMS})` };
  }
  if (month < 1 || month > 12)
    return { problem: `"${value}" has month ${mo}; months are 01 to 12 (${TIME_FORMS})` };
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) {
    return { problem: `"${value}" has day ${d}; ${y}-${mo} has days 01 to ${daysInMonth} (${TIME_FORMS})` };
  }
  if (hour > 23) return { problem: `"${value}" has hour ${h}; hours are 00 to 23 (${TIME_FORMS})` };
  if (minute > 59 || second > 59) return { problem: `"${value}" has an invalid minute or second` };
  return { time: new Date(Date.UTC(year, month - 1, day, hour, minute, second)) };
}

/**
 * A time as typed, in one of {@link TIME_FORMS} (full ISO timestamps at UTC are accepted too, for
 * the scheduler's time); {@link timeOf} reads it.
 */
export const TimeText = z
  .string({ error: (iss) => `expected a time in the form ${TIME_FORMS}, got ${describe(iss.input)}` })
  .check(problemCheck(timeProblem));

function timeProblem(value: string): string | undefined {
  const read = readTime(value);
  return 'problem' in read ? read.problem : undefined;
}

/** The UTC time a {@link TimeText} names. */
export function timeOf(text: string): Date {
  const read = readTime(text);
  if ('problem' in read) throw new InputError('time', read.problem);
  return read.time;
}

/** Parses a user time (see {@link TimeText}) into a UTC Date. Throws an InputError naming the field. */
export function parseTime(field: string, value: unknown): Date {
  return timeOf(parseWith(TimeText, value, field, (name, message) => new InputError(name, message)));
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return show(value);
}

export function startOfDay(t: Date): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
}

export function startOfMonth(t: Date): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
}

export function addDays(t: Date, days: number): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + days));
}

export function addMonths(t: Date, months: number): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + months, 1));
}

/** Widens `[start, end)` to whole windows of the kind: a window is always a complete partition. */
export function alignRange(kind: WindowKind, start: Date, end: Date): { start: Date; end: Date } {
  if (kind === 'day') {
    const s = startOfDay(start);
    const e = startOfDay(end);
    return { start: s, end: e.getTime() < end.getTime() ? addDays(e, 1) : e };
  }
  const s = startOfMonth(start);
  const e = startOfMonth(end);
  return { start: s, end: e.getTime() < end.getTime() ? addMonths(e, 1) : e };
}

export function windowOf(kind: WindowKind, start: Date): Window {
  const end = kind === 'day' ? addDays(start, 1) : addMonths(start, 1);
  const iso = start.toISOString();
  return {
    start: iso,
    end: end.toISOString(),
    partition: partitionOf(kind, iso),
  };
}

/** Start of the window `n` windows after the aligned `start`. */
export function nthWindowStart(kind: WindowKind, start: Date, n: number): Date {
  return kind === 'day' ? addDays(start, n) : addMonths(start, n);
}

/** Windows from the aligned `start` up to the aligned `end`, counted without building them. */
export function countWindows(kind: WindowKind, start: Date, end: Date): number {
  if (end.getTime() <= start.getTime()) return 0;
  if (kind === 'day') return Math.round((end.getTime() - start.getTime()) / 86_400_000);
  return (end.getUTCFullYear() - start.getUTCFullYear()) * 12 + (end.getUTCMonth() - start.getUTCMonth());
}

/** Half-open, UTC, aligned windows covering `[start, end)`. */
export function windowsFor(kind: WindowKind, start: Date, end: Date): Window[] {
  const aligned = alignRange(kind, start, end);
  const windows: Window[] = [];
  for (let t = aligned.start; t.getTime() < aligned.end.getTime(); ) {
    const w = windowOf(kind, t);
    windows.push(w);
    t = new Date(w.end);
  }
  return windows;
}

const DURATION = /^P(?:(\d+)D)?(?:T(\d+)H)?$/;
const LOOKBACK_FORM = 'an ISO 8601 duration in days or hours';

/** Hours of an ISO 8601 duration in days and hours only, or undefined when `value` is not one (or is zero). */
function lookbackHours(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (!match || (match[1] === undefined && match[2] === undefined)) return undefined;
  const hours = Number(match[1] ?? 0) * 24 + Number(match[2] ?? 0);
  return hours === 0 ? undefined : hours;
}

/**
 * A lookback: an ISO 8601 duration in days and hours only (`P3D`, `PT72H`, `P1DT12H`), enough for
 * lookbacks. At most {@link MAX_LOOKBACK_DAYS}, so a huge value is refused instead of overflowing a
 * Date; {@link lookbackMs} reads it.
 */
export const LookbackText = z
  .string({
    error: (iss) => `expected ${LOOKBACK_FORM} such as P3D or PT72H, got ${describe(iss.input)}`,
  })
  .check(
    problemCheck((value: string) => {
      const hours = lookbackHours(value);
      if (hours === undefined)
        return `expected ${LOOKBACK_FORM} such as P3D or PT72H, got ${describe(value)}`;
      if (!(hours <= MAX_LOOKBACK_DAYS * 24)) {
        return `expected ${LOOKBACK_FORM} of at most P${MAX_LOOKBACK_DAYS}D (such as P3D or PT72H), got ${describe(value)}`;
      }
      return undefined;
    }),
  );

/** Milliseconds of a {@link LookbackText}. */
export function lookbackMs(text: string): number {
  return (lookbackHours(text) ?? Number.NaN) * 3_600_000;
}

/** Parses a lookback (see {@link LookbackText}) into milliseconds. Throws an InputError naming the field. */
export function parseLookback(field: string, value: unknown): number {
  return lookbackMs(parseWith(LookbackText, value, field, (name, message) => new InputError(name, message)));
}
