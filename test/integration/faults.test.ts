/**
 * Fault injection through real loopback servers: the simulated Datadog API (its fault queue) and a
 * faulty proxy in front of the embedded S3 server. Each test runs the synthesized state machine
 * locally and then proves, from what S3 holds, that every record landed exactly once and that every
 * manifest matches its objects (parts, record counts, bytes, sha256). Figures go to
 * .tmp/faults-report.json (`node --import tsx test/support/faults-report.ts` prints the table).
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CATEGORIES } from '../../lambdas/categories.ts';
import { fetchOfKey, parsePartitionKey } from '../../lambdas/core/layout.ts';
import type { PartInfo } from '../../lambdas/core/page-writer.ts';
import { parseOptions } from '../../lambdas/core/plan.ts';
import type { CategorySummary } from '../../lambdas/core/summarize.ts';
import { addDays, startOfDay, windowsFor } from '../../lambdas/core/windows.ts';
import { MAX_RATE_LIMIT_SECONDS, MAX_RESPONSE_BYTES } from '../../lambdas/shared/datadog-client.ts';
import { createLogger } from '../../lambdas/shared/log.ts';
import {
  countIds,
  getBytes,
  type Harness,
  HARNESS_PREFIX as PREFIX,
  readLanded,
  startHarness,
} from '../../local/harness.ts';
import type { LocalRunOptions, LocalRunResult } from '../../local/runner.ts';
import { localS3Client } from '../../local/s3-server.ts';
import { type DatadogSimulator, type SimulatorOptions, startSimulator } from '../../local/simulator/index.ts';
import { recordFigures } from '../support/faults-report.ts';
import { type FaultyS3Proxy, startFaultyS3Proxy } from '../support/faulty-s3-proxy.ts';
import { MIB, startHostile, streamOf } from '../support/hostile-server.ts';

const CATEGORY = 'hourly_usage';
const ROOT = `${PREFIX}/${CATEGORY}/account=main/`;

// Two whole past days, relative to the real clock (the planner's and the simulator's).
const TODAY = startOfDay(new Date());
const day = (offset: number) => addDays(TODAY, offset).toISOString().slice(0, 10);
const D1 = day(-6);
const D2 = day(-5);
const INPUT = { account: 'main', categories: [CATEGORY], start: D1, end: day(-4), pageSize: 25 };
/** About 120 records a day: 5 pages of 25 per window. */
const SIM: SimulatorOptions = { orgs: 2, productFamilies: ['infra_hosts', 'rum', 'timeseries'] };
/** In the raw or decoded URL of every request that carries a cursor. */
const CURSOR_REQUEST = 'page[next_record_id]';

interface Fixture {
  env: Harness;
  proxy: FaultyS3Proxy | undefined;
  s3: S3Client;
  /** Executions so far, and so far recorded in the report. */
  runs: number;
  recordedRuns: number;
  run(extra?: Partial<LocalRunOptions>): Promise<LocalRunResult>;
}

/** A fresh simulator and S3 server (optionally behind the faulty proxy), closed when the test ends. */
async function fixture(sim: SimulatorOptions = {}, withProxy = false): Promise<Fixture> {
  const env = await startHarness({ sim: { ...SIM, ...sim } });
  const proxy = withProxy ? await startFaultyS3Proxy(env.s3.endpoint) : undefined;
  onTestFinished(async () => {
    await proxy?.close();
    await env.close();
  });
  const s3 = proxy ? localS3Client(proxy.url) : env.s3.client;
  const fx: Fixture = {
    env,
    proxy,
    s3,
    runs: 0,
    recordedRuns: 0,
    run: (extra = {}) => {
      fx.runs += 1;
      return env.run(
        { ...INPUT },
        { s3, waitOverrideMs: 0, ...extra, clientOptions: { baseDelayMs: 1, ...extra.clientOptions } },
      );
    },
  };
  return fx;
}

function summaryOf(result: LocalRunResult): CategorySummary {
  const summary = result.output.output.categories[CATEGORY];
  if (!summary) throw new Error(`the run output has no ${CATEGORY} summary`);
  return summary;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Check {
  /** The README row. */
  group: string;
  outcome: string;
  /** Partitions (e.g. `day=2026-11-20`) that must have failed: no manifest, not counted. */
  failed?: string[];
  /** The simulator whose data must be in S3 (default: the fixture's). */
  sim?: DatadogSimulator;
  /** The runs' input (default INPUT). */
  input?: typeof INPUT;
}

/**
 * Every record the simulator holds for the input's windows (but the failed ones) landed exactly once
 * in a manifested partition, nothing else did, and every manifest matches its objects byte for byte.
 * Records the figures first, so the report shows what was measured even when an assertion fails.
 */
async function expectExactlyOnce(fx: Fixture, check: Check): Promise<{ expected: Set<string> }> {
  const sim = check.sim ?? fx.env.sim;
  const input = check.input ?? INPUT;
  const failed = new Set(check.failed ?? []);
  const options = parseOptions(input);
  const windows = windowsFor('day', new Date(input.start), new Date(input.end));
  const complete = windows.filter((w) => !failed.has(w.partition));
  const expected = new Set<string>();
  for (const w of complete) {
    for (const record of sim.expected(CATEGORY, CATEGORIES[CATEGORY].params(w, options))) {
      expected.add(sim.recordId(CATEGORY, record));
    }
  }
  const served = new Set(sim.served.filter((s) => s.category === CATEGORY).map((s) => s.id));

  // Read back through the S3 API (not through the proxy: reads are not under test).
  const { lines, visible, manifests, commits, keys } = await readLanded(
    fx.env.s3.client,
    fx.env.s3.bucket,
    ROOT,
  );
  const counts = countIds(
    visible.map(({ record }) => {
      const { ingest: _ingest, ...own } = record;
      return sim.recordId(CATEGORY, own);
    }),
  );
  const missing = [...expected].filter((id) => !counts.has(id));
  const doubled = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const unexpected = [...counts.keys()].filter((id) => !expected.has(id));

  // What each manifest says of each part, against the object itself.
  const parts: Array<{ said: PartInfo; bytes: number; sha256: string; records: number; pages: number[] }> =
    [];
  for (const manifest of manifests.values()) {
    for (const said of manifest.parts) {
      const body = keys.includes(said.key)
        ? await getBytes(fx.env.s3.client, fx.env.s3.bucket, said.key)
        : Buffer.alloc(0);
      const partLines = lines.filter((l) => l.key === said.key);
      parts.push({
        said,
        bytes: body.length,
        sha256: sha256(body),
        records: partLines.length,
        pages: [...new Set(partLines.map((l) => Number(l.record.ingest.page)))],
      });
    }
  }
  const mismatched = parts.filter(
    (p) => p.said.bytes !== p.bytes || p.said.sha256 !== p.sha256 || p.said.records !== p.records,
  );
  recordFigures({
    suite: 'faults',
    group: check.group,
    runs: fx.runs - fx.recordedRuns,
    served: served.size,
    landed: counts.size,
    lost: missing.length,
    duplicated: [...counts.values()].reduce((n, c) => n + c - 1, 0),
    outcome:
      mismatched.length === 0
        ? check.outcome
        : `${check.outcome}; ${mismatched.length} manifest parts do NOT match their objects`,
  });

  fx.recordedRuns = fx.runs;

  // Exactly once, and only what the simulator holds for the windows.
  expect(missing).toEqual([]);
  expect(doubled).toEqual([]);
  expect(unexpected).toEqual([]);
  for (const id of expected) expect(served.has(id)).toBe(true);

  // One committed fetch per complete window, none for a failed one; nothing else under the category.
  expect([...manifests.keys()].sort()).toEqual(complete.map((w) => `${ROOT}${w.partition}/`).sort());
  expect([...commits.keys()].sort()).toEqual([...manifests.keys()].sort());
  const stray = keys.filter(
    (k) => parsePartitionKey(k)?.kind !== 'part' && parsePartitionKey(k)?.kind !== 'manifest',
  );
  expect(stray).toEqual([]);
  // A complete window holds only its committed fetch; a failed one only what its failed fetch left.
  for (const key of keys) {
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    const partition = folder.slice(ROOT.length, -1);
    expect(commits.get(folder)?.fetch_id === fetchOfKey(key) || failed.has(partition)).toBe(true);
  }

  // Each manifest: its parts are exactly the objects there, pages 0..n-1, counts, bytes and sha256.
  for (const [partition, manifest] of manifests) {
    const partKeys = keys.filter(
      (k) => k.startsWith(partition) && k.endsWith('.json.gz') && fetchOfKey(k) === manifest.fetch_id,
    );
    expect(manifest.parts.map((p) => p.key)).toEqual(partKeys);
    expect(manifest.parts.map((p) => p.page)).toEqual(partKeys.map((_, i) => i));
    expect(manifest.pages).toBe(partKeys.length);
    expect(manifest.records).toBe(lines.filter((l) => l.key.startsWith(partition)).length);
    expect(manifest.bytes).toBe(manifest.parts.reduce((n, p) => n + p.bytes, 0));
  }
  for (const part of parts) {
    expect({ key: part.said.key, bytes: part.bytes, sha256: part.sha256, records: part.records }).toEqual({
      key: part.said.key,
      bytes: part.said.bytes,
      sha256: part.said.sha256,
      records: part.said.records,
    });
    // Each line was written for the page its object is named after.
    expect(part.pages.filter((page) => page !== part.said.page)).toEqual([]);
  }
  return { expected };
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const statuses = (sim: DatadogSimulator, status: number) =>
  sim.requests.filter((r) => r.status === status).length;

describe('Faults: Datadog misbehaves, nothing is lost or doubled', () => {
  it('a 429 storm with reset headers: inline waits, then Wait states, then every record once', async () => {
    // Prepare: 5 answers in a row are 429 "nothing left": 2 say reset in 1 s, then 3 say in 30 s
    const fx = await fixture();
    const limited = (reset: string) => ({
      kind: 'status' as const,
      status: 429,
      headers: {
        'x-ratelimit-limit': '20',
        'x-ratelimit-period': '60',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': reset,
      },
    });
    fx.env.sim.faults.push(limited('1'), { times: 2, pathIncludes: CURSOR_REQUEST });
    fx.env.sim.faults.push(limited('30'), { times: 3, pathIncludes: CURSOR_REQUEST });

    // Act: the client waits out one short reset itself; the rest become Wait states (one window at a
    // time, so the storm meets a single window and the counts are exact)
    const result = await fx.run({ settings: { windowConcurrency: 1 }, clientOptions: { maxInlineWaits: 1 } });

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    expect(statuses(fx.env.sim, 429)).toBe(5);
    expect(result.stats.waitStates).toBe(4);
    const { expected } = await expectExactlyOnce(fx, {
      group: '429 storm (5 × 429 with reset 1 s and 30 s)',
      outcome: `S_OK: 1 wait in the client, ${result.stats.waitStates} Wait states`,
    });
    expect(summaryOf(result).records).toBe(expected.size);
  });

  it('a 429 whose reset and period ask for ten years: the Wait state waits at most an hour, every record once', async () => {
    // Prepare
    const fx = await fixture();
    fx.env.sim.faults.push(
      {
        kind: 'status',
        status: 429,
        headers: {
          'x-ratelimit-period': '315360000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': '315360000',
        },
      },
      { times: 1, pathIncludes: CURSOR_REQUEST },
    );
    const waits: number[] = [];

    // Act
    const result = await fx.run({
      settings: { windowConcurrency: 1 },
      onProgress: (p) => {
        if (p.status === 'wait') waits.push(p.waitSeconds);
      },
    });

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    expect(statuses(fx.env.sim, 429)).toBe(1);
    expect(waits).toEqual([MAX_RATE_LIMIT_SECONDS + 1]);
    await expectExactlyOnce(fx, {
      group: '429 whose X-RateLimit-Reset and -Period say ten years',
      outcome: `S_OK: one Wait state of ${Math.max(...waits)} s (capped at an hour)`,
    });
  });

  it('5xx bursts beyond the client retries: Step Functions retries, every record once', async () => {
    // Prepare: 8 failures in a row; one window at a time, so one request meets 4 and the function fails
    const fx = await fixture();
    for (const [status, times] of [
      [500, 2],
      [502, 1],
      [503, 4],
      [504, 1],
    ] as const) {
      fx.env.sim.faults.push({ kind: 'status', status }, { times, pathIncludes: CURSOR_REQUEST });
    }

    // Act
    const result = await fx.run({ settings: { windowConcurrency: 1 }, limits: { maxPagesPerInvocation: 2 } });

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    const failures = fx.env.sim.requests.filter((r) => r.status >= 500);
    expect(failures.map((r) => r.status)).toEqual([500, 500, 502, 503, 503, 503, 503, 504]);
    // Two retried invocations on top of one per 2 pages: the client gave up twice.
    expect(result.stats.invocations[`Fetch ${CATEGORY}`]).toBeGreaterThanOrEqual(
      Math.ceil(summaryOf(result).pages / 2) + 2,
    );
    await expectExactlyOnce(fx, {
      group: '5xx bursts (500, 502, 503 × 4, 504)',
      outcome: 'S_OK: 2 client give-ups retried by Step Functions',
    });
  });

  it('a connection reset mid-body: the client retries, every record once', async () => {
    // Prepare
    const fx = await fixture();
    fx.env.sim.faults.push({ kind: 'reset' }, { times: 3, pathIncludes: CURSOR_REQUEST });

    // Act
    const result = await fx.run();

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    const pages = summaryOf(result).pages;
    expect(fx.env.sim.requests.length).toBe(pages + 3);
    await expectExactlyOnce(fx, {
      group: 'connection reset mid-body (× 3)',
      outcome: 'S_OK: 3 client retries',
    });
  });

  it('a response slower than the timeout: the client gives up on it and retries, every record once', async () => {
    // Prepare: undici's timers are coarse, so the delay is the timeout plus 1.6 s
    const fx = await fixture();
    fx.env.sim.faults.push({ kind: 'delay', ms: 2_600 }, { pathIncludes: CURSOR_REQUEST });

    // Act
    const started = Date.now();
    const result = await fx.run({ clientOptions: { headersTimeoutMs: 1_000 } });

    // Assess: retried after the timeout, long before the slow answer would have come
    expect(result.output.execution_status).toBe('S_OK');
    expect(fx.env.sim.requests.length).toBe(summaryOf(result).pages + 1);
    expect(Date.now() - started).toBeLessThan(2_600 + 5_000);
    await expectExactlyOnce(fx, {
      group: 'response slower than the timeout (2.6 s vs 1 s)',
      outcome: 'S_OK: 1 timeout, retried',
    });
  });

  it('a truncated body and a non-JSON body: retried, every record once', async () => {
    // Prepare
    const fx = await fixture();
    fx.env.sim.faults.push({ kind: 'truncate' }, { times: 2, pathIncludes: CURSOR_REQUEST });
    fx.env.sim.faults.push({ kind: 'html' }, { times: 2, pathIncludes: CURSOR_REQUEST });

    // Act
    const result = await fx.run();

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    expect(fx.env.sim.requests.length).toBeGreaterThanOrEqual(summaryOf(result).pages + 4);
    await expectExactlyOnce(fx, {
      group: 'truncated body (× 2) and HTML body (× 2)',
      outcome: 'S_OK: retried',
    });
  });

  it('empty pages that still carry a cursor: written as empty parts, nothing skipped', async () => {
    // Prepare: D1's first page is empty, and two pages in a row later on
    const fx = await fixture();
    fx.env.sim.faults.push({ kind: 'emptyPage' }, { pathIncludes: `filter[timestamp][start]=${D1}T00` });
    fx.env.sim.faults.push({ kind: 'emptyPage' }, { times: 2, pathIncludes: CURSOR_REQUEST });

    // Act
    const result = await fx.run();

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    await expectExactlyOnce(fx, {
      group: 'empty page that still carries a cursor (× 3)',
      outcome: 'S_OK: 3 empty parts',
    });
    const { manifests } = await readLanded(fx.env.s3.client, fx.env.s3.bucket, ROOT);
    const empty = [...manifests.values()].flatMap((m) => m.parts.filter((p) => p.records === 0));
    expect(empty).toHaveLength(3);
    expect(manifests.get(`${ROOT}day=${D1}/`)?.parts[0]?.records).toBe(0);
  });

  it('a cursor that repeats: CursorLoopError for that window, the others land, a re-run lands it', async () => {
    // Prepare: every answer for D1 repeats its cursor (a constant one on the first page)
    const fx = await fixture();
    fx.env.sim.faults.push(
      { kind: 'repeatCursor' },
      { times: 1_000, pathIncludes: `filter[timestamp][start]=${D1}T00` },
    );

    // Act
    const looped = await fx.run();

    // Assess: stopped at once, not looping; D2 complete; D1 has no manifest
    expect(looped.output.execution_status).toBe('E_FAIL');
    const summary = summaryOf(looped);
    expect(summary.failed).toBe(1);
    expect(summary.failures[0]).toMatchObject({ window: `day=${D1}`, error: 'CursorLoopError' });
    expect(summary.failures[0]?.message).toMatch(/returned cursor it had already returned.*stopping/);
    const d1Requests = fx.env.sim.requests.filter((r) => r.query['filter[timestamp][start]'] === `${D1}T00`);
    expect(d1Requests).toHaveLength(2);
    await expectExactlyOnce(fx, {
      group: 'cursor that repeats: the failing run',
      outcome: 'E_FAIL (CursorLoopError after 2 requests); the other window landed',
      failed: [`day=${D1}`],
    });

    // Act: the fault clears, the same input runs again
    fx.env.sim.faults.clear();
    const rerun = await fx.run();

    // Assess
    expect(rerun.output.execution_status).toBe('S_OK');
    await expectExactlyOnce(fx, {
      group: 'cursor that repeats: then a re-run',
      outcome: 'S_OK: the re-run replaced the partial window',
    });
  });

  it('a handler running out of time mid-window: hands the cursor back, resumes, no duplicate part', async () => {
    // Prepare: slow pages eat into a 2 s budget with 1.5 s reserved
    const fx = await fixture();
    fx.env.sim.faults.push({ kind: 'delay', ms: 600 }, { times: 2, pathIncludes: CURSOR_REQUEST });
    const lines: string[] = [];

    // Act
    const result = await fx.run({
      lambdaTimeoutMs: 2_000,
      limits: { reserveMs: 1_500 },
      log: createLogger({}, (line) => lines.push(line)),
    });

    // Assess
    expect(result.output.execution_status).toBe('S_OK');
    const handbacks = lines
      .map((l) => JSON.parse(l) as { message?: string; part?: number })
      .filter((l) => l.message === 'handing the cursor back');
    expect(handbacks.length).toBeGreaterThanOrEqual(1);
    expect(result.stats.invocations[`Fetch ${CATEGORY}`]).toBe(summaryOf(result).windows + handbacks.length);
    await expectExactlyOnce(fx, {
      group: 'handler out of time mid-window',
      outcome: `S_OK: ${handbacks.length} hand-backs, resumed from the cursor`,
    });
  });
});

describe("Faults: a hostile server in Datadog's place", () => {
  it(`a page over ${MAX_RESPONSE_BYTES / MIB} MiB: each window fails with ResponseTooLargeError after one request, nothing written`, async () => {
    // Prepare: every answer streams 48 MiB, at the pace it is read
    const env = await startHarness();
    const hostile = await startHostile();
    onTestFinished(async () => {
      await hostile.close();
      await env.close();
    });
    hostile.fallback = streamOf(48 * MIB);

    // Act
    const result = await env.run(
      { ...INPUT },
      {
        datadogUrl: hostile.url,
        waitOverrideMs: 0,
        settings: { windowConcurrency: 1 },
        clientOptions: { baseDelayMs: 1 },
      },
    );

    // Assess
    const written = (await readLanded(env.s3.client, env.s3.bucket, ROOT)).keys;
    const failures = summaryOf(result).failures;
    recordFigures({
      suite: 'faults',
      group: `a page over ${MAX_RESPONSE_BYTES / MIB} MiB (48 MiB streamed, 2 windows)`,
      runs: 1,
      served: 0,
      landed: 0,
      lost: 0,
      duplicated: 0,
      outcome: `${result.output.execution_status}: ResponseTooLargeError for each window after ${hostile.requests.length} requests in all, not retried; ${written.length} objects written`,
    });
    expect(result.output.execution_status).toBe('E_FAIL');
    expect(failures.map((f) => f.error)).toEqual(['ResponseTooLargeError', 'ResponseTooLargeError']);
    expect(hostile.requests).toHaveLength(2);
    expect(result.stats.invocations[`Fetch ${CATEGORY}`]).toBe(2);
    expect(written).toEqual([]);
  });
});

describe('Faults: S3 misbehaves, nothing is lost or doubled', () => {
  it('PutObject failing transiently (3 × 500, 1 × 503): the SDK and Step Functions retry, all lands', async () => {
    // Prepare: one window at a time, so the first part's PUT fails 3 times in a row and the SDK gives up
    const fx = await fixture({}, true);
    fx.proxy?.failPut({ times: 3, status: 500, keyIncludes: '/part-' });
    fx.proxy?.failPut({ times: 1, status: 503, keyIncludes: '/part-' });

    // Act
    const result = await fx.run({ settings: { windowConcurrency: 1 } });

    // Assess: one invocation per window, plus the one Step Functions retried
    expect(result.output.execution_status).toBe('S_OK');
    expect(fx.proxy?.counters.failedPuts).toBe(4);
    expect(result.stats.invocations[`Fetch ${CATEGORY}`]).toBe(summaryOf(result).windows + 1);
    await expectExactlyOnce(fx, {
      group: 'S3 PutObject failing transiently (3 × 500, 1 × 503)',
      outcome: 'S_OK: retried by the SDK and once by Step Functions',
    });
  });

  it('PutObject failing persistently for one partition: StorageError there, the rest lands, a re-run lands all', async () => {
    // Prepare
    const fx = await fixture({}, true);
    fx.proxy?.failPut({ times: Number.POSITIVE_INFINITY, status: 500, keyIncludes: `/day=${D1}/` });

    // Act
    const failing = await fx.run();

    // Assess
    expect(failing.output.execution_status).toBe('E_FAIL');
    const summary = summaryOf(failing);
    expect(summary.failed).toBe(1);
    expect(summary.failures[0]).toMatchObject({ window: `day=${D1}`, error: 'StorageError' });
    expect(summary.failures[0]?.message).toMatch(/S3 PutObject .*day=.*part-00000\.[^/]+\.json\.gz failed/);
    await expectExactlyOnce(fx, {
      group: 'S3 PutObject failing persistently for one partition: the failing run',
      outcome: 'E_FAIL (StorageError) for that window; the other window landed',
      failed: [`day=${D1}`],
    });

    // Act: the fault clears
    fx.proxy?.clear();
    const rerun = await fx.run();

    // Assess
    expect(rerun.output.execution_status).toBe('S_OK');
    await expectExactlyOnce(fx, {
      group: 'S3 PutObject failing persistently: then a re-run',
      outcome: 'S_OK',
    });
  });
});

describe('Faults: runs that overlap or repeat', () => {
  it('the same windows run twice at once: exactly once afterwards, manifests consistent', async () => {
    // Prepare: through the proxy, which gives s3rver S3's atomic PUTs
    const fx = await fixture({}, true);

    // Act: two executions of the same input at the same time, one page per invocation
    const [a, b] = await Promise.all([
      fx.run({ executionName: 'twice-a', limits: { maxPagesPerInvocation: 1 } }),
      fx.run({ executionName: 'twice-b', limits: { maxPagesPerInvocation: 1 } }),
    ]);

    // Assess
    expect(a.output.execution_status).toBe('S_OK');
    expect(b.output.execution_status).toBe('S_OK');
    await expectExactlyOnce(fx, {
      group: 'the same windows run twice at once',
      outcome: 'S_OK twice',
    });
  });

  it('the same window run twice at once, one reading S3 back slowly: the last manifest still matches', async () => {
    // Prepare: execution A's first read (of the window's commit record) answers 2 s late, and
    // execution B, through its own connection to the same bucket, runs the same window meanwhile
    const fx = await fixture({}, true);
    const fast = await startFaultyS3Proxy(fx.env.s3.endpoint);
    onTestFinished(() => fast.close());
    fx.proxy?.delayAnswers({ method: 'GET', ms: 2_000, times: 1 });
    const input = { ...INPUT, end: D2 };

    // Act: B starts once A is reading, and ends (as a rule) before A's read answers
    const slow = fx.run({ executionName: 'slow-a', input });
    await until(() => fx.proxy?.requests.some((r) => r.method === 'GET') ?? false);
    const b = await fx.run({ executionName: 'fast-b', input, s3: localS3Client(fast.url) });
    const a = await slow;

    // Assess: both succeed; whatever manifest is last, it describes the objects that are there
    expect(a.output.execution_status).toBe('S_OK');
    expect(b.output.execution_status).toBe('S_OK');
    expect(
      fast.requests.filter((r) => r.method === 'PUT' && /\/_manifest\.[^/]+\.json$/.test(r.key)),
    ).toHaveLength(1);
    await expectExactlyOnce(fx, {
      group: 'the same window run twice at once, one reading S3 back slowly',
      outcome: 'S_OK twice',
      input,
    });
  });

  it('a re-run after Datadog restated the data with fewer pages: exactly the new records, stale parts deleted', async () => {
    // Prepare: a first run lands 2 orgs × 3 families
    const fx = await fixture();
    const first = await fx.run();
    expect(first.output.execution_status).toBe('S_OK');
    const before = await readLanded(fx.env.s3.client, fx.env.s3.bucket, ROOT);
    // Datadog now holds fewer records for the same days: 1 org × 2 families
    const restated = await startSimulator({ orgs: 1, productFamilies: ['infra_hosts', 'rum'] });
    onTestFinished(() => restated.close());

    // Act
    const rerun = await fx.run({ datadogUrl: restated.url });

    // Assess
    expect(rerun.output.execution_status).toBe('S_OK');
    const { expected } = await expectExactlyOnce(fx, {
      group: 'a re-run after Datadog restated the data with fewer pages',
      outcome: 'S_OK: stale parts deleted',
      sim: restated,
    });
    const after = await readLanded(fx.env.s3.client, fx.env.s3.bucket, ROOT);
    expect(after.keys.length).toBeLessThan(before.keys.length);
    for (const [partition, manifest] of after.manifests) {
      const previous = before.manifests.get(partition);
      expect(manifest.pages).toBeLessThan(previous?.pages ?? 0);
      // The first fetch is gone whole: the window holds the restated fetch only.
      for (const part of previous?.parts ?? []) expect(after.keys).not.toContain(part.key);
    }
    expect(summaryOf(rerun).records).toBe(expected.size);
  });
});
