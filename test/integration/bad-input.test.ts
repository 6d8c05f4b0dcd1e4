/**
 * Bad input, through the three doors it can come in by: the CLI (`npm start`), the execution input
 * (validated by the Plan step of the local state machine) and the schedule's relative form
 * `{lookback, asOf}`. Each is refused before any request to Datadog, with a message that names the
 * field and the accepted form, and nothing is written. Ranges beyond Datadog's retention are not
 * refused: their windows are skipped, and never requested.
 */

import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { DEFAULT_LIMITS } from '../../lambdas/core/fetch-window.ts';
import { createFetchHandler, type Runtime } from '../../lambdas/core/handlers.ts';
import { addDays, addMonths, startOfDay, startOfMonth } from '../../lambdas/core/windows.ts';
import { INITIAL_PROGRESS, type WorkItem } from '../../lambdas/core/work-item.ts';
import { InputError } from '../../lambdas/shared/errors.ts';
import { silentLogger } from '../../lambdas/shared/log.ts';
import { main } from '../../local/cli.ts';
import {
  HARNESS_ACCOUNTS as ACCOUNTS,
  countIds,
  getBytes,
  type Harness,
  HARNESS_KEYS as KEYS,
  listKeys,
  readLanded,
  startHarness,
} from '../../local/harness.ts';
import type { LocalRunResult } from '../../local/runner.ts';
import { recordFigures } from '../support/faults-report.ts';

const NOW = new Date();
const TODAY = startOfDay(NOW);
const THIS_MONTH = startOfMonth(NOW);
const day = (d: Date) => d.toISOString().slice(0, 10);
const month = (d: Date) => d.toISOString().slice(0, 7);
/** A valid one-day range: a bad field beside it is the only fault. */
const RANGE = { start: day(addDays(TODAY, -3)), end: day(addDays(TODAY, -2)) };
const BASE = { account: 'main', categories: ['hourly_usage'] };
const FAMILIES_101 = Array.from({ length: 101 }, (_, i) => `family_${i}`);
const TIME_FORM = /YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh or YYYY-MM-DD Thh \(UTC\)/;
const ACCOUNT_FORM = /\(1 to 63 lower-case letters, digits, "-" or "_", starting with a letter or digit\)/;
const LOOKBACK_FORM = /expected an ISO 8601 duration in days or hours such as P3D or PT72H/;
const LONGEST_LOOKBACK =
  /expected an ISO 8601 duration in days or hours of at most P3660D \(such as P3D or PT72H\)/;
const YEARS = /years are 2000 to 2100 \(YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh or YYYY-MM-DD Thh \(UTC\)\)/;
const PAGE_SIZE_FORM = /pageSize: expected an integer from 1 to 500, got/;

/** One prefix for every run: the definition is synthesized once (it depends on the prefix). */
const PREFIX = 'bad';

let env: Harness;

beforeAll(async () => {
  env = await startHarness({ run: { prefix: PREFIX, waitOverrideMs: 0, clientOptions: { baseDelayMs: 1 } } });
});
afterAll(async () => env.close());
afterEach(() => {
  vi.restoreAllMocks();
});

/** Everything in the bucket, and the requests Datadog received, before and after `act`. */
async function observe<T>(act: () => Promise<T>) {
  const requestsBefore = env.sim.requests.length;
  const servedBefore = env.sim.served.length;
  const keysBefore = await listKeys(env.s3.client, env.s3.bucket, '');
  const value = await act();
  const keysAfter = await listKeys(env.s3.client, env.s3.bucket, '');
  const written = keysAfter.filter((k) => !keysBefore.includes(k));
  // Records in the parts written, by id (`<prefix>/<category>/account=…/…/part-NNNNN.json.gz`).
  const landed = countIds(
    (
      await Promise.all(
        written
          .filter((k) => k.endsWith('.json.gz'))
          .map(async (key) => {
            const category = key.split('/')[1] ?? '';
            const text = gunzipSync(await getBytes(env.s3.client, env.s3.bucket, key)).toString('utf8');
            return text
              .split('\n')
              .filter(Boolean)
              .map((line) => {
                const { ingest: _ingest, ...own } = JSON.parse(line) as Record<string, unknown>;
                return env.sim.recordId(category, own);
              });
          }),
      )
    ).flat(),
  );
  return {
    value,
    requests: env.sim.requests.slice(requestsBefore),
    served: new Set(env.sim.served.slice(servedBefore).map((s) => s.id)),
    landed,
    written,
    keysBefore,
    keysAfter,
  };
}

/** The error a refused execution failed with (the Plan task's own error), or how it ended instead. */
async function refusal(run: Promise<LocalRunResult>): Promise<{ error?: Error; ended?: string }> {
  return run.then(
    (result) => ({ ended: result.output.execution_status }),
    (e: unknown) => ({ error: ((e as { cause?: Error }).cause ?? e) as Error }),
  );
}

function captureOutput(): string[] {
  const lines: string[] = [];
  const push = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  vi.spyOn(console, 'log').mockImplementation(push);
  vi.spyOn(console, 'error').mockImplementation(push);
  vi.spyOn(console, 'warn').mockImplementation(push);
  return lines;
}

function recordRefusal(
  group: string,
  label: string,
  seen: Awaited<ReturnType<typeof observe>>,
  refused: boolean,
) {
  recordFigures({
    suite: 'bad-input',
    group,
    case: label,
    runs: 1,
    served: seen.served.size,
    landed: seen.landed.size,
    lost: [...seen.served].filter((id) => !seen.landed.has(id)).length,
    duplicated: [...seen.landed.values()].reduce((n, c) => n + c - 1, 0),
    requests: seen.requests.length,
    written: seen.written.length,
    outcome:
      refused && seen.requests.length === 0 && seen.written.length === 0
        ? 'refused before any request, naming the field and the accepted form'
        : `NOT refused: ${label}`,
  });
}

type CliCase = [label: string, flags: string[], message: RegExp];

const CLI_CASES: CliCase[] = [
  ['malformed date', ['--start', 'yesterday'], /start: "yesterday" is not a time in the form YYYY-MM/],
  ['month 13', ['--start', '2026-13-01'], /start: "2026-13-01" has month 13; months are 01 to 12 \(YYYY-MM/],
  [
    'day 30 of February',
    ['--start', '2026-02-30', '--end', '2026-03-02'],
    /start: "2026-02-30" has day 30; 2026-02 has days 01 to 28 \(YYYY-MM/,
  ],
  [
    'end before start',
    ['--start', '2026-09-04', '--end', '2026-09-01'],
    /end: 2026-09-01 is not after start 2026-09-04; end is exclusive/,
  ],
  [
    'unknown category',
    ['--categories', 'hourly_usage,bogus'],
    /categories\[1\]: "bogus" is not one of hourly_usage, billable_summary, .*usage_attribution, or "all"/,
  ],
  [
    'product family with a bad shape',
    ['--product-families', 'Infra-Hosts'],
    /productFamilies\[0\]: "Infra-Hosts" is not product families such as "all", "infra_hosts" or "logs" \(lower-case letters, digits, "_"\)/,
  ],
  [
    'over 100 product families',
    ['--product-families', FAMILIES_101.join(',')],
    /productFamilies: has 101 entries; at most 100/,
  ],
  [
    'account with /',
    ['--account', 'a/b'],
    /account: "a\/b" is not a valid account name \(1 to 63 lower-case/,
  ],
  ['account ..', ['--account', '..'], /account: "\.\." is not a valid account name \(1 to 63 lower-case/],
  [
    'account with control characters',
    ['--account', 'main\u001b[2J'],
    /account: "main\\u001b\[2J" is not a valid account name \(1 to 63 lower-case/,
  ],
  [
    'prefix with ..',
    ['--prefix', '../escape'],
    /prefix: "\.\.\/escape" is not a safe S3 prefix \(segments of letters, digits, "\.", "_", "-" separated by "\/"\)/,
  ],
  [
    'prefix with a control character',
    ['--prefix', 'dd/\u0007'],
    /prefix: "dd\/." is not a safe S3 prefix \(/,
  ],
  ['prefix starting with /', ['--prefix', '/etc'], /prefix: "\/etc" is not a safe S3 prefix \(/],
  [
    'lookback P0D',
    ['--lookback', 'P0D'],
    /lookback: expected an ISO 8601 duration .* such as P3D or PT72H, got "P0D"/,
  ],
  [
    'lookback with a range',
    ['--start', '2026-09-01', '--lookback', 'P3D'],
    /lookback: give either start\/end or lookback, not both/,
  ],
  ['page size 0', ['--page-size', '0'], /pageSize: expected an integer from 1 to 500, got 0/],
  [
    'lookback of 8,000 years',
    ['--lookback', 'P3000000D'],
    new RegExp(`lookback: ${LONGEST_LOOKBACK.source}, got "P3000000D"`),
  ],
  [
    'lookback past the last Date',
    ['--lookback', 'P200000000D'],
    new RegExp(`lookback: ${LONGEST_LOOKBACK.source}, got "P200000000D"`),
  ],
  [
    'range from year 0100 to 9999',
    ['--start', '0100-01', '--end', '9999-12'],
    new RegExp(`start: "0100-01" has year 0100; ${YEARS.source}`),
  ],
  [
    'year 0099 (read as 1999 by Date.UTC)',
    ['--start', '0099-12-30', '--end', '0099-12-31'],
    new RegExp(`start: "0099-12-30" has year 0099; ${YEARS.source}`),
  ],
  ['page size in hexadecimal', ['--page-size', '0x10'], new RegExp(`${PAGE_SIZE_FORM.source} "0x10"`)],
  ['page size in exponent form', ['--page-size', '1e2'], new RegExp(`${PAGE_SIZE_FORM.source} "1e2"`)],
  [
    'prefix of 300 characters',
    ['--prefix', 'p'.repeat(300)],
    /prefix: is 300 characters long; at most 128 \(keys add up to \d+ bytes after it, within S3's 1024-byte key limit\)/,
  ],
  [
    'prefix of 200 characters in short segments',
    ['--prefix', Array.from({ length: 20 }, () => 'p'.repeat(9)).join('/')],
    /prefix: is 199 characters long; at most 128 /,
  ],
  [
    'unknown flag',
    ['--datadog-site', 'evil.example'],
    /Unknown option '--datadog-site'[\s\S]*Usage: npm start/,
  ],
  [
    'Datadog URL not http(s)',
    ['--datadog-url', 'file:///etc/passwd'],
    /datadog-url: must be an http\(s\) URL/,
  ],
];

describe('Bad input: the CLI (npm start) refuses before any request and writes nothing', () => {
  it.each(CLI_CASES)('%s: %j', async (label, flags, message) => {
    // Prepare
    const lines = captureOutput();
    const where = ['--datadog-url', env.sim.url, '--s3-endpoint', env.s3.endpoint, '--bucket', env.s3.bucket];

    // Act
    const seen = await observe(() => main([...where, ...flags]));

    // Assess
    recordRefusal('bad CLI flags', label, seen, seen.value === 2 && message.test(lines.join('\n')));
    expect(seen.value).toBe(2);
    expect(lines.join('\n')).toMatch(message);
    expect(seen.requests).toEqual([]);
    expect(seen.keysAfter).toEqual(seen.keysBefore);
  });
});

type KeyCase = [label: string, variable: 'DD_API_KEY' | 'DD_APP_KEY', value: string, position: number];

const KEY_CASES: KeyCase[] = [
  ['an API key with CR/LF and a header after it', 'DD_API_KEY', `${KEYS.apiKey}\r\nX-Injected: 1`, 12],
  ['an application key with a character beyond Latin-1', 'DD_APP_KEY', `${KEYS.appKey}\u20ac`, 12],
  ['an application key with a Latin-1 letter', 'DD_APP_KEY', `caf\u00e9-${KEYS.appKey}`, 4],
];

describe('Bad keys: the CLI refuses a key no HTTP header can carry, before any request, without the key', () => {
  it.each(KEY_CASES)('%s', async (label, variable, value, position) => {
    // Prepare
    const lines = captureOutput();
    vi.stubEnv('DD_API_KEY', variable === 'DD_API_KEY' ? value : KEYS.apiKey);
    vi.stubEnv('DD_APP_KEY', variable === 'DD_APP_KEY' ? value : KEYS.appKey);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const where = ['--datadog-url', env.sim.url, '--s3-endpoint', env.s3.endpoint, '--bucket', env.s3.bucket];

    // Act
    const seen = await observe(() => main([...where, '--start', RANGE.start, '--end', RANGE.end]));

    // Assess
    const output = lines.join('\n');
    const message = new RegExp(
      `Invalid input: ${variable} has a character an HTTP header cannot carry at position ${position}; expected 1 to 256 printable ASCII characters without spaces`,
    );
    recordRefusal('bad Datadog keys', label, seen, seen.value === 2 && message.test(output));
    expect(seen.value).toBe(2);
    expect(output).toMatch(message);
    for (const secret of [value, KEYS.apiKey, KEYS.appKey, 'X-Injected'])
      expect(output).not.toContain(secret);
    expect(seen.requests).toEqual([]);
    expect(seen.keysAfter).toEqual(seen.keysBefore);
  });
});

type InputCase = [label: string, input: Record<string, unknown>, field: string, message: RegExp];

const EXECUTION_CASES: InputCase[] = [
  ['malformed date', { ...BASE, start: '2026-9-1', end: RANGE.end }, 'start', TIME_FORM],
  ['month 13', { ...BASE, start: '2026-13', end: RANGE.end }, 'start', /has month 13; months are 01 to 12/],
  [
    'a date that is a number',
    { ...BASE, start: 20260901 },
    'start',
    /expected a time in the form .* got 20260901/,
  ],
  [
    'end before start',
    { ...BASE, start: RANGE.end, end: RANGE.start },
    'end',
    /is not after start .*; end is exclusive/,
  ],
  [
    'unknown category',
    { ...BASE, ...RANGE, categories: ['hourly_usage', 'billing'] },
    'categories[1]',
    /"billing" is not one of hourly_usage, .*, or "all"/,
  ],
  [
    'categories not a list',
    { ...BASE, ...RANGE, categories: 'hourly_usage' },
    'categories',
    /expected a list of one of hourly_usage, .*, or "all"/,
  ],
  [
    'product family with a bad shape',
    { ...BASE, ...RANGE, productFamilies: ['infra hosts'] },
    'productFamilies[0]',
    /"infra hosts" is not product families such as "all", "infra_hosts" or "logs"/,
  ],
  [
    'product families not a list',
    { ...BASE, ...RANGE, productFamilies: 'infra_hosts' },
    'productFamilies',
    /expected a non-empty list of product families such as "all"/,
  ],
  [
    'over 100 product families',
    { ...BASE, ...RANGE, productFamilies: FAMILIES_101 },
    'productFamilies',
    /has 101 entries; at most 100/,
  ],
  [
    'over 100 tag breakdown keys',
    { ...BASE, ...RANGE, tagBreakdownKeys: FAMILIES_101 },
    'tagBreakdownKeys',
    /has 101 entries; at most 100/,
  ],
  [
    'unknown account',
    { ...BASE, ...RANGE, account: 'other' },
    'account',
    /"other" is not a configured account; configured: main/,
  ],
  ['account with /', { ...BASE, ...RANGE, account: 'main/../x' }, 'account', ACCOUNT_FORM],
  ['account ..', { ...BASE, ...RANGE, account: '..' }, 'account', ACCOUNT_FORM],
  ['account with a newline', { ...BASE, ...RANGE, account: 'main\n' }, 'account', ACCOUNT_FORM],
  [
    'account list with a control character',
    { ...BASE, ...RANGE, account: ['main', 'a\u0000b'] },
    'account[1]',
    ACCOUNT_FORM,
  ],
  [
    'unknown field',
    { ...BASE, ...RANGE, startDate: RANGE.start },
    'startDate',
    /is not an input field; accepted: account, categories, start, end, lookback, asOf/,
  ],
  [
    'page size 501',
    { ...BASE, ...RANGE, pageSize: 501 },
    'pageSize',
    /expected an integer from 1 to 500, got 501/,
  ],
  [
    'range from year 0100 to 9999',
    { ...BASE, start: '0100-01', end: '9999-12' },
    'start',
    new RegExp(`"0100-01" has year 0100; ${YEARS.source}`),
  ],
  [
    'year 0099 (read as 1999 by Date.UTC)',
    { ...BASE, start: '0099-12-30', end: '0099-12-31' },
    'start',
    new RegExp(`"0099-12-30" has year 0099; ${YEARS.source}`),
  ],
  ['end in year 9999', { ...BASE, start: RANGE.start, end: '9999-12' }, 'end', YEARS],
  ['page size as a string', { ...BASE, ...RANGE, pageSize: '16' }, 'pageSize', /got "16"/],
  ['page size as a hexadecimal string', { ...BASE, ...RANGE, pageSize: '0x10' }, 'pageSize', /got "0x10"/],
  [
    'over 100 account entries',
    { ...BASE, ...RANGE, account: Array.from({ length: 101 }, () => 'main') },
    'account',
    /has 101 entries; at most 100/,
  ],
  [
    'includeDescendants not a boolean',
    { ...BASE, ...RANGE, includeDescendants: 'yes' },
    'includeDescendants',
    /expected true or false, got "yes"/,
  ],
  [
    'not an object',
    ['hourly_usage'] as unknown as Record<string, unknown>,
    'input',
    /expected a JSON object/,
  ],
];

const SCHEDULE_CASES: InputCase[] = [
  ['lookback P0D', { ...BASE, lookback: 'P0D', asOf: NOW.toISOString() }, 'lookback', LOOKBACK_FORM],
  ['lookback in words', { ...BASE, lookback: '3 days' }, 'lookback', LOOKBACK_FORM],
  ['lookback in weeks', { ...BASE, lookback: 'P1W' }, 'lookback', LOOKBACK_FORM],
  ['lookback of 8,000 years', { ...BASE, lookback: 'P3000000D' }, 'lookback', LONGEST_LOOKBACK],
  [
    'lookback past the last Date',
    { ...BASE, lookback: 'P200000000D', asOf: NOW.toISOString() },
    'lookback',
    LONGEST_LOOKBACK,
  ],
  ['asOf in year 9999', { ...BASE, lookback: 'P3D', asOf: '9999-12-31T06:30:00Z' }, 'asOf', YEARS],
  [
    'asOf on day 31 of November',
    { ...BASE, lookback: 'P3D', asOf: '2026-11-31T06:30:00Z' },
    'asOf',
    /has day 31/,
  ],
  ['asOf not a time', { ...BASE, lookback: 'P3D', asOf: 'now' }, 'asOf', TIME_FORM],
  [
    'lookback with start',
    { ...BASE, lookback: 'P3D', start: RANGE.start },
    'lookback',
    /either start\/end or lookback/,
  ],
  // asOf only means something with lookback: with a range it would be silently ignored.
  ['asOf with start', { ...BASE, ...RANGE, asOf: NOW.toISOString() }, 'asOf', /lookback/],
];

describe('Bad input: the execution input is refused by the Plan step before any request', () => {
  it.each(EXECUTION_CASES)('%s', async (label, input, field, message) => {
    // Act
    const seen = await observe(() => refusal(env.run(input)));

    // Assess
    const { error, ended } = seen.value;
    recordRefusal('bad execution input', label, seen, error?.name === 'InputError');
    expect(ended).toBeUndefined();
    expect(error?.name).toBe('InputError');
    expect(error?.message.startsWith(`${field}: `)).toBe(true);
    expect(error?.message).toMatch(message);
    expect(seen.requests).toEqual([]);
    expect(seen.keysAfter).toEqual(seen.keysBefore);
  });
});

describe('Bad input: the schedule input {lookback, asOf} is refused by the Plan step before any request', () => {
  it.each(SCHEDULE_CASES)('%s', async (label, input, field, message) => {
    // Act
    const seen = await observe(() => refusal(env.run(input)));

    // Assess
    const { error, ended } = seen.value;
    recordRefusal('bad schedule input', label, seen, error?.name === 'InputError');
    expect(ended).toBeUndefined();
    expect(error?.name).toBe('InputError');
    expect(error?.message.startsWith(`${field}: `)).toBe(true);
    expect(error?.message).toMatch(message);
    expect(seen.requests).toEqual([]);
    expect(seen.keysAfter).toEqual(seen.keysBefore);
  });
});

describe('An account named twice: run once', () => {
  it('account ["main", "main"] sends the requests and writes the records of one run', async () => {
    // Prepare
    const input = { ...BASE, ...RANGE };

    // Act: the account named twice on a range nothing has written yet, then once (the reference)
    const twice = await observe(() => env.run({ ...input, account: ['main', 'main'] }));
    const once = await observe(() => env.run(input));

    // Assess
    recordFigures({
      suite: 'bad-input',
      group: 'account named twice',
      case: 'execution input',
      runs: 1,
      served: twice.served.size,
      landed: twice.landed.size,
      lost: [...twice.served].filter((id) => !twice.landed.has(id)).length,
      duplicated: [...twice.landed.values()].reduce((n, c) => n + c - 1, 0),
      requests: twice.requests.length,
      written: twice.written.length,
      outcome: `S_OK: run once (${twice.requests.length} request${twice.requests.length === 1 ? '' : 's'}, as many as for the account named once)`,
    });
    expect(twice.value.output.execution_status).toBe('S_OK');
    expect(twice.value.output.output.accounts).toEqual(['main']);
    expect(twice.value.output.output.totals.windows).toBe(once.value.output.output.totals.windows);
    expect(twice.requests.length).toBe(once.requests.length);
    expect(twice.value.output.output.totals.records).toBe(once.value.output.output.totals.records);
    expect([...twice.landed.values()].every((n) => n === 1)).toBe(true);
    expect(twice.landed.size).toBe(twice.served.size);
  });
});

describe('Ranges beyond the 15-month retention: skipped windows, not requests', () => {
  const RETENTION = /older than Datadog's 15-month retention/;

  it('an explicit range 20 months back: every window skipped, no request, no data', async () => {
    // Prepare
    const start = addMonths(THIS_MONTH, -20);
    const input = { ...BASE, start: day(start), end: day(addDays(start, 2)) };

    // Act
    const seen = await observe(() => env.run(input));

    // Assess
    const result = seen.value;
    recordFigures({
      suite: 'bad-input',
      group: 'ranges beyond the 15-month retention',
      case: 'explicit range',
      runs: 1,
      served: seen.served.size,
      landed: 0,
      lost: 0,
      duplicated: 0,
      requests: seen.requests.length,
      written: seen.written.filter((k) => !k.includes('/_runs/')).length,
      outcome: 'S_OK: windows skipped, never requested',
    });
    expect(result.output.execution_status).toBe('S_OK');
    const summary = result.output.output.categories.hourly_usage;
    expect(summary?.windows).toBe(0);
    expect(summary?.skipped).toEqual([
      expect.objectContaining({ from: `day=${day(start)}`, to: `day=${day(addDays(start, 1))}`, windows: 2 }),
    ]);
    expect(summary?.skipped[0]?.reason).toMatch(RETENTION);
    expect(seen.requests).toEqual([]);
    expect(seen.written.filter((k) => !k.includes('/_runs/'))).toEqual([]);
  });

  it('a schedule input with asOf 2 years back: every window skipped, no request, no data', async () => {
    // Prepare
    const asOf = new Date(Date.UTC(NOW.getUTCFullYear() - 2, NOW.getUTCMonth(), 15, 6, 30));
    const input = {
      categories: ['hourly_usage', 'historical_cost'],
      lookback: 'P3D',
      asOf: asOf.toISOString(),
    };

    // Act
    const seen = await observe(() => env.run(input));

    // Assess
    const result = seen.value;
    recordFigures({
      suite: 'bad-input',
      group: 'ranges beyond the 15-month retention',
      case: 'schedule input',
      runs: 1,
      served: seen.served.size,
      landed: 0,
      lost: 0,
      duplicated: 0,
      requests: seen.requests.length,
      written: seen.written.filter((k) => !k.includes('/_runs/')).length,
      outcome: 'S_OK: windows skipped, never requested',
    });
    expect(result.output.execution_status).toBe('S_OK');
    expect(result.output.output.totals.windows).toBe(0);
    expect(result.output.output.totals.skipped).toBeGreaterThanOrEqual(4 + 2);
    for (const category of ['hourly_usage', 'historical_cost'] as const) {
      const skipped = result.output.output.categories[category]?.skipped ?? [];
      expect(skipped.length).toBeGreaterThan(0);
      for (const s of skipped) expect(s.reason).toMatch(RETENTION);
    }
    expect(seen.requests).toEqual([]);
    expect(seen.written.filter((k) => !k.includes('/_runs/'))).toEqual([]);
  });

  it('a range across the retention edge: only the months Datadog still has are requested', async () => {
    // Prepare: 16, 15 and 14 months back; the first two are gone
    const input = {
      ...BASE,
      categories: ['historical_cost'],
      start: day(addMonths(THIS_MONTH, -16)),
      end: day(addMonths(THIS_MONTH, -13)),
    };
    // Act
    const seen = await observe(() => env.run(input));

    // Assess
    const result = seen.value;
    const { lines } = await readLanded(env.s3.client, env.s3.bucket, `${PREFIX}/historical_cost/`);
    const landed = countIds(lines.map((l) => String(l.record.id)));
    const kept = month(addMonths(THIS_MONTH, -14));
    recordFigures({
      suite: 'bad-input',
      group: 'ranges beyond the 15-month retention',
      case: 'across the edge',
      runs: 1,
      served: seen.served.size,
      landed: landed.size,
      lost: [...seen.served].filter((id) => !landed.has(id)).length,
      duplicated: [...landed.values()].reduce((n, c) => n + c - 1, 0),
      requests: seen.requests.filter((r) => r.query.start_month !== kept).length,
      written: 0,
      outcome: 'S_OK: the 2 expired months skipped, never requested; the third landed',
    });
    expect(result.output.execution_status).toBe('S_OK');
    const summary = result.output.output.categories.historical_cost;
    expect(summary?.windows).toBe(1);
    expect(summary?.skipped).toEqual([
      expect.objectContaining({
        from: `month=${month(addMonths(THIS_MONTH, -16))}`,
        to: `month=${month(addMonths(THIS_MONTH, -15))}`,
        windows: 2,
      }),
    ]);
    expect(summary?.skipped[0]?.reason).toMatch(RETENTION);
    expect(seen.requests.map((r) => r.query.start_month)).toEqual([kept]);
    expect(landed.size).toBe(seen.served.size);
    expect([...landed.values()].every((n) => n === 1)).toBe(true);
  });
});

type ItemCase = [label: string, change: Record<string, unknown>, field: string, message: RegExp];

const ITEM_CASES: ItemCase[] = [
  [
    'page size of a million',
    { options: { ...DEFAULT_OPTIONS, pageSize: 1e6 } },
    'options.pageSize',
    /expected an integer from 1 to 500/,
  ],
  [
    'product families as a string',
    { options: { ...DEFAULT_OPTIONS, productFamilies: 'all' } },
    'options.productFamilies',
    /expected a non-empty list of product families/,
  ],
  [
    'tag keys as an object',
    { options: { ...DEFAULT_OPTIONS, tagBreakdownKeys: { team: 1 } } },
    'options.tagBreakdownKeys',
    /expected a non-empty list of tag keys/,
  ],
  [
    'negative invocation count (would skip the cap)',
    { invocations: -5 },
    'invocations',
    /expected a count: an integer from 0/,
  ],
  ['fractional page count', { pagesWritten: 1.5 }, 'pagesWritten', /expected a count/],
  [
    'window in year 9999',
    { groupStart: '9999-01-01T00:00:00.000Z' },
    'groupStart',
    /years 2000–2100, not in the future/,
  ],
  [
    'window in the future',
    { groupStart: new Date(TODAY.getTime() + 3 * 86_400_000).toISOString() },
    'groupStart',
    /not in the future/,
  ],
  ['cursor of 5,000 characters', { cursor: 'c'.repeat(5_000) }, 'cursor', /at most 1024 characters/],
  ['unknown status', { status: 'finished' }, 'status', /expected one of pending, more, wait, done/],
  ['no execution start', { executionStart: 'yesterday' }, 'executionStart', /ISO 8601/],
  ['another category', { category: 'historical_cost' }, 'category', /this function fetches hourly_usage/],
];

describe('Bad input: a fetch function invoked directly refuses a work item the plan would not make', () => {
  it.each(ITEM_CASES)('%s', async (label, change, field, message) => {
    // Prepare: a work item as the state machine makes it, changed
    const runtime: Runtime = {
      bucket: env.s3.bucket,
      prefix: PREFIX,
      accounts: ACCOUNTS,
      enabledCategories: ['hourly_usage'],
      s3: env.s3.client,
      loadKeys: async () => KEYS,
      clientOptions: { baseUrlOverride: env.sim.url, baseDelayMs: 1 },
      limits: DEFAULT_LIMITS,
      log: silentLogger,
      now: () => new Date(),
      sleep: async () => {},
    };
    const item = {
      runId: 'direct',
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:direct',
      executionStart: new Date().toISOString(),
      attempt: 0,
      account: 'main',
      category: 'hourly_usage',
      groupStart: addDays(TODAY, -3).toISOString(),
      index: 0,
      options: { ...DEFAULT_OPTIONS },
      ...INITIAL_PROGRESS,
      ...change,
    } as unknown as WorkItem;

    // Act
    const seen = await observe(() =>
      createFetchHandler('hourly_usage', runtime)(
        { item, execution: { id: 'arn:aws:states:us-east-1:123456789012:execution:direct', budget: 50 } },
        { getRemainingTimeInMillis: () => 300_000 },
      ).then(
        () => undefined,
        (e: Error) => e,
      ),
    );

    // Assess
    recordRefusal(
      'a fetch function invoked directly with a bad work item',
      label,
      seen,
      seen.value instanceof InputError,
    );
    expect(seen.value).toBeInstanceOf(InputError);
    expect((seen.value as InputError).field).toBe(field);
    expect(seen.value?.message).toMatch(message);
    expect(seen.requests).toEqual([]);
    expect(seen.written).toEqual([]);
  });
});
