import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { windowsFor } from '../../lambdas/core/windows.ts';
import { getBytes, type Harness, listKeys, readLanded, startHarness } from '../../local/harness.ts';
import { openLocalLake } from '../../local/query.ts';
import type { LocalRunOptions } from '../../local/runner.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START = '2026-09-01';
const END = '2026-09-03';
const DAYS = ['2026-09-01', '2026-09-02'];
const CURSOR_REQUEST = 'page[next_record_id]';

/** What the `hourly_usage` view and the `windows` table show of one day. */
interface DayView {
  fetchIds: string[];
  ids: string[];
  committedFetch: string | undefined;
  records: number | undefined;
}

/**
 * What `npm run query` shows of every day under `prefix`: the view's rows and the commit records.
 * Two queries: the commit records are read before and after the rows, and read again when a window
 * was committed in between (each query is consistent on its own, two are not together).
 */
async function readViews(env: Harness, prefix: string): Promise<Map<string, DayView>> {
  const lake = await openLocalLake({ s3Directory: env.s3.directory, bucket: env.s3.bucket, prefix });
  try {
    const readWindows = async () =>
      (
        await lake.run(
          `SELECT window_key, fetch_id, records FROM windows WHERE category = 'hourly_usage' AND account = 'main' ORDER BY 1`,
        )
      ).getRowObjectsJS() as Array<{ window_key: string; fetch_id: string; records: bigint }>;
    for (;;) {
      const before = await readWindows();
      const rows = (
        await lake.run('SELECT day, id, ingest.fetch_id AS fetch_id FROM hourly_usage ORDER BY day, id')
      ).getRowObjectsJS() as Array<{ day: string; id: string; fetch_id: string }>;
      const windows = await readWindows();
      const same = (a: typeof before, b: typeof before) =>
        a.length === b.length &&
        a.every((w, i) => w.fetch_id === b[i]?.fetch_id && w.window_key === b[i]?.window_key);
      if (!same(before, windows)) continue;
      const out = new Map<string, DayView>();
      for (const day of new Set([...rows.map((r) => r.day), ...windows.map((w) => w.window_key)])) {
        const own = rows.filter((r) => r.day === day);
        const w = windows.find((x) => x.window_key === day);
        out.set(day, {
          fetchIds: [...new Set(own.map((r) => r.fetch_id))],
          ids: own.map((r) => r.id),
          committedFetch: w?.fetch_id,
          records: w === undefined ? undefined : Number(w.records),
        });
      }
      return out;
    }
  } finally {
    lake.close();
  }
}

/** Rows of the raw table (every fetch landed, committed or not) under `prefix`. */
async function rawRows(env: Harness, prefix: string): Promise<number> {
  const lake = await openLocalLake({ s3Directory: env.s3.directory, bucket: env.s3.bucket, prefix });
  try {
    return Number((await lake.run('SELECT count(*) FROM hourly_usage_raw')).getRows()[0]?.[0]);
  } finally {
    lake.close();
  }
}

/** Every id the simulator holds for a day: what a complete window shows. */
function expectedIds(env: Harness, day: string): string[] {
  const [w] = windowsFor('day', new Date(`${day}T00:00:00Z`), new Date(`${day}T01:00:00Z`));
  if (!w) throw new Error(day);
  return env.sim
    .expected('hourly_usage', CATEGORIES.hourly_usage.params(w, DEFAULT_OPTIONS))
    .map((r) => env.sim.recordId('hourly_usage', r))
    .sort();
}

/** A day shown whole: one fetch, the committed one, each record exactly once. */
function expectWhole(env: Harness, view: DayView | undefined, day: string): void {
  expect(view?.fetchIds).toHaveLength(1);
  expect(view?.fetchIds[0]).toBe(view?.committedFetch);
  expect(view?.ids).toEqual(expectedIds(env, day));
  expect(view?.records).toBe(view?.ids.length);
}

describe('Isolation: readers see only complete windows, the latest committed fetch of each', () => {
  let env: Harness;
  const run = (prefix: string, extra: Partial<LocalRunOptions> & { pageSize: number }) => {
    const { pageSize, ...rest } = extra;
    return env.run(
      { account: 'main', categories: ['hourly_usage'], start: START, end: END, pageSize },
      { prefix, waitOverrideMs: 0, clientOptions: { baseDelayMs: 1 }, ...rest },
    );
  };

  beforeAll(async () => {
    env = await startHarness();
  });
  afterAll(async () => env.close());
  afterEach(() => env.sim.faults.clear());

  it('a re-run that fails mid-window leaves the first run visible and intact, byte for byte', async () => {
    // Prepare: a complete run
    const first = await run('fail', { pageSize: 50 });
    expect(first.output.execution_status).toBe('S_OK');
    const before = await readViews(env, 'fail');
    const landed = await readLanded(env.s3.client, env.s3.bucket, 'fail/');
    for (const day of DAYS) expectWhole(env, before.get(day), day);

    // Act: a re-run whose every page after the first fails
    env.sim.faults.push({ kind: 'status', status: 500 }, { times: 10_000, pathIncludes: CURSOR_REQUEST });
    const rerun = await run('fail', { pageSize: 60 });

    // Assess: the re-run failed after landing first pages; the views show the first run, unchanged
    expect(rerun.output.execution_status).toBe('E_FAIL');
    expect(rerun.output.output.categories.hourly_usage?.failed).toBe(2);
    expect(await readViews(env, 'fail')).toEqual(before);
    const visible = [...before.values()].reduce((n, v) => n + v.ids.length, 0);
    expect(await rawRows(env, 'fail')).toBeGreaterThan(visible);
    for (const manifest of landed.manifests.values()) {
      for (const part of manifest.parts) {
        const body = await getBytes(env.s3.client, env.s3.bucket, part.key);
        expect(createHash('sha256').update(body).digest('hex')).toBe(part.sha256);
      }
    }
  });

  it('a run killed mid-window (kill -9) shows nothing of its unfinished windows', async () => {
    // Prepare: every page slow, so the run is still inside its first windows when it dies
    env.sim.faults.push({ kind: 'delay', ms: 400 }, { times: 10_000 });
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--openssl-legacy-provider',
        '--import',
        'tsx',
        'local/cli.ts',
        ...['--datadog-url', env.sim.url, '--s3-endpoint', env.s3.endpoint, '--bucket', env.s3.bucket],
        ...['--prefix', 'killed', '--account', 'main', '--categories', 'hourly_usage'],
        ...['--start', START, '--end', END, '--page-size', '20', '--quiet'],
      ],
      { cwd: ROOT, stdio: 'ignore', env: { ...process.env, DD_API_KEY: '', DD_APP_KEY: '' } },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));

    // Act: kill it as soon as its first pages have landed
    let keys: string[] = [];
    for (let i = 0; i < 600 && !keys.some((k) => k.includes('/part-')); i++) {
      await new Promise((r) => setTimeout(r, 100));
      keys = await listKeys(env.s3.client, env.s3.bucket, 'killed/');
    }
    child.kill('SIGKILL');
    await exited;

    // Assess: parts landed, nothing is visible, no window is committed
    expect(keys.some((k) => k.includes('/part-'))).toBe(true);
    expect(await rawRows(env, 'killed')).toBeGreaterThan(0);
    const views = await readViews(env, 'killed');
    expect([...views.values()].flatMap((v) => v.ids)).toEqual([]);
    expect([...views.values()].filter((v) => v.committedFetch)).toEqual([]);
  });

  it('an older execution that finishes after a newer one does not replace the newer data', async () => {
    // Prepare: the older execution's requests are slow (page size 37 tells them apart)
    env.sim.faults.push({ kind: 'delay', ms: 300 }, { times: 10_000, pathIncludes: 'page[limit]=37' });

    // Act: the older one starts first, the newer one overtakes it
    const older = run('race', {
      pageSize: 37,
      executionName: 'older',
      executionStart: '2026-11-30T10:00:00.000Z',
    });
    await new Promise((r) => setTimeout(r, 300));
    const newer = await run('race', {
      pageSize: 50,
      executionName: 'newer',
      executionStart: '2026-11-30T10:00:05.000Z',
    });
    const old = await older;

    // Assess: both succeeded; the older one's windows were superseded, and the views show the newer
    expect(newer.output.execution_status).toBe('S_OK');
    expect(old.output.execution_status).toBe('S_OK');
    expect(old.output.output.totals.superseded).toBe(2);
    expect(old.output.output.totals.windows).toBe(0);
    const views = await readViews(env, 'race');
    for (const day of DAYS) {
      expectWhole(env, views.get(day), day);
      expect(views.get(day)?.committedFetch).toMatch(/^20261130T100005000Z-/);
    }
    // The older execution discarded what it fetched: only the newer fetch's rows remain.
    expect(await rawRows(env, 'race')).toBe(DAYS.reduce((n, d) => n + expectedIds(env, d).length, 0));

    // Act: an older execution started after a newer one committed does not even ask Datadog
    const requests = env.sim.requests.length;
    const late = await run('race', {
      pageSize: 50,
      executionName: 'late',
      executionStart: '2026-11-30T09:00:00.000Z',
    });
    expect(late.output.output.totals.superseded).toBe(2);
    expect(env.sim.requests.length).toBe(requests);
    expect(await readViews(env, 'race')).toEqual(views);
  });

  it('a zombie invocation (timed out, still running) changes nothing visible', async () => {
    // Prepare: one day; its second page answers after the invocation's 1.5 s timeout, and the retry
    // asking for the same page gets it restated (no records, a cursor to the same records): a zombie
    // that wrote its late answer as that page would show those records twice.
    env.sim.faults.push({ kind: 'delay', ms: 2_500 }, { times: 1, pathIncludes: CURSOR_REQUEST });
    env.sim.faults.push({ kind: 'emptyPage' }, { times: 1, pathIncludes: CURSOR_REQUEST });

    // Act
    const result = await run('zombie', {
      pageSize: 50,
      input: { account: 'main', categories: ['hourly_usage'], start: DAYS[0], end: DAYS[1], pageSize: 50 },
      lambdaTimeoutMs: 1_500,
      limits: { reserveMs: 100 },
    });

    // Assess: the invocation timed out and was retried; the window is whole, and nothing else landed
    expect(result.output.execution_status).toBe('S_OK');
    expect(result.stats.timedOut).toBe(1);
    const views = await readViews(env, 'zombie');
    expectWhole(env, views.get(DAYS[0] as string), DAYS[0] as string);
    expect(await rawRows(env, 'zombie')).toBe(expectedIds(env, DAYS[0] as string).length);
  });

  it('two invocations of every step at once, answered differently, still make one whole window', async () => {
    // Prepare: some pages come back restated (no records, the cursor to the same records), so the two
    // writers of a page can hold different answers: only one may stand, and the chain must follow it
    env.sim.faults.push({ kind: 'emptyPage' }, { times: 3, pathIncludes: CURSOR_REQUEST });

    // Act: the same execution twice at once: every fetch invocation has a twin writing the same pages
    const [a, b] = await Promise.all(
      ['a', 'b'].map(() =>
        run('twins', { pageSize: 40, executionName: 'twins', executionStart: '2026-11-30T11:00:00.000Z' }),
      ),
    );

    // Assess
    expect(JSON.stringify(a?.output.output.categories.hourly_usage?.failures)).toBe('[]');
    expect(JSON.stringify(b?.output.output.categories.hourly_usage?.failures)).toBe('[]');
    expect(a?.output.execution_status).toBe('S_OK');
    expect(b?.output.execution_status).toBe('S_OK');
    const views = await readViews(env, 'twins');
    for (const day of DAYS) expectWhole(env, views.get(day), day);
    expect(await rawRows(env, 'twins')).toBe(DAYS.reduce((n, d) => n + expectedIds(env, d).length, 0));
  });

  it('a re-run that completes replaces each window at once: a reader never sees a mix', async () => {
    // Prepare: a first complete run, then a slow re-run with another page size
    expect((await run('swap', { pageSize: 50 })).output.execution_status).toBe('S_OK');
    const first = await readViews(env, 'swap');
    env.sim.faults.push({ kind: 'delay', ms: 150 }, { times: 10_000, pathIncludes: 'page[limit]=30' });

    // Act: read the views over and over while the re-run runs
    let done = false;
    const rerun = run('swap', { pageSize: 30 }).finally(() => {
      done = true;
    });
    const seen: Array<Map<string, DayView>> = [];
    while (!done) {
      try {
        seen.push(await readViews(env, 'swap'));
      } catch (error) {
        // A query that starts before a window is replaced may find its old parts gone: it is re-run.
        expect(String(error)).toMatch(/No such file|not found|Could not open|IO Error/i);
      }
    }
    const result = await rerun;

    // Assess: every reading showed each day whole, from the first fetch or from the second
    expect(result.output.execution_status).toBe('S_OK');
    expect(seen.length).toBeGreaterThan(2);
    const last = await readViews(env, 'swap');
    for (const day of DAYS) {
      expectWhole(env, last.get(day), day);
      expect(last.get(day)?.committedFetch).not.toBe(first.get(day)?.committedFetch);
    }
    for (const views of seen) {
      for (const day of DAYS) {
        expectWhole(env, views.get(day), day);
        expect([first.get(day)?.committedFetch, last.get(day)?.committedFetch]).toContain(
          views.get(day)?.committedFetch,
        );
      }
    }
    expect(
      seen.some(
        (v) => v.get(DAYS[0] as string)?.committedFetch === first.get(DAYS[0] as string)?.committedFetch,
      ),
    ).toBe(true);
    expect(await rawRows(env, 'swap')).toBe(DAYS.reduce((n, d) => n + expectedIds(env, d).length, 0));
  });
});
