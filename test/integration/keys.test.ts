/**
 * Datadog keys go to Datadog and nowhere else. A whole local run with recognisable keys is captured
 * (every log line, console line, progress event, error, the output, the runner's stats, every object
 * and its metadata in S3) and searched for them; the only place they may appear is the request
 * headers the simulator received. A work item cannot point a deployed-style handler elsewhere, and
 * the Plan step refuses the fields that would try. `npm run doctor` prints them nowhere either, and
 * sends them only to `https://api.<site>` (or the explicit --datadog-url).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect, promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CategoryName, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { DEFAULT_LIMITS } from '../../lambdas/core/fetch-window.ts';
import { createFetchHandler, type Runtime } from '../../lambdas/core/handlers.ts';
import { addDays, startOfDay } from '../../lambdas/core/windows.ts';
import { INITIAL_PROGRESS, type WorkItem } from '../../lambdas/core/work-item.ts';
import { createLogger, silentLogger } from '../../lambdas/shared/log.ts';
import {
  HARNESS_ACCOUNTS as ACCOUNTS,
  countIds,
  getBytes,
  type Harness,
  listKeys,
  HARNESS_PREFIX as PREFIX,
  startHarness,
} from '../../local/harness.ts';
import type { LocalRunOptions, Progress } from '../../local/runner.ts';
import { type SimulatorOptions, startSimulator } from '../../local/simulator/index.ts';
import { main as doctor } from '../../ops/doctor.ts';
import { recordFigures } from '../support/faults-report.ts';
import { RecordingAgent } from '../support/recording-agent.ts';

const API_KEY = 'DDAPIKEY-canary-7f3a';
const APP_KEY = 'DDAPPKEY-canary-91bc';
const CANARY = { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.com' as const };
/** The keys, and pieces of them a truncated or re-encoded copy would still contain. */
const NEEDLES = [API_KEY, APP_KEY, 'DDAPIKEY', 'DDAPPKEY', 'canary'];
/** A 400 whose body repeats the request's key headers, as a misconfigured proxy or server might. */
const ECHO_BODY = JSON.stringify({
  errors: [
    `Bad request. Headers received: DD-API-KEY: ${API_KEY}, DD-APPLICATION-KEY: ${APP_KEY}`,
    { status: '400', detail: `dd-api-key=${API_KEY}; dd-application-key=${APP_KEY}` },
  ],
});
const TODAY = startOfDay(new Date());
const day = (offset: number) => addDays(TODAY, offset).toISOString().slice(0, 10);
const RANGE = { start: day(-3), end: day(-1) };
const SIM: SimulatorOptions = {
  orgs: 2,
  productFamilies: ['infra_hosts', 'rum'],
  attributionPageSize: 3,
};
/** Every run of this file sends the canary keys. */
const RUN: Partial<LocalRunOptions> = { keys: CANARY, waitOverrideMs: 0 };
/** A simulator that accepts the canary keys, and runs that send them. */
const startCanary = (sim: SimulatorOptions = {}) =>
  startHarness({ sim: { ...SIM, apiKey: API_KEY, appKey: APP_KEY, ...sim }, run: RUN });

interface Captured {
  where: string;
  text: string;
}

/** Every place a key could have gone, as text. */
class Haystack {
  readonly pieces: Captured[] = [];
  add(where: string, value: unknown): void {
    const text =
      typeof value === 'string'
        ? value
        : `${JSON.stringify(value) ?? ''}\n${inspect(value, { depth: null, showHidden: true })}`;
    this.pieces.push({ where, text });
  }
  /** Where any needle was found: empty when nothing leaked. */
  leaks(): string[] {
    return this.pieces
      .filter((p) => NEEDLES.some((n) => p.text.includes(n)))
      .map((p) => `${p.where}: ${p.text.slice(0, 200)}`);
  }
}

/** Logs (the runtime's logger and the console) and progress events, captured for one test. */
function capture() {
  const logs: string[] = [];
  const progress: Progress[] = [];
  const consoleLines: string[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: null }))).join(' '));
    });
  }
  const log = createLogger({}, (line) => logs.push(line));
  return { logs, progress, consoleLines, log, onProgress: (p: Progress) => progress.push(p) };
}

/** Every object in the bucket through the S3 API: key, metadata and (gunzipped) content. */
async function addBucket(haystack: Haystack, env: Harness): Promise<number> {
  const keys = await listKeys(env.s3.client, env.s3.bucket, '');
  for (const key of keys) {
    const body = await getBytes(env.s3.client, env.s3.bucket, key);
    const head = await env.s3.client.send(new HeadObjectCommand({ Bucket: env.s3.bucket, Key: key }));
    haystack.add(`s3 key ${key}`, key);
    haystack.add(`s3 metadata of ${key}`, { metadata: head.Metadata, type: head.ContentType });
    haystack.add(
      `s3 object ${key}`,
      key.endsWith('.gz') ? gunzipSync(body).toString('utf8') : body.toString(),
    );
  }
  return keys.length;
}

/** The state machine's event for a fetch function: the item, and the execution looping over it. */
const asEvent = (item: WorkItem) => ({
  item,
  execution: { id: 'arn:aws:states:us-east-1:123456789012:execution:keys-test', budget: 50 },
});

function workItem(category: CategoryName, groupStart: string, extra: Record<string, unknown> = {}): WorkItem {
  return {
    runId: 'keys-test',
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:DatadogUsageLake:keys-test',
    executionStart: new Date().toISOString(),
    attempt: 0,
    account: 'main',
    category,
    groupStart,
    index: 0,
    options: { ...DEFAULT_OPTIONS },
    ...INITIAL_PROGRESS,
    ...extra,
  } as WorkItem;
}

const CONTEXT = { getRemainingTimeInMillis: () => 300_000 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Keys: a whole run with recognisable keys leaks them nowhere', () => {
  let env: Harness;
  beforeAll(async () => {
    env = await startCanary();
  });
  afterAll(async () => env.close());

  it('keys appear only in the request headers Datadog received', async () => {
    // Prepare: a few faults, so retries, waits and warnings are logged too
    const categories: CategoryName[] = ['hourly_usage', 'billable_summary', 'usage_attribution'];
    env.sim.faults.push({ kind: 'status', status: 503 }, { pathIncludes: 'hourly_usage' });
    env.sim.faults.push({ kind: 'reset' }, { pathIncludes: 'monthly-attribution' });
    env.sim.faults.push({ kind: 'truncate' }, { pathIncludes: 'next_record_id' });
    env.sim.faults.push(
      { kind: 'status', status: 429, headers: { 'x-ratelimit-reset': '1' } },
      { pathIncludes: 'billable-summary' },
    );
    const captured = capture();
    const errors: unknown[] = [];

    // Act
    const result = await env
      .run(
        { account: 'main', categories, ...RANGE, pageSize: 20 },
        {
          clientOptions: { baseDelayMs: 1, maxInlineWaits: 0 },
          log: captured.log,
          onProgress: captured.onProgress,
        },
      )
      .catch((error: unknown) => {
        errors.push(error);
        throw error;
      });

    // Assess: the run
    expect(result.output.execution_status).toBe('S_OK');
    expect(result.stats.waitStates).toBeGreaterThanOrEqual(1);
    expect(captured.logs.some((l) => l.includes('"level":"WARN"'))).toBe(true);

    // Assess: the keys went to Datadog, on every request
    expect(env.sim.requests.length).toBeGreaterThan(5);
    for (const r of env.sim.requests) {
      expect(r.headers['dd-api-key']).toBe(API_KEY);
      expect(r.headers['dd-application-key']).toBe(APP_KEY);
    }

    // Assess: and nowhere else
    const haystack = new Haystack();
    captured.logs.forEach((line, i) => {
      haystack.add(`log line ${i}`, line);
    });
    captured.consoleLines.forEach((line, i) => {
      haystack.add(`console line ${i}`, line);
    });
    haystack.add('progress events', captured.progress);
    haystack.add('errors', errors);
    haystack.add('output', result.output);
    haystack.add('stats', result.stats);
    const objects = await addBucket(haystack, env);
    expect(objects).toBeGreaterThan(5);
    expect(captured.logs.length).toBeGreaterThan(5);

    // Assess: what landed is what was served, once (the figures for the README)
    let served = 0;
    let landed = 0;
    let lost = 0;
    let duplicated = 0;
    for (const category of categories) {
      const ids = new Set(env.sim.served.filter((s) => s.category === category).map((s) => s.id));
      const counts = countIds(
        haystack.pieces
          .filter((p) => p.where.startsWith(`s3 object ${PREFIX}/${category}/`) && p.where.endsWith('.gz'))
          .flatMap((p) => p.text.split('\n').filter(Boolean))
          .map((line) => {
            const { ingest: _ingest, ...own } = JSON.parse(line) as Record<string, unknown>;
            return env.sim.recordId(category, own);
          }),
      );
      served += ids.size;
      landed += counts.size;
      lost += [...ids].filter((id) => !counts.has(id)).length;
      duplicated += [...counts.values()].reduce((n, c) => n + c - 1, 0);
    }
    const leaks = haystack.leaks();
    recordFigures({
      suite: 'keys',
      group: 'recognisable keys, whole run with faults (3 categories)',
      runs: 1,
      served,
      landed,
      lost,
      duplicated,
      outcome: `S_OK; keys found in ${leaks.length} of ${captured.logs.length} log lines, ${objects} objects, output, stats; sent on all ${env.sim.requests.length} requests`,
    });
    expect(leaks).toEqual([]);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
  });
});

describe('Keys: a failing run leaks them nowhere', () => {
  let env: Harness;
  beforeAll(async () => {
    // The simulator expects other keys: the canary keys get 403.
    env = await startHarness({ sim: SIM, run: RUN });
  });
  afterAll(async () => env.close());

  it('a 403 run: failures, messages, logs and S3 hold no key', async () => {
    // Prepare
    const captured = capture();

    // Act
    const result = await env.run(
      { account: 'main', categories: ['hourly_usage', 'historical_cost'], ...RANGE },
      { clientOptions: { baseDelayMs: 1 }, log: captured.log, onProgress: captured.onProgress },
    );

    // Assess
    expect(result.output.execution_status).toBe('E_FAIL');
    const failures = Object.values(result.output.output.categories).flatMap((c) => c?.failures ?? []);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect(f.error).toBe('DatadogAuthError');
    expect(env.sim.requests.every((r) => r.headers['dd-api-key'] === API_KEY)).toBe(true);
    const haystack = new Haystack();
    captured.logs.forEach((line, i) => {
      haystack.add(`log line ${i}`, line);
    });
    captured.consoleLines.forEach((line, i) => {
      haystack.add(`console line ${i}`, line);
    });
    haystack.add('output', result.output);
    haystack.add('stats', result.stats);
    await addBucket(haystack, env);
    expect(haystack.leaks()).toEqual([]);
  });

  it('a 400 echoing the keys: failures, messages, logs and S3 hold no key', async () => {
    // Prepare: a simulator that accepts the canary keys, then answers 400 repeating them
    const sim = await startCanary();
    sim.sim.faults.push({ kind: 'status', status: 400, body: ECHO_BODY }, { times: 1 });
    const captured = capture();

    // Act
    const result = await sim.run(
      { account: 'main', categories: ['historical_cost'], ...RANGE },
      { clientOptions: { baseDelayMs: 1 }, log: captured.log, onProgress: captured.onProgress },
    );

    // Assess
    const failures = Object.values(result.output.output.categories).flatMap((c) => c?.failures ?? []);
    const haystack = new Haystack();
    captured.logs.forEach((line, i) => {
      haystack.add(`log line ${i}`, line);
    });
    haystack.add('output', result.output);
    haystack.add('stats', result.stats);
    const objects = await addBucket(haystack, sim);
    const leaks = haystack.leaks();
    await sim.close();
    recordFigures({
      suite: 'keys',
      group: 'a 400 whose body echoes the keys',
      runs: 1,
      served: 0,
      landed: 0,
      lost: 0,
      duplicated: 0,
      outcome: `E_FAIL (DatadogRequestError, keys redacted); keys found in ${leaks.length} of ${captured.logs.length} log lines, ${objects} objects, output, stats`,
    });
    expect(result.output.execution_status).toBe('E_FAIL');
    expect(failures.map((f) => f.error)).toEqual(['DatadogRequestError']);
    expect(failures[0]?.message).toContain('DD-API-KEY: [redacted], DD-APPLICATION-KEY: [redacted]');
    expect(leaks).toEqual([]);
  });

  it.each([
    [
      'an API key with CR/LF and a header after it',
      { apiKey: `${API_KEY}\r\nX-Injected: 1`, appKey: APP_KEY },
    ],
    ['an application key with a character beyond Latin-1', { apiKey: API_KEY, appKey: `${APP_KEY}\u20ac` }],
  ])('%s: the window fails at once with SecretError, no request, no retry, no key', async (_label, keys) => {
    // Prepare
    const sim = await startCanary();
    const captured = capture();

    // Act
    const result = await sim.run(
      { account: 'main', categories: ['historical_cost'], ...RANGE },
      { keys: { ...keys, site: 'datadoghq.com' }, clientOptions: { baseDelayMs: 1 }, log: captured.log },
    );
    const requests = sim.sim.requests.length;
    const haystack = new Haystack();
    haystack.add('output', result.output);
    captured.logs.forEach((line, i) => {
      haystack.add(`log line ${i}`, line);
    });
    await sim.close();

    // Assess
    const failures = Object.values(result.output.output.categories).flatMap((c) => c?.failures ?? []);
    expect(result.output.execution_status).toBe('E_FAIL');
    expect(failures.map((f) => f.error)).toEqual(['SecretError']);
    expect(failures[0]?.message).toMatch(
      /^the Datadog (apiKey|appKey) has a character an HTTP header cannot carry at position \d+; expected 1 to 256 printable ASCII characters without spaces/,
    );
    expect(requests).toBe(0);
    expect(result.stats.invocations['Fetch historical_cost']).toBe(1);
    expect(haystack.leaks()).toEqual([]);
  });

  it.each([
    ['DatadogAuthError', 'a 403', () => {}],
    [
      'DatadogUnavailableError',
      'connection resets through every retry',
      (e: Harness) => e.sim.faults.push({ kind: 'reset' }, { times: 4 }),
    ],
    [
      'DatadogUnavailableError',
      '503s through every retry',
      (e: Harness) => e.sim.faults.push({ kind: 'status', status: 503 }, { times: 4 }),
    ],
    [
      'DatadogRequestError',
      'a 400 quoting Datadog',
      (e: Harness) =>
        e.sim.faults.push(
          { kind: 'status', status: 400, body: '{"errors":["Invalid parameter page[limit]"]}' },
          { times: 1 },
        ),
    ],
    [
      'DatadogRequestError',
      'a 400 echoing the request headers',
      (e: Harness) => e.sim.faults.push({ kind: 'status', status: 400, body: ECHO_BODY }, { times: 1 }),
    ],
    [
      'DatadogRequestError',
      'a 400 echoing the API key upper-cased, plain text',
      (e: Harness) =>
        e.sim.faults.push(
          { kind: 'status', status: 400, body: `bad key ${API_KEY.toUpperCase()} for ${APP_KEY}` },
          { times: 1 },
        ),
    ],
    [
      'DatadogRequestError',
      'a 400 whose key straddles the 300-character cut of the detail',
      (e: Harness) =>
        e.sim.faults.push(
          { kind: 'status', status: 400, body: JSON.stringify({ errors: [`${'x'.repeat(290)}${API_KEY}`] }) },
          { times: 1 },
        ),
    ],
  ] as const)('a thrown %s (%s), inspected to any depth, holds no key', async (name, _what, inject) => {
    // Prepare: a handler pointed at a simulator that refuses the keys (403) or, for the other cases,
    // accepts them and misbehaves
    const sim = name === 'DatadogAuthError' ? env : await startCanary();
    inject(sim);
    const logs: string[] = [];
    const runtime: Runtime = {
      bucket: sim.s3.bucket,
      prefix: PREFIX,
      accounts: ACCOUNTS,
      enabledCategories: ['hourly_usage'],
      s3: sim.s3.client,
      loadKeys: async () => CANARY,
      clientOptions: { baseUrlOverride: sim.sim.url, baseDelayMs: 1 },
      limits: { ...DEFAULT_LIMITS, fallbackPageDelayMs: 0 },
      log: createLogger({}, (line) => logs.push(line)),
      now: () => new Date(),
      sleep: async () => {},
    };
    const handler = createFetchHandler('hourly_usage', runtime);

    // Act
    const error = await handler(
      asEvent(workItem('hourly_usage', addDays(TODAY, -2).toISOString())),
      CONTEXT,
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (sim !== env) await sim.close();

    // Assess
    expect(error?.name).toBe(name);
    const haystack = new Haystack();
    haystack.add('error', error);
    haystack.add('error.stack', error?.stack ?? '');
    haystack.add('error.cause', (error as { cause?: unknown } | undefined)?.cause);
    haystack.add('String(error)', String(error));
    logs.forEach((line, i) => {
      haystack.add(`log line ${i}`, line);
    });
    expect(haystack.leaks()).toEqual([]);
  });
});

describe('Keys: a rate-limit name that repeats them is not kept', () => {
  it('a 429 whose X-RateLimit-Name repeats the keys: the wait the handler hands back holds no key', async () => {
    // Prepare
    const sim = await startCanary();
    sim.sim.faults.push(
      {
        kind: 'status',
        status: 429,
        headers: {
          'x-ratelimit-limit': '10',
          'x-ratelimit-period': '60',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': '60',
          'x-ratelimit-name': `${API_KEY}/${APP_KEY}`,
        },
      },
      { times: 1 },
    );
    const logs: string[] = [];
    const handler = createFetchHandler('hourly_usage', {
      bucket: sim.s3.bucket,
      prefix: PREFIX,
      accounts: ACCOUNTS,
      enabledCategories: ['hourly_usage'],
      s3: sim.s3.client,
      loadKeys: async () => CANARY,
      clientOptions: { baseUrlOverride: sim.sim.url, baseDelayMs: 1 },
      limits: { ...DEFAULT_LIMITS, fallbackPageDelayMs: 0 },
      log: createLogger({}, (line) => logs.push(line)),
      now: () => new Date(),
      sleep: async () => {},
    });

    // Act
    const item = await handler(asEvent(workItem('hourly_usage', addDays(TODAY, -2).toISOString())), CONTEXT);
    await sim.close();

    // Assess
    expect(item.status).toBe('wait');
    expect(item.rateLimit).toEqual(expect.objectContaining({ name: '[redacted]/[redacted]', reset: 60 }));
    const haystack = new Haystack();
    haystack.add('work item', item);
    logs.forEach((line, i) => {
      haystack.add(`log line ${i}`, line);
    });
    expect(haystack.leaks()).toEqual([]);
  });
});

describe('Keys: only ever sent to https://api.<site>', () => {
  let env: Harness;
  beforeAll(async () => {
    env = await startCanary();
  });
  afterAll(async () => env.close());

  it('a work item with baseUrl, datadogUrl, site or host fields cannot move a deployed handler', async () => {
    // Prepare: a runtime as deployed (no base URL override), its HTTP going through a mock agent that
    // records the origin of every request and answers only https://api.datadoghq.com
    const agent = new RecordingAgent();
    const { seen } = agent;
    agent
      .get('https://api.datadoghq.com')
      .intercept({ path: () => true, method: 'GET' })
      .reply(
        200,
        { data: [{ id: 'mock-record-1', type: 'usage_timeseries', attributes: { product_family: 'rum' } }] },
        {
          headers: {
            'content-type': 'application/json',
            'x-ratelimit-limit': '100',
            'x-ratelimit-period': '60',
            'x-ratelimit-remaining': '99',
            'x-ratelimit-reset': '30',
          },
        },
      )
      .persist();
    const runtime: Runtime = {
      bucket: env.s3.bucket,
      prefix: PREFIX,
      accounts: ACCOUNTS,
      enabledCategories: ['hourly_usage'],
      s3: env.s3.client,
      loadKeys: async () => CANARY,
      clientOptions: { dispatcher: agent, baseDelayMs: 1 },
      limits: DEFAULT_LIMITS,
      log: silentLogger,
      now: () => new Date(),
      sleep: async () => {},
    };
    const elsewhere = env.sim.url;
    const item = workItem('hourly_usage', addDays(TODAY, -2).toISOString(), {
      baseUrl: elsewhere,
      baseUrlOverride: elsewhere,
      datadogUrl: elsewhere,
      site: '127.0.0.1',
      host: `127.0.0.1:${env.sim.port}`,
      origin: elsewhere,
      options: { ...DEFAULT_OPTIONS, baseUrl: elsewhere, site: 'evil.example' },
    });

    // Act
    const result = await createFetchHandler('hourly_usage', runtime)(asEvent(item), CONTEXT);
    await agent.close();

    // Assess
    expect(result.status).toBe('done');
    expect(result.records).toBe(1);
    expect(seen.length).toBeGreaterThan(0);
    expect([...new Set(seen.map((s) => s.origin))]).toEqual(['https://api.datadoghq.com']);
    expect(seen.every((s) => s.apiKey === API_KEY)).toBe(true);
    expect(env.sim.requests).toEqual([]);
  });

  it.each(['baseUrl', 'baseUrlOverride', 'datadogUrl', 'site', 'host', 'origin'])(
    'the Plan step refuses a %s field in the execution input, before any request',
    async (field) => {
      // Prepare
      const before = env.sim.requests.length;
      const keysBefore = await listKeys(env.s3.client, env.s3.bucket, '');
      const input = {
        account: 'main',
        categories: ['hourly_usage'],
        ...RANGE,
        [field]: 'http://127.0.0.1:1',
      };

      // Act
      const error = await env.run(input).then(
        () => undefined,
        (e: unknown) => ((e as { cause?: Error }).cause ?? e) as Error,
      );

      // Assess
      expect(error?.name).toBe('InputError');
      expect(error?.message).toMatch(new RegExp(`^${field}: is not an input field; accepted: account, `));
      expect(env.sim.requests.length).toBe(before);
      expect(await listKeys(env.s3.client, env.s3.bucket, '')).toEqual(keysBefore);
    },
  );
});

describe('Keys: npm run doctor prints them nowhere and sends them only to Datadog', () => {
  let env: Harness;
  let dataDir: string;
  const KEY_ENV = { DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY };
  beforeAll(async () => {
    env = await startCanary({ scopes: ['usage_read'] });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'doctor-keys-'));
  });
  afterAll(async () => {
    await env.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('its report, notes and --json, in-process and spawned, passing and failing checks, hold no key', async () => {
    // Prepare: one simulator that accepts the keys (cost categories fail: no billing_read), one that
    // refuses them (the API key check fails)
    const refusing = await startSimulator(SIM);
    const captured = capture();
    const { DD_API_KEY: _a, DD_APP_KEY: _b, DD_SITE: _c, ...processEnv } = process.env;
    const spawn = (url: string, json: boolean) =>
      promisify(execFile)(
        process.execPath,
        [
          ...['--openssl-legacy-provider', '--import', 'tsx', 'ops/doctor.ts', '--datadog-url', url],
          ...['--categories', 'all', '--data-dir', dataDir, ...(json ? ['--json'] : [])],
        ],
        { cwd: path.resolve(import.meta.dirname, '..', '..'), env: { ...processEnv, ...KEY_ENV } },
      ).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );

    // Act
    const codes: number[] = [];
    for (const url of [env.sim.url, refusing.url]) {
      for (const json of [false, true]) {
        codes.push(
          await doctor(
            ['--datadog-url', url, '--categories', 'all', '--data-dir', dataDir, ...(json ? ['--json'] : [])],
            {
              env: KEY_ENV,
            },
          ),
        );
      }
    }
    const spawned = await Promise.all([spawn(env.sim.url, false), spawn(refusing.url, true)]);
    await refusing.close();

    // Assess: the checks failed for the reasons set up, so failure lines are in the haystack
    expect(codes).toEqual([1, 1, 1, 1]);
    expect(spawned.map((r) => r.code)).toEqual([1, 1]);
    const text = captured.consoleLines.join('\n');
    expect(text).toContain('the application key lacks billing_read');
    expect(text).toContain('API key: not valid for datadoghq.com');
    expect(spawned[0]?.stdout).toContain('the application key lacks billing_read');
    expect(
      JSON.parse(spawned[1]?.stdout ?? '{}').checks.find((c: { name: string }) => c.name === 'main/api_key')
        ?.ok,
    ).toBe(false);
    // Assess: the keys went to the simulators, and appear nowhere in what the doctor printed
    expect(env.sim.requests.length).toBeGreaterThan(8);
    expect(env.sim.requests.every((r) => r.headers['dd-api-key'] === API_KEY)).toBe(true);
    const haystack = new Haystack();
    captured.consoleLines.forEach((line, i) => {
      haystack.add(`doctor console line ${i}`, line);
    });
    spawned.forEach((r, i) => {
      haystack.add(`spawned doctor ${i} stdout`, r.stdout);
      haystack.add(`spawned doctor ${i} stderr`, r.stderr);
    });
    expect(haystack.leaks()).toEqual([]);
  });

  it('without --datadog-url, sends the keys to https://api.<DD_SITE> and nowhere else', async () => {
    // Prepare: every Datadog request through a mock agent that records its origin
    const agent = new RecordingAgent();
    const { seen } = agent;
    const api = agent.get('https://api.datadoghq.eu');
    api.intercept({ path: '/api/v1/validate', method: 'GET' }).reply(200, { valid: true }).persist();
    api
      .intercept({ path: () => true, method: 'GET' })
      .reply(200, { data: [], usage: [] }, { headers: { 'content-type': 'application/json' } })
      .persist();
    const out: string[] = [];

    // Act
    const code = await doctor(['--categories', 'all', '--data-dir', dataDir, '--json'], {
      env: { ...KEY_ENV, DD_SITE: 'datadoghq.eu' },
      dispatcher: agent,
      out: (line) => out.push(line),
      err: (line) => out.push(line),
    });
    await agent.close();

    // Assess
    expect(code).toBe(0);
    expect(seen.length).toBeGreaterThan(8);
    expect([...new Set(seen.map((s) => s.origin))]).toEqual(['https://api.datadoghq.eu']);
    expect(seen.every((s) => s.apiKey === API_KEY)).toBe(true);
    const haystack = new Haystack();
    haystack.add('doctor output', out.join('\n'));
    expect(haystack.leaks()).toEqual([]);
  });
});
