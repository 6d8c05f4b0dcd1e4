import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, DEFAULT_OPTIONS } from '../../lambdas/categories.ts';
import { windowOf } from '../../lambdas/core/windows.ts';
import { type Harness, listKeys, startHarness } from '../../local/harness.ts';
import { openLocalLake } from '../../local/query.ts';
import { migrate } from '../../ops/migrate.ts';

const PREFIX = 'old';
const DAYS = ['2026-09-01', '2026-09-02', '2026-09-03'];

/** A window as the layout before fetch ids left it: parts, and a manifest when it completed. */
async function landLegacy(env: Harness, day: string, opts: { manifest: boolean; corrupt?: boolean }) {
  const window = windowOf('day', new Date(`${day}T00:00:00Z`));
  const records = env.sim.expected('hourly_usage', CATEGORIES.hourly_usage.params(window, DEFAULT_OPTIONS));
  const folder = `${PREFIX}/hourly_usage/account=main/${window.partition}/`;
  const pages = [records.slice(0, 100), records.slice(100)];
  const parts = [];
  for (const [page, recs] of pages.entries()) {
    const ingest = {
      account: 'main',
      category: 'hourly_usage',
      window_start: window.start,
      window_end: window.end,
      page,
      fetched_at: '2026-09-05T00:00:00.000Z',
    };
    const body = gzipSync(recs.map((r) => `${JSON.stringify({ ...(r as object), ingest })}\n`).join(''));
    const key = `${folder}part-${String(page).padStart(5, '0')}.json.gz`;
    const res = await env.s3.client.send(
      new PutObjectCommand({ Bucket: env.s3.bucket, Key: key, Body: body }),
    );
    parts.push({
      key,
      page,
      records: recs.length,
      bytes: opts.corrupt && page === 1 ? body.length + 1 : body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      etag: (res.ETag ?? '').replace(/"/g, ''),
    });
  }
  if (!opts.manifest) return;
  const manifest = {
    version: 1,
    complete: true,
    account: 'main',
    category: 'hourly_usage',
    window,
    pages: parts.length,
    records: records.length,
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    parts,
    request: { method: 'GET', path: '/api/v2/usage/hourly_usage', params: {} },
    rate_limit: {},
    execution: { id: 'arn:old', run_id: 'old-run' },
    started_at: '2026-09-05T00:00:00.000Z',
    completed_at: '2026-09-05T00:01:00.000Z',
    deleted_stale_parts: [],
  };
  await env.s3.client.send(
    new PutObjectCommand({
      Bucket: env.s3.bucket,
      Key: `${folder}_manifest.json`,
      Body: JSON.stringify(manifest),
    }),
  );
}

async function visibleByDay(env: Harness): Promise<Record<string, { rows: number; fetch: string | null }>> {
  const lake = await openLocalLake({ s3Directory: env.s3.directory, bucket: env.s3.bucket, prefix: PREFIX });
  try {
    const rows = (
      await lake.run(
        `SELECT day, count(*) AS n, any_value(coalesce(ingest.fetch_id, 'legacy')) AS f FROM hourly_usage GROUP BY day`,
      )
    ).getRowObjectsJS() as Array<{ day: string; n: bigint; f: string }>;
    return Object.fromEntries(rows.map((r) => [r.day, { rows: Number(r.n), fetch: r.f }]));
  } finally {
    lake.close();
  }
}

describe('Function: migrate (windows landed before fetch ids)', () => {
  let env: Harness;
  beforeAll(async () => {
    env = await startHarness({ run: { prefix: PREFIX } });
  });
  afterAll(async () => env.close());

  it('commits complete legacy windows, leaves incomplete ones invisible, and a re-run moves a window to the new layout', async () => {
    // Prepare: one complete window, one that never completed, one whose manifest no longer matches
    await landLegacy(env, DAYS[0] as string, { manifest: true });
    await landLegacy(env, DAYS[1] as string, { manifest: false });
    await landLegacy(env, DAYS[2] as string, { manifest: true, corrupt: true });
    expect(await visibleByDay(env)).toEqual({});

    // Act
    const dry = await migrate(env.s3.client, env.s3.bucket, PREFIX, { dryRun: true });
    expect(await visibleByDay(env)).toEqual({});
    const report = await migrate(env.s3.client, env.s3.bucket, PREFIX);

    // Assess: only the complete window is visible, as fetch "legacy"
    expect(dry.committed).toEqual(report.committed);
    expect(report.committed).toEqual([`${PREFIX}/hourly_usage/account=main/day=${DAYS[0]}/`]);
    expect(report.skipped.map((s) => s.reason)).toEqual([
      'no manifest: the window never completed',
      expect.stringMatching(/changed after the manifest/),
    ]);
    const expected = env.sim.expected(
      'hourly_usage',
      CATEGORIES.hourly_usage.params(windowOf('day', new Date(`${DAYS[0]}T00:00:00Z`)), DEFAULT_OPTIONS),
    ).length;
    expect(await visibleByDay(env)).toEqual({ [DAYS[0] as string]: { rows: expected, fetch: 'legacy' } });

    // Act: a run over the three days
    const result = await env.run({
      account: 'main',
      categories: ['hourly_usage'],
      start: DAYS[0],
      end: '2026-09-04',
    });

    // Assess: every day in the new layout, the old objects gone
    expect(result.output.execution_status).toBe('S_OK');
    const after = await visibleByDay(env);
    for (const day of DAYS) expect(after[day]?.fetch).toMatch(/^\d{8}T\d{9}Z-0000-[0-9a-f]{8}$/);
    const keys = await listKeys(env.s3.client, env.s3.bucket, `${PREFIX}/`);
    expect(keys.filter((k) => /\/(part-\d{5}\.json\.gz|_manifest\.json)$/.test(k))).toEqual([]);
  });
});
