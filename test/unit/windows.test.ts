import { describe, expect, it } from 'vitest';
import {
  countWindows,
  MAX_LOOKBACK_DAYS,
  parseLookback,
  parseTime,
  TIME_FORMS,
  windowsFor,
} from '../../lambdas/core/windows.ts';
import { InputError } from '../../lambdas/shared/errors.ts';

const HOUR = 3_600_000;

/** Runs `act`, expects an InputError, and returns it for further checks. */
function inputError(act: () => unknown): InputError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

describe('Function: parseTime', () => {
  it.each([
    ['2026-09', '2026-09-01T00:00:00.000Z'],
    ['2026-09-01', '2026-09-01T00:00:00.000Z'],
    ['2026-09-01T06', '2026-09-01T06:00:00.000Z'],
    ['2026-09-01 T06', '2026-09-01T06:00:00.000Z'],
    ['2026-09-01T06:00:00Z', '2026-09-01T06:00:00.000Z'],
    ['2026-09-01T06:30:15.250Z', '2026-09-01T06:30:15.000Z'],
    ['2026-12-31T23', '2026-12-31T23:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
  ])('accepts %s as %s (UTC)', (input, expected) => {
    // Act
    const parsed = parseTime('start', input);

    // Assess
    expect(parsed).toBeInstanceOf(Date);
    expect(parsed.toISOString()).toBe(expected);
  });

  it('ignores surrounding whitespace', () => {
    // Act
    const parsed = parseTime('start', '  2026-09-01T06  ');

    // Assess
    expect(parsed.toISOString()).toBe('2026-09-01T06:00:00.000Z');
  });

  it.each([
    ['month 13', '2026-13', /month 13; months are 01 to 12/],
    ['month 00', '2026-00-10', /month 00; months are 01 to 12/],
    ['day 31 of September', '2026-09-31', /day 31; 2026-09 has days 01 to 30/],
    ['day 29 of February in a common year', '2026-02-29', /day 29; 2026-02 has days 01 to 28/],
    ['hour 24', '2026-09-01T24', /hour 24; hours are 00 to 23/],
  ])('rejects %s with an InputError naming the field and the valid range', (_label, input, range) => {
    // Act
    const error = inputError(() => parseTime('start', input));

    // Assess
    expect(error.name).toBe('InputError');
    expect(error.field).toBe('start');
    expect(error.message.startsWith('start: ')).toBe(true);
    expect(error.message).toContain(`"${input}"`);
    expect(error.message).toMatch(range);
  });

  it.each([
    ['garbage', 'yesterday'],
    ['a date with a slash', '2026/09/01'],
    ['a two-digit year', '26-09-01'],
    ['a single-digit hour', '2026-09-01T6'],
    ['a non-UTC offset', '2026-09-01T06:00:00+02:00'],
  ])('rejects %s with an InputError naming the field and the accepted forms', (_label, input) => {
    // Act
    const error = inputError(() => parseTime('end', input));

    // Assess
    expect(error.field).toBe('end');
    expect(error.message.startsWith('end: ')).toBe(true);
    expect(error.message).toContain(`"${input}"`);
    expect(error.message).toContain(TIME_FORMS);
  });

  it.each([
    ['an empty string', ''],
    ['blanks', '   '],
    ['a number', 20260901],
    ['undefined', undefined],
    ['null', null],
    ['an object', { year: 2026 }],
  ])('rejects %s with an InputError naming the field and the accepted forms', (_label, input) => {
    // Act
    const error = inputError(() => parseTime('asOf', input));

    // Assess
    expect(error.field).toBe('asOf');
    expect(error.message.startsWith('asOf: ')).toBe(true);
    expect(error.message).toContain(TIME_FORMS);
  });

  it.each([
    ['year 0100', '0100-01'],
    ['year 0099, which Date.UTC would read as 1999', '0099-12-31'],
    ['year 0000', '0000-01-01T00'],
    ['year 1999', '1999-12-31T23'],
    ['year 2101', '2101-01'],
    ['year 9999', '9999-12'],
  ])('rejects %s with an InputError naming the field and the accepted years', (_label, input) => {
    // Act
    const error = inputError(() => parseTime('start', input));

    // Assess
    expect(error.field).toBe('start');
    expect(error.message).toBe(
      `start: "${input}" has year ${input.slice(0, 4)}; years are 2000 to 2100 (${TIME_FORMS})`,
    );
  });

  it.each([
    ['2000-01', '2000-01-01T00:00:00.000Z'],
    ['2100-12-31T23', '2100-12-31T23:00:00.000Z'],
  ])('accepts %s, at the edge of the accepted years', (input, expected) => {
    // Act
    const parsed = parseTime('end', input);

    // Assess
    expect(parsed.toISOString()).toBe(expected);
  });

  it('says what it got for a non-string value', () => {
    // Act
    const number = inputError(() => parseTime('start', 42));
    const missing = inputError(() => parseTime('start', undefined));

    // Assess
    expect(number.message).toMatch(/got 42$/);
    expect(missing.message).toMatch(/got nothing$/);
  });

  it('lists every accepted form in TIME_FORMS', () => {
    // Assess
    for (const form of ['YYYY-MM', 'YYYY-MM-DD', 'YYYY-MM-DDThh', 'YYYY-MM-DD Thh', 'UTC']) {
      expect(TIME_FORMS).toContain(form);
    }
  });
});

describe('Function: windowsFor', () => {
  it('widens hour bounds to whole UTC days, half-open', () => {
    // Prepare
    const start = new Date('2026-09-01T06:00:00Z');
    const end = new Date('2026-09-03T06:00:00Z');

    // Act
    const windows = windowsFor('day', start, end);

    // Assess
    expect(windows).toEqual([
      { start: '2026-09-01T00:00:00.000Z', end: '2026-09-02T00:00:00.000Z', partition: 'day=2026-09-01' },
      { start: '2026-09-02T00:00:00.000Z', end: '2026-09-03T00:00:00.000Z', partition: 'day=2026-09-02' },
      { start: '2026-09-03T00:00:00.000Z', end: '2026-09-04T00:00:00.000Z', partition: 'day=2026-09-03' },
    ]);
  });

  it('does not add a day when the end is already midnight (end is exclusive)', () => {
    // Prepare
    const start = new Date('2026-09-01T00:00:00Z');
    const end = new Date('2026-09-03T00:00:00Z');

    // Act
    const windows = windowsFor('day', start, end);

    // Assess
    expect(windows.map((w) => w.partition)).toEqual(['day=2026-09-01', 'day=2026-09-02']);
  });

  it('makes windows that tile the range with no gaps or overlaps', () => {
    // Prepare
    const start = new Date('2026-02-25T13:00:00Z');
    const end = new Date('2026-03-04T01:00:00Z');

    // Act
    const windows = windowsFor('day', start, end);

    // Assess
    expect(windows).toHaveLength(8);
    expect(windows[0]?.start).toBe('2026-02-25T00:00:00.000Z');
    expect(windows.at(-1)?.end).toBe('2026-03-05T00:00:00.000Z');
    windows.forEach((w, i) => {
      expect(new Date(w.end).getTime() - new Date(w.start).getTime()).toBe(24 * HOUR);
      if (i > 0) expect(w.start).toBe(windows[i - 1]?.end);
    });
  });

  it('crosses a month boundary', () => {
    // Act
    const windows = windowsFor('day', new Date('2026-09-29T12:00:00Z'), new Date('2026-10-02T00:00:00Z'));

    // Assess
    expect(windows.map((w) => w.partition)).toEqual(['day=2026-09-29', 'day=2026-09-30', 'day=2026-10-01']);
  });

  it('crosses a year boundary', () => {
    // Act
    const windows = windowsFor('day', new Date('2026-12-30T22:00:00Z'), new Date('2027-01-01T01:00:00Z'));

    // Assess
    expect(windows).toEqual([
      { start: '2026-12-30T00:00:00.000Z', end: '2026-12-31T00:00:00.000Z', partition: 'day=2026-12-30' },
      { start: '2026-12-31T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z', partition: 'day=2026-12-31' },
      { start: '2027-01-01T00:00:00.000Z', end: '2027-01-02T00:00:00.000Z', partition: 'day=2027-01-01' },
    ]);
  });

  it('covers a leap day', () => {
    // Act
    const windows = windowsFor('day', new Date('2028-02-28T00:00:00Z'), new Date('2028-03-01T00:00:00Z'));

    // Assess
    expect(windows.map((w) => w.partition)).toEqual(['day=2028-02-28', 'day=2028-02-29']);
  });

  it('makes aligned month windows, widening a mid-month range', () => {
    // Act
    const windows = windowsFor('month', new Date('2026-11-15T06:00:00Z'), new Date('2027-02-01T00:00:00Z'));

    // Assess
    expect(windows).toEqual([
      { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z', partition: 'month=2026-11' },
      { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z', partition: 'month=2026-12' },
      { start: '2027-01-01T00:00:00.000Z', end: '2027-02-01T00:00:00.000Z', partition: 'month=2027-01' },
    ]);
  });

  it('widens a month end that is not on a month boundary to the next month', () => {
    // Act
    const windows = windowsFor('month', new Date('2026-09-01T00:00:00Z'), new Date('2026-10-01T01:00:00Z'));

    // Assess
    expect(windows.map((w) => w.partition)).toEqual(['month=2026-09', 'month=2026-10']);
    expect(windows.at(-1)?.end).toBe('2026-11-01T00:00:00.000Z');
  });

  it('gives one month window for a range inside one month', () => {
    // Act
    const windows = windowsFor('month', new Date('2026-02-03T00:00:00Z'), new Date('2026-02-04T00:00:00Z'));

    // Assess
    expect(windows).toEqual([
      { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z', partition: 'month=2026-02' },
    ]);
  });
});

describe('Function: countWindows', () => {
  it.each([
    ['day', '2026-11-20', '2026-11-23'],
    ['day', '2024-02-01', '2024-03-01'],
    ['day', '2000-01-01', '2100-12-31'],
    ['month', '2026-01-01', '2026-01-01'],
    ['month', '2025-11-01', '2026-02-01'],
    ['month', '2000-01-01', '2100-12-01'],
  ] as const)('counts the %s windows from %s to %s as windowsFor builds them', (kind, from, to) => {
    // Prepare
    const start = new Date(`${from}T00:00:00Z`);
    const end = new Date(`${to}T00:00:00Z`);

    // Act
    const count = countWindows(kind, start, end);

    // Assess
    expect(count).toBe(windowsFor(kind, start, end).length);
  });
});

describe('Function: parseLookback', () => {
  it.each([
    ['P3D', 72 * HOUR],
    ['PT72H', 72 * HOUR],
    ['P1DT12H', 36 * HOUR],
    ['PT1H', HOUR],
    ['P15D', 15 * 24 * HOUR],
  ])('parses %s', (input, expected) => {
    // Act
    const ms = parseLookback('lookback', input);

    // Assess
    expect(ms).toBe(expected);
  });

  it(`accepts P${MAX_LOOKBACK_DAYS}D, the longest lookback`, () => {
    // Act
    const ms = parseLookback('lookback', `P${MAX_LOOKBACK_DAYS}D`);
    const hours = parseLookback('lookback', `PT${MAX_LOOKBACK_DAYS * 24}H`);

    // Assess
    expect(ms).toBe(MAX_LOOKBACK_DAYS * 24 * HOUR);
    expect(hours).toBe(ms);
  });

  it.each([
    ['a day too many', `P${MAX_LOOKBACK_DAYS + 1}D`],
    ['an hour too many', `P${MAX_LOOKBACK_DAYS}DT1H`],
    ['8,000 years', 'P3000000D'],
    ['more days than a Date can hold', 'P200000000D'],
    ['more digits than a double can hold', `P${'9'.repeat(400)}D`],
    ['too many hours', 'PT99999999H'],
  ])('rejects %s with an InputError naming the field and the longest lookback', (_label, input) => {
    // Act
    const error = inputError(() => parseLookback('lookback', input));

    // Assess
    expect(error.field).toBe('lookback');
    expect(error.message).toBe(
      `lookback: expected an ISO 8601 duration in days or hours of at most P${MAX_LOOKBACK_DAYS}D (such as P3D or PT72H), got "${input}"`,
    );
  });

  it.each([
    ['an empty string', ''],
    ['a bare P', 'P'],
    ['a bare PT', 'PT'],
    ['weeks', 'P1W'],
    ['minutes', 'PT30M'],
    ['months', 'P1M'],
    ['no P', '3D'],
    ['lower case', 'p3d'],
    ['a fraction', 'P1.5D'],
    ['a negative', '-P3D'],
    ['a number', 3],
    ['undefined', undefined],
  ])('rejects %s with an InputError naming the field', (_label, input) => {
    // Act
    const error = inputError(() => parseLookback('lookback', input));

    // Assess
    expect(error.field).toBe('lookback');
    expect(error.message.startsWith('lookback: ')).toBe(true);
    expect(error.message).toContain('P3D');
    expect(error.message).toContain('PT72H');
  });
});
