/**
 * Committing a window: the manifest of a complete fetch, then one conditional write of the window's
 * commit record, which is what readers see. The tables join every part on the fetch its commit
 * record names, so a window flips from one complete fetch to the next in a single PUT, and a fetch
 * that never commits is never seen. Conditional writes (If-Match / If-None-Match on the record) make
 * the swap a compare-and-set: a fetch older than the committed one can never take its place.
 */
import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CategoryName, Window, WindowKind } from '../categories.ts';
import { StorageError } from '../shared/errors.ts';
import {
  commitKey,
  isNewerFetch,
  LEGACY_FETCH_ID,
  manifestKey,
  type PartitionRef,
  partitionPrefix,
  partitionValue,
} from './layout.ts';
import {
  describePart,
  getJson,
  isConditionalConflict,
  isPreconditionFailed,
  type ListedObject,
  listPartition,
  mapLimit,
  type PartInfo,
  send,
} from './page-writer.ts';

/** What `_manifest.<fetch>.json` says of one complete fetch of a window. */
export interface Manifest {
  version: 2;
  complete: true;
  fetch_id: string;
  account: string;
  category: CategoryName;
  window: Window;
  pages: number;
  records: number;
  bytes: number;
  parts: PartInfo[];
  request: { method: 'GET'; path: string; params: Record<string, string> };
  rate_limit: Record<string, unknown>;
  execution: { id: string; run_id: string };
  started_at: string;
  completed_at: string;
}

/**
 * The commit record of a window: one JSON line, the row of the `windows` table. `fetch_id` names the
 * fetch whose parts the tables show.
 */
export interface CommitRecord {
  category: CategoryName;
  account: string;
  window_kind: WindowKind;
  /** The partition value: `2026-09-01` (day) or `2026-09` (month). */
  window_key: string;
  window_start: string;
  window_end: string;
  fetch_id: string;
  pages: number;
  records: number;
  bytes: number;
  /** When the fetch began: how fresh the window is. */
  fetched_at: string;
  committed_at: string;
  run_id: string;
  execution_id: string;
  /** `final`: fetched after Datadog stopped restating the window; `provisional`: re-run it later. */
  status: 'final' | 'provisional';
  /** When Datadog stops restating the window ('' when it never does: estimates, forecasts). */
  final_after: string;
  manifest: string;
}

/** How a complete fetch ended. */
export type CommitOutcome =
  /** Its commit record is in place: readers see it. */
  | 'committed'
  /** A newer fetch was committed first; this one was discarded. */
  | 'superseded';

/** Compare-and-set attempts on one commit record before giving up. */
const COMMIT_ATTEMPTS = 8;

export async function readCommit(
  s3: S3Client,
  ref: PartitionRef,
): Promise<{ record: CommitRecord; etag: string } | undefined> {
  const key = commitKey(ref);
  const got = await send('GetObject', key, () => getJson(s3, ref.bucket, key));
  return got && { record: got.value as CommitRecord, etag: got.etag };
}

export type Commit = Awaited<ReturnType<typeof readCommit>>;

/**
 * Writes `record` as the window's commit record unless a newer (or the same) fetch is committed
 * already. A compare-and-set on the record's ETag: two committers never both win, and the older
 * one never overwrites the newer. `seen` is the record as the caller last read it (saves reading it
 * again; when it has changed since, the conditional write fails and the record is read again).
 */
export async function swapCommit(
  s3: S3Client,
  ref: PartitionRef,
  record: CommitRecord,
  seen?: { current: Commit },
): Promise<CommitOutcome> {
  const key = commitKey(ref);
  for (let attempt = 1; attempt <= COMMIT_ATTEMPTS; attempt++) {
    const current = attempt === 1 && seen ? seen.current : await readCommit(s3, ref);
    if (current?.record.fetch_id === record.fetch_id) return 'committed';
    if (current && !isNewerFetch(record.fetch_id, current.record.fetch_id)) return 'superseded';
    try {
      await send('PutObject', key, () =>
        s3.send(
          new PutObjectCommand({
            Bucket: ref.bucket,
            Key: key,
            Body: `${JSON.stringify(record)}\n`,
            ContentType: 'application/x-ndjson',
            ...(current ? { IfMatch: `"${current.etag}"` } : { IfNoneMatch: '*' }),
          }),
        ),
      );
      return 'committed';
    } catch (error) {
      // Someone else committed in between: read again and decide again.
      if (isPreconditionFailed(error) || isConditionalConflict((error as { cause?: unknown }).cause))
        continue;
      throw error;
    }
  }
  throw new StorageError(
    `${key} kept changing while this fetch tried to commit: other executions are committing the same window`,
  );
}

/** Deletes objects in batches of 1,000, failing on any key S3 would not delete. */
export async function deleteKeys(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  where: string,
): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const result = await send('DeleteObjects', where, () =>
      s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
    if (result.Errors?.length) {
      throw new StorageError(`S3 DeleteObjects under ${where} failed for ${result.Errors.length} keys`);
    }
  }
}

const fetchOf = (o: ListedObject): string =>
  o.what.kind === 'part' || o.what.kind === 'manifest' ? o.what.fetchId : LEGACY_FETCH_ID;

/**
 * Removes what readers can no longer see: every fetch older than `committed` (superseded, or
 * abandoned before it committed) and the window's objects of the old layout. Newer fetches may still
 * be running; they are left alone.
 */
export async function cleanUpWindow(s3: S3Client, ref: PartitionRef, committed: string): Promise<string[]> {
  const stale = (await listPartition(s3, ref))
    .filter((o) => isNewerFetch(committed, fetchOf(o)))
    .map((o) => o.key);
  await deleteKeys(s3, ref.bucket, stale, partitionPrefix(ref));
  return stale;
}

/** Deletes one fetch's own objects (a fetch that lost to a newer one). */
export async function discardFetch(s3: S3Client, ref: PartitionRef, fetchId: string): Promise<string[]> {
  const own = (await listPartition(s3, ref)).filter((o) => fetchOf(o) === fetchId).map((o) => o.key);
  await deleteKeys(s3, ref.bucket, own, partitionPrefix(ref));
  return own;
}

/** What a manifest says of a part: without the cursor a writer kept beside it. */
const partInfo = ({ next: _next, ...info }: PartInfo & { next?: string }): PartInfo => info;

/**
 * The parts of pages 0..pages-1 when this invocation wrote or adopted every one of them: each was
 * written once, only if absent, and only the removal of this fetch (after a newer commit, which its
 * own commit then cannot replace) takes it away, so S3 holds exactly these. Undefined otherwise.
 */
function wholeChain(known: readonly PartInfo[], pages: number): PartInfo[] | undefined {
  const byPage = new Map(known.map((p) => [p.page, p]));
  if (byPage.size !== pages) return undefined;
  const parts: PartInfo[] = [];
  for (let page = 0; page < pages; page++) {
    const part = byPage.get(page);
    if (!part) return undefined;
    parts.push(partInfo(part));
  }
  return parts;
}

/** The parts of a fetch as S3 holds them (some written by earlier invocations): listed, and read where unknown. */
async function readParts(s3: S3Client, f: CompleteFetch): Promise<PartInfo[]> {
  const { ref, fetchId, pages } = f;
  const listed = (await listPartition(s3, ref, f.signal)).filter(
    (o) => o.what.kind === 'part' && o.what.fetchId === fetchId,
  );
  const onS3 = new Map(listed.map((o) => [(o.what as { page: number }).page, o]));
  const beyond = listed.filter((o) => (o.what as { page: number }).page >= pages);
  if (beyond.length > 0) {
    throw new StorageError(
      `${partitionPrefix(ref)} holds ${beyond.length} part(s) of fetch ${fetchId} beyond its last page ${pages - 1}`,
    );
  }
  const missing: number[] = [];
  const parts = new Array<PartInfo>(pages);
  for (let page = 0; page < pages; page++) {
    const l = onS3.get(page);
    if (!l) throw new StorageError(`${partitionPrefix(ref)} lacks page ${page} of fetch ${fetchId}`);
    const k = f.known.find((p) => p.page === page);
    if (k && k.etag === l.etag && k.bytes === l.size) parts[page] = partInfo(k);
    else missing.push(page);
  }
  const described = await mapLimit(missing, 16, (page) => describePart(s3, ref, fetchId, page, f.signal));
  for (const p of described) parts[p.page] = partInfo(p);
  return parts;
}

export interface CompleteFetch {
  ref: PartitionRef;
  windowKind: WindowKind;
  fetchId: string;
  /** Pages of the fetch: parts 0..pages-1. */
  pages: number;
  /** Parts this invocation wrote or adopted: no need to read them back unless S3 holds another object. */
  known: readonly PartInfo[];
  manifest: Omit<Manifest, 'version' | 'complete' | 'fetch_id' | 'pages' | 'records' | 'bytes' | 'parts'>;
  /** The commit record's fields that the fetch decides (the rest come from the manifest). */
  status: CommitRecord['status'];
  finalAfter: string;
  now(): Date;
  signal?: AbortSignal;
}

/** A fetch that found a newer one committed before it could: its own objects are removed. */
export interface Superseded {
  outcome: 'superseded';
  removed: string[];
}

export interface CompletedFetch {
  outcome: CommitOutcome;
  manifest: Manifest;
  /** Objects removed after the commit: older fetches and old-layout objects (or this fetch, when superseded). */
  removed: string[];
}

/**
 * Completes a fetch: checks that S3 holds exactly its parts 0..pages-1, writes its manifest, swaps
 * the window's commit record to it (unless a newer fetch is committed), then removes what no reader
 * sees any more.
 */
export async function completeFetch(s3: S3Client, f: CompleteFetch): Promise<CompletedFetch | Superseded> {
  const { ref, fetchId, pages } = f;
  // A newer fetch committed while this one ran (and may have removed its first parts): it is done for.
  const before = await readCommit(s3, ref);
  if (before && before.record.fetch_id !== fetchId && !isNewerFetch(fetchId, before.record.fetch_id)) {
    return { outcome: 'superseded', removed: await discardFetch(s3, ref, fetchId) };
  }
  const parts = wholeChain(f.known, pages) ?? (await readParts(s3, f));

  const manifest: Manifest = {
    version: 2,
    complete: true,
    fetch_id: fetchId,
    ...f.manifest,
    pages,
    records: parts.reduce((sum, p) => sum + p.records, 0),
    bytes: parts.reduce((sum, p) => sum + p.bytes, 0),
    parts,
  };
  const mKey = manifestKey(ref, fetchId);
  f.signal?.throwIfAborted();
  await send('PutObject', mKey, () =>
    s3.send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: mKey,
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
      }),
      { abortSignal: f.signal },
    ),
  );

  const window = f.manifest.window;
  f.signal?.throwIfAborted();
  const outcome = await swapCommit(
    s3,
    ref,
    {
      category: ref.category,
      account: ref.account,
      window_kind: f.windowKind,
      window_key: partitionValue(window.partition),
      window_start: window.start,
      window_end: window.end,
      fetch_id: fetchId,
      pages,
      records: manifest.records,
      bytes: manifest.bytes,
      fetched_at: f.manifest.started_at,
      committed_at: f.now().toISOString(),
      run_id: f.manifest.execution.run_id,
      execution_id: f.manifest.execution.id,
      status: f.status,
      final_after: f.finalAfter,
      manifest: mKey,
    },
    { current: before },
  );
  const removed =
    outcome === 'committed' ? await cleanUpWindow(s3, ref, fetchId) : await discardFetch(s3, ref, fetchId);
  return { outcome, manifest, removed };
}
