/**
 * The declared inputs (one schema each): the branches the schemas add beside what plan.test.ts,
 * windows.test.ts, config.test.ts, operations.test.ts and secrets.test.ts already check through
 * the parse functions.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { parseSettings } from '../../infra/config.ts';
import { CATEGORY_NAMES, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { parseOptions } from '../../lambdas/core/options.ts';
import { parseRunInput, type RunInputContext, RunInputSchema } from '../../lambdas/core/run-input.ts';
import { INITIAL_PROGRESS, parseWorkItem } from '../../lambdas/core/work-item.ts';
import { type AccountConfig, readLambdaConfig } from '../../lambdas/shared/config.ts';
import { ConfigError, InputError } from '../../lambdas/shared/errors.ts';
import { fieldName, firstProblem, list, parseWith } from '../../lambdas/shared/schema.ts';

const NOW = new Date('2026-11-26T05:00:00Z');
const MAIN: AccountConfig = { name: 'main', secretName: 's', site: 'datadoghq.com' };
const EU: AccountConfig = { name: 'eu', secretName: 's2', site: 'datadoghq.eu' };
const CTX: RunInputContext = { now: NOW, accounts: [MAIN, EU], enabledCategories: CATEGORY_NAMES };

/** Runs `act`, expects an error of `type`, and returns it for further checks. */
function thrown<E extends Error>(type: new (...args: never[]) => E, act: () => unknown): E {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

const inputError = (act: () => unknown) => thrown(InputError, act);

describe('Function: fieldName', () => {
  it.each<[PropertyKey[], string]>([
    [['categories', 2], 'categories[2]'],
    [['accounts', 1, 'site'], 'accounts[1].site'],
    [['options', 'pageSize'], 'options.pageSize'],
    [[], ''],
  ])('writes %j as %s', (path, name) => {
    // Act & Assess
    expect(fieldName(path)).toBe(name);
  });
});

describe('Function: firstProblem', () => {
  const schema = z.strictObject(
    {
      size: z.optional(z.int({ error: 'expected an integer' })),
      names: z.optional(
        z.union([
          list(z.string({ error: 'expected a name' }), { notAList: 'expected names', max: 2 }),
          z.string(),
        ]),
      ),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? 'is not a field' : 'expected an object') },
  );
  const problem = (raw: unknown) => {
    const result = z.safeParse(schema, raw);
    if (result.success) throw new Error('expected a problem');
    return firstProblem(result.error.issues);
  };

  it('reports an unknown field before a bad value beside it', () => {
    // Act
    const found = problem({ size: 'x', sise: 1 });

    // Assess
    expect(found).toEqual({ path: ['sise'], message: 'is not a field' });
  });

  it('reports, of a union, the branch that took the value: the list for a list', () => {
    // Act
    const entry = problem({ names: ['a', 5] });
    const long = problem({ names: ['a', 'b', 'c'] });

    // Assess
    expect(entry).toEqual({ path: ['names', 1], message: 'expected a name' });
    expect(long).toEqual({ path: ['names'], message: 'has 3 entries; at most 2' });
  });

  it('reports, of a union no branch took, the last branch', () => {
    // Act
    const found = problem({ names: 5 });

    // Assess
    expect(found.path).toEqual(['names']);
    expect(found.message).not.toBe('expected names');
  });
});

describe('Function: parseWith', () => {
  it('names the value itself by the root name the caller gives', () => {
    // Act
    const error = inputError(() =>
      parseWith(z.string({ error: 'expected text' }), 5, 'input', (f, m) => new InputError(f, m)),
    );

    // Assess
    expect(error.message).toBe('input: expected text');
  });
});

describe('Function: parseRunInput', () => {
  it('resolves an input without planning it: accounts, categories, options and range', () => {
    // Act
    const request = parseRunInput(
      { account: ['eu', 'main', 'eu'], categories: ['usage_summary'], start: '2026-11-01', pageSize: 7 },
      CTX,
    );

    // Assess
    expect(request.accounts).toEqual([EU, MAIN]);
    expect(request.categories).toEqual(['usage_summary']);
    expect(request.options).toEqual({ ...DEFAULT_OPTIONS, pageSize: 7 });
    expect(request.range).toEqual({ start: new Date('2026-11-01T00:00:00Z'), end: NOW, relative: false });
  });

  it('takes a null lookback as the default one, P3D back from asOf', () => {
    // Act
    const request = parseRunInput({ lookback: null, asOf: '2026-11-26T05' }, CTX);

    // Assess
    expect(request.range).toEqual({
      start: new Date('2026-11-23T05:00:00Z'),
      end: new Date('2026-11-26T05:00:00Z'),
      relative: true,
    });
  });

  it('lists every field of the schema as accepted, in its order', () => {
    // Act
    const error = inputError(() => parseRunInput({ startDate: '2026-11-01' }, CTX));

    // Assess
    expect(error.message).toBe(
      `startDate: is not an input field; accepted: ${Object.keys(RunInputSchema.def.shape).join(', ')}`,
    );
    expect(Object.keys(RunInputSchema.def.shape)).toEqual([
      'account',
      'categories',
      'start',
      'end',
      'lookback',
      'asOf',
      ...Object.keys(DEFAULT_OPTIONS),
      'sortDirection',
      'sortName',
    ]);
  });

  it('refuses an end that is not after now when end is left out', () => {
    // Act
    const error = inputError(() => parseRunInput({ start: '2026-12' }, CTX));

    // Assess
    expect(error.message).toBe('end: now is not after start 2026-12; end is exclusive');
  });
});

describe('Function: parseOptions', () => {
  it('fills in the defaults and ignores fields that are not options', () => {
    // Act
    const options = parseOptions({ start: '2026-11-01', fields: 'a,b' });

    // Assess
    expect(options).toEqual({ ...DEFAULT_OPTIONS, fields: 'a,b' });
  });
});

describe('Function: parseWorkItem', () => {
  const item = {
    runId: 'r',
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:sm:r',
    executionStart: '2026-11-26T04:00:00.000Z',
    attempt: 0,
    account: 'main',
    category: 'hourly_usage',
    groupStart: '2026-11-20T00:00:00.000Z',
    index: 0,
    options: { ...DEFAULT_OPTIONS },
    ...INITIAL_PROGRESS,
  };
  const parse = (raw: unknown) =>
    parseWorkItem(raw, { category: 'hourly_usage', accounts: [MAIN], now: NOW });

  it('drops fields it does not know, at the top and in the options', () => {
    // Act
    const parsed = parse({ ...item, baseUrl: 'http://x', options: { ...DEFAULT_OPTIONS, site: 'evil' } });

    // Assess
    expect(parsed).toEqual(item);
  });

  it('takes the options the plan makes, an empty tag list among them', () => {
    // Act
    const parsed = parse({ ...item, options: { ...DEFAULT_OPTIONS, tagBreakdownKeys: [] } });

    // Assess
    expect(parsed.options.tagBreakdownKeys).toEqual([]);
  });

  it('gives an item without options (or with null) the defaults', () => {
    // Act
    const { options: _options, ...without } = item;
    const absent = parse(without);
    const isNull = parse({ ...item, options: null });

    // Assess
    expect(absent.options).toEqual(DEFAULT_OPTIONS);
    expect(isNull.options).toEqual(DEFAULT_OPTIONS);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['no run id', { runId: undefined }, 'runId', /expected the run id/],
    ['a numeric execution id', { executionId: 7 }, 'executionId', /expected the execution id/],
    ['a window start that is not a time', { windowStart: 'x' }, 'windowStart', /ISO 8601/],
    ['a negative wait', { waitSeconds: -1 }, 'waitSeconds', /a number from 0/],
    ['final as a string', { final: 'no' }, 'final', /true or false/],
    ['an unknown outcome', { outcome: 'lost' }, 'outcome', /committed, superseded/],
    ['options that are not an object', { options: 'fast' }, 'options', /expected an object of options/],
    [
      'a garbage category',
      { category: 'bogus' },
      'category',
      /this function fetches hourly_usage, not "bogus"/,
    ],
  ])('refuses %s, naming the field', (_label, change, field, message) => {
    // Act
    const error = inputError(() => parse({ ...item, ...change }));

    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('refuses what is not an object', () => {
    // Act
    const error = inputError(() => parse([item]));

    // Assess
    expect(error.message).toBe('item: expected a work item object');
  });
});

describe('Function: parseSettings, beyond the bounds', () => {
  it('takes null as the default where a missing setting was defaulted with ?? before', () => {
    // Act
    const settings = parseSettings({
      stackName: null,
      prefix: null,
      schedule: { lookback: null, mode: null },
    });

    // Assess
    expect(settings.stackName).toBe('DatadogUsageLake');
    expect(settings.prefix).toBe('datadog');
    expect(settings.schedule.lookback).toBe('P3D');
    expect(settings.schedule.mode).toBe('all');
  });

  it('schedules the enabled categories when the schedule names none', () => {
    // Act
    const settings = parseSettings({ categories: ['historical_cost', 'hourly_usage', 'historical_cost'] });

    // Assess
    expect(settings.categories).toEqual(['historical_cost', 'hourly_usage']);
    expect(settings.schedule.categories).toEqual(['historical_cost', 'hourly_usage']);
  });

  it.each<[string, unknown, string]>([
    ['a list', [], 'cdk.json context datadog-usage-lake. must be an object'],
    [
      'a schedule that is a list',
      { schedule: [] },
      'cdk.json context datadog-usage-lake.schedule must be an object',
    ],
    [
      'an account that is not an object',
      { accounts: [null] },
      'cdk.json context datadog-usage-lake.accounts[0] must be an object {name, secretName, site}',
    ],
  ])('refuses %s with a ConfigError naming the setting', (_label, raw, message) => {
    // Act
    const error = thrown(ConfigError, () => parseSettings(raw));

    // Assess
    expect(error.message).toBe(message);
  });
});

describe('Function: readLambdaConfig, each variable', () => {
  const ENV = { DATA_BUCKET: 'lake', DD_ACCOUNTS: JSON.stringify([MAIN]) };

  it('defaults the prefix and the categories', () => {
    // Act
    const config = readLambdaConfig(ENV);

    // Assess
    expect(config).toEqual({
      bucket: 'lake',
      prefix: '',
      accounts: [MAIN],
      enabledCategories: [...CATEGORY_NAMES],
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ['no bucket', { DATA_BUCKET: '' }, 'DATA_BUCKET is not set'],
    ['accounts that are not JSON', { DD_ACCOUNTS: '[{' }, 'DD_ACCOUNTS is not valid JSON'],
    [
      'an account that is null',
      { DD_ACCOUNTS: '[null]' },
      'DD_ACCOUNTS[0] must be an object {name, secretName, site}',
    ],
    [
      'an account named twice',
      { DD_ACCOUNTS: JSON.stringify([MAIN, MAIN]) },
      'DD_ACCOUNTS[1].name "main" is configured twice',
    ],
    [
      'an unknown category',
      { ENABLED_CATEGORIES: 'hourly_usage,costs' },
      'ENABLED_CATEGORIES names an unknown category "costs"',
    ],
    ['an unsafe prefix', { DATA_PREFIX: '../up' }, 'DATA_PREFIX is not a safe S3 prefix'],
  ])('refuses %s with a ConfigError naming the variable', (_label, change, message) => {
    // Act
    const error = thrown(ConfigError, () => readLambdaConfig({ ...ENV, ...change }));

    // Assess
    expect(error.message).toBe(message);
  });
});
