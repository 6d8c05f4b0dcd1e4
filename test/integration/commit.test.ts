import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommitRecord, completeFetch, readCommit, swapCommit } from '../../lambdas/core/commit.ts';
import { fetchIdOf, type PartitionRef } from '../../lambdas/core/layout.ts';
import {
  describePart,
  type IngestInfo,
  type PartInfo,
  type StoredPart,
  writePart,
} from '../../lambdas/core/page-writer.ts';
import { windowOf } from '../../lambdas/core/windows.ts';
import { listKeys } from '../../local/harness.ts';
import { type LocalS3, startS3Server } from '../../local/s3-server.ts';

const WINDOW = windowOf('day', new Date('2026-09-01T00:00:00Z'));
const fetchAt = (second: number) =>
  fetchIdOf(`2026-09-01T12:00:${String(second).padStart(2, '0')}.000Z`, 'arn', 0);

function record(ref: PartitionRef, fetchId: string): CommitRecord {
  return {
    category: ref.category,
    account: ref.account,
    window_kind: 'day',
    window_key: '2026-09-01',
    window_start: WINDOW.start,
    window_end: WINDOW.end,
    fetch_id: fetchId,
    pages: 1,
    records: 1,
    bytes: 1,
    fetched_at: WINDOW.end,
    committed_at: WINDOW.end,
    run_id: 'r',
    execution_id: 'arn',
    status: 'provisional',
    final_after: WINDOW.end,
    manifest: 'm',
  };
}

const ingest = (fetchId: string, page: number): IngestInfo => ({
  account: 'main',
  category: 'hourly_usage',
  window_start: WINDOW.start,
  window_end: WINDOW.end,
  page,
  fetched_at: WINDOW.end,
  fetch_id: fetchId,
});

describe('Commit protocol against an S3-compatible server', () => {
  let s3: LocalS3;
  let dir: string;
  let n = 0;
  const ref = (): PartitionRef => ({
    bucket: 'lake',
    prefix: `t${++n}`,
    category: 'hourly_usage',
    account: 'main',
    partition: WINDOW.partition,
  });

  /** Writes pages 0..pages-1 of a fetch, one record each, and returns the parts as written. */
  const writeParts = async (r: PartitionRef, fetchId: string, pages: number) => {
    const written: StoredPart[] = [];
    for (let page = 0; page < pages; page++) {
      const part = await writePart(s3.client, {
        ref: r,
        fetchId,
        page,
        records: [{ id: `${fetchId}-${page}` }],
        ingest: ingest(fetchId, page),
        next: page + 1 < pages ? `c${page + 1}` : '',
      });
      if (part) written.push(part);
    }
    return written;
  };
  const completeWith = (r: PartitionRef, fetchId: string, pages: number, known: readonly PartInfo[]) =>
    completeFetch(s3.client, {
      ref: r,
      windowKind: 'day',
      fetchId,
      pages,
      known,
      manifest: {
        account: 'main',
        category: 'hourly_usage',
        window: WINDOW,
        request: { method: 'GET', path: '/p', params: {} },
        rate_limit: {},
        execution: { id: 'arn', run_id: 'r' },
        started_at: WINDOW.end,
        completed_at: WINDOW.end,
      },
      status: 'provisional',
      finalAfter: WINDOW.end,
      now: () => new Date(WINDOW.end),
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'commit-s3-'));
    s3 = await startS3Server({ directory: dir, bucket: 'lake' });
  });
  afterAll(async () => {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('swapCommit: a newer fetch replaces an older one; an older one never replaces a newer one', async () => {
    // Prepare
    const r = ref();

    // Act
    const first = await swapCommit(s3.client, r, record(r, fetchAt(10)));
    const newer = await swapCommit(s3.client, r, record(r, fetchAt(20)));
    const older = await swapCommit(s3.client, r, record(r, fetchAt(15)));
    const same = await swapCommit(s3.client, r, record(r, fetchAt(20)));

    // Assess
    expect([first, newer, older, same]).toEqual(['committed', 'committed', 'superseded', 'committed']);
    expect((await readCommit(s3.client, r))?.record.fetch_id).toBe(fetchAt(20));
  });

  it('swapCommit: a record read before another commit landed is read again, never written over', async () => {
    // Prepare: fetch 10 is committed and read; fetch 20 commits after that read
    const r = ref();
    await swapCommit(s3.client, r, record(r, fetchAt(10)));
    const stale = await readCommit(s3.client, r);
    await swapCommit(s3.client, r, record(r, fetchAt(20)));
    const absent = ref();
    await swapCommit(s3.client, absent, record(absent, fetchAt(20)));

    // Act: fetch 15 commits against what it read
    const between = await swapCommit(s3.client, r, record(r, fetchAt(15)), { current: stale });
    const readAbsent = await swapCommit(s3.client, absent, record(absent, fetchAt(15)), {
      current: undefined,
    });
    const newest = await swapCommit(s3.client, r, record(r, fetchAt(30)), { current: stale });

    // Assess
    expect([between, readAbsent, newest]).toEqual(['superseded', 'superseded', 'committed']);
    expect((await readCommit(s3.client, r))?.record.fetch_id).toBe(fetchAt(30));
    expect((await readCommit(s3.client, absent))?.record.fetch_id).toBe(fetchAt(20));
  });

  it('swapCommit: many committers at once, in any order: the newest one stands', async () => {
    // Prepare
    const r = ref();
    const seconds = [7, 3, 12, 9, 1, 11, 5, 10];

    // Act
    const outcomes = await Promise.all(seconds.map((s) => swapCommit(s3.client, r, record(r, fetchAt(s)))));

    // Assess
    expect((await readCommit(s3.client, r))?.record.fetch_id).toBe(fetchAt(12));
    expect(outcomes[seconds.indexOf(12)]).toBe('committed');
  });

  it('writePart: a page of a fetch is written once; a second writer adopts it and its cursor', async () => {
    // Prepare
    const r = ref();
    const fetchId = fetchAt(30);

    // Act
    const first = await writePart(s3.client, {
      ref: r,
      fetchId,
      page: 0,
      records: [{ id: 'a' }],
      ingest: ingest(fetchId, 0),
      next: 'c1',
    });
    const second = await writePart(s3.client, {
      ref: r,
      fetchId,
      page: 0,
      records: [{ id: 'b' }, { id: 'c' }],
      ingest: ingest(fetchId, 0),
      next: 'other',
    });
    const stored = await describePart(s3.client, r, fetchId, 0);

    // Assess
    expect(first?.records).toBe(1);
    expect(second).toBeUndefined();
    expect(stored).toMatchObject({ records: 1, next: 'c1', sha256: first?.sha256, etag: first?.etag });
  });

  it('completeFetch: refuses a fetch with a missing page, and commits a whole one, removing older fetches', async () => {
    // Prepare: an older fetch committed, then a newer one of two pages
    const r = ref();
    const old = fetchAt(1);
    const parts = (fetchId: string, pages: number) => writeParts(r, fetchId, pages);
    const complete = (fetchId: string, pages: number) => completeWith(r, fetchId, pages, []);
    await parts(old, 1);
    expect((await complete(old, 1)).outcome).toBe('committed');
    const newer = fetchAt(2);
    await parts(newer, 2);

    // Act + Assess: a page short is refused, the whole fetch commits
    await expect(complete(newer, 3)).rejects.toThrow(/lacks page 2/);
    const done = await complete(newer, 2);
    expect(done.outcome).toBe('committed');
    expect((await readCommit(s3.client, r))?.record).toMatchObject({ fetch_id: newer, pages: 2, records: 2 });
    const keys = await listKeys(s3.client, 'lake', `${r.prefix}/`);
    expect(keys.filter((k) => k.includes(old))).toEqual([]);
    expect(keys.filter((k) => k.includes(newer))).toHaveLength(3);
  });

  it('completeFetch: a fetch that wrote every page itself describes each part as S3 holds it, without the cursors', async () => {
    // Prepare: two pages written by this invocation, as the fetch function keeps them
    const r = ref();
    const fetchId = fetchAt(40);
    const known = await writeParts(r, fetchId, 2);

    // Act
    const done = await completeWith(r, fetchId, 2, known);

    // Assess
    expect(done.outcome).toBe('committed');
    const described = await Promise.all([0, 1].map((page) => describePart(s3.client, r, fetchId, page)));
    expect('manifest' in done && done.manifest.parts).toEqual(
      described.map(({ next: _next, ...info }) => info),
    );
  });
});
