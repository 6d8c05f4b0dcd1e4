import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { CategoryName, Window } from '../categories.ts';
import { StorageError } from '../shared/errors.ts';

const gzip = promisify(gzipCb);

/** Where one window of one category of one account lands. */
export interface PartitionRef {
  bucket: string;
  prefix: string;
  category: CategoryName;
  account: string;
  partition: string;
}

/** The `ingest` object added to every record. */
export interface IngestInfo {
  account: string;
  category: CategoryName;
  window_start: string;
  window_end: string;
  page: number;
  fetched_at: string;
}

export interface PartInfo {
  key: string;
  page: number;
  records: number;
  bytes: number;
  sha256: string;
  /** S3's ETag of the object: tells, from a listing, whether the part is still the one described. */
  etag: string;
}

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '');

export function partitionPrefix(ref: PartitionRef): string {
  const root = ref.prefix ? `${ref.prefix}/` : '';
  return `${root}${ref.category}/account=${ref.account}/${ref.partition}/`;
}

export function partKey(ref: PartitionRef, page: number): string {
  return `${partitionPrefix(ref)}part-${String(page).padStart(5, '0')}.json.gz`;
}

export function manifestKey(ref: PartitionRef): string {
  return `${partitionPrefix(ref)}_manifest.json`;
}

const PART_NAME = /\/part-(\d{5,})\.json\.gz$/;

/**
 * NDJSON: each record unchanged, plus `ingest`. Records are objects; the ingest object is spliced
 * into the record's own serialization so its fields keep their order and values byte for byte.
 */
export function toNdjson(records: readonly unknown[], ingest: IngestInfo): string {
  const tail = `"ingest":${JSON.stringify(ingest)}}`;
  let out = '';
  for (const record of records) {
    if (record !== null && typeof record === 'object' && !Array.isArray(record) && !('ingest' in record)) {
      const json = JSON.stringify(record);
      out += json.length === 2 ? `{${tail}\n` : `${json.slice(0, -1)},${tail}\n`;
    } else {
      // Not an object, or it already has an `ingest` field: keep it whole under `record`.
      out += `${JSON.stringify({ record, ingest })}\n`;
    }
  }
  return out;
}

async function send<T>(what: string, key: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new StorageError(
      `S3 ${what} ${key} failed: ${(error as Error).name}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Writes one API page as one gzip NDJSON object at its deterministic key (overwriting any earlier run). */
export async function writePart(
  s3: S3Client,
  ref: PartitionRef,
  page: number,
  records: readonly unknown[],
  ingest: IngestInfo,
): Promise<PartInfo> {
  const body = await gzip(Buffer.from(toNdjson(records, ingest)));
  const sha256 = createHash('sha256').update(body).digest('hex');
  const key = partKey(ref, page);
  const res = await send('PutObject', key, () =>
    s3.send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/x-ndjson',
        Metadata: { records: String(records.length), sha256 },
      }),
    ),
  );
  return { key, page, records: records.length, bytes: body.length, sha256, etag: unquote(res.ETag) };
}

/** A window starts (or restarts): its old manifest goes first, so no reader trusts a half-rewritten window. */
export async function beginWindow(s3: S3Client, ref: PartitionRef): Promise<void> {
  const key = manifestKey(ref);
  await send('DeleteObject', key, () => s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: key })));
}

interface ListedPart {
  key: string;
  page: number;
  etag: string;
  size: number;
}

async function listParts(s3: S3Client, ref: PartitionRef): Promise<ListedPart[]> {
  const parts: ListedPart[] = [];
  let token: string | undefined;
  do {
    const prefix = partitionPrefix(ref);
    const page = await send('ListObjectsV2', prefix, () =>
      s3.send(new ListObjectsV2Command({ Bucket: ref.bucket, Prefix: prefix, ContinuationToken: token })),
    );
    for (const o of page.Contents ?? []) {
      const m = o.Key ? PART_NAME.exec(o.Key) : null;
      if (o.Key && m?.[1])
        parts.push({ key: o.Key, page: Number(m[1]), etag: unquote(o.ETag), size: o.Size ?? 0 });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return parts;
}

export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Reads back what parts of the window hold, from the metadata written with them. */
export async function describeParts(
  s3: S3Client,
  ref: PartitionRef,
  pages: readonly number[],
): Promise<PartInfo[]> {
  return mapLimit(pages, 16, async (page) => {
    const key = partKey(ref, page);
    const head = await send('HeadObject', key, () =>
      s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: key })),
    );
    return {
      key,
      page,
      records: Number(head.Metadata?.records ?? Number.NaN),
      bytes: head.ContentLength ?? 0,
      sha256: head.Metadata?.sha256 ?? '',
      etag: unquote(head.ETag),
    };
  });
}

/** Parts 0..pages-1: the ones this invocation wrote and S3 still holds as written, the others read back. */
async function currentParts(
  s3: S3Client,
  ref: PartitionRef,
  pages: number,
  listed: readonly ListedPart[],
  known: readonly PartInfo[],
): Promise<PartInfo[]> {
  const onS3 = new Map(listed.map((p) => [p.page, p]));
  const parts = new Array<PartInfo>(pages);
  const unknown: number[] = [];
  for (let page = 0; page < pages; page++) {
    const k = known.find((p) => p.page === page);
    const l = onS3.get(page);
    if (k && l && l.etag === k.etag && l.size === k.bytes) parts[page] = k;
    else unknown.push(page);
  }
  for (const p of await describeParts(s3, ref, unknown)) parts[p.page] = p;
  return parts;
}

/** Manifest writes per window before giving up on a window that another execution keeps rewriting. */
const MANIFEST_ATTEMPTS = 5;

export interface Manifest {
  version: 1;
  complete: true;
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
  /** Parts of an earlier run beyond this run's page count, deleted by this run. */
  deleted_stale_parts: string[];
}

/**
 * Completes a window: deletes parts beyond `pages` left by an earlier run, then writes the manifest
 * last, from what S3 holds for parts 0..pages-1.
 */
export async function completeWindow(
  s3: S3Client,
  ref: PartitionRef,
  pages: number,
  meta: Omit<
    Manifest,
    'version' | 'complete' | 'pages' | 'records' | 'bytes' | 'parts' | 'deleted_stale_parts'
  >,
  /** Parts this invocation wrote: no need to read them back unless S3 holds something else now. */
  known: readonly PartInfo[] = [],
): Promise<Manifest> {
  const listed = await listParts(s3, ref);
  const stale = listed.filter((p) => p.page >= pages).map((p) => p.key);
  for (let i = 0; i < stale.length; i += 1000) {
    const batch = stale.slice(i, i + 1000);
    const result = await send('DeleteObjects', partitionPrefix(ref), () =>
      s3.send(
        new DeleteObjectsCommand({
          Bucket: ref.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
    if (result.Errors?.length) {
      throw new StorageError(
        `S3 DeleteObjects under ${partitionPrefix(ref)} failed for ${result.Errors.length} keys`,
      );
    }
  }
  // Another execution may be rewriting the same window at the same time. The manifest must describe
  // the bytes S3 ends up holding: read the parts back after writing it, and rewrite it until they hold still.
  const key = manifestKey(ref);
  let parts = await currentParts(s3, ref, pages, listed, known);
  for (let attempt = 1; ; attempt++) {
    const manifest: Manifest = {
      version: 1,
      complete: true,
      ...meta,
      pages,
      records: parts.reduce((sum, p) => sum + p.records, 0),
      bytes: parts.reduce((sum, p) => sum + p.bytes, 0),
      parts,
      deleted_stale_parts: stale,
    };
    await send('PutObject', key, () =>
      s3.send(
        new PutObjectCommand({
          Bucket: ref.bucket,
          Key: key,
          Body: `${JSON.stringify(manifest, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      ),
    );
    // One listing tells whether any part changed since it was described.
    const relisted = (await listParts(s3, ref)).filter((p) => p.page < pages);
    const after = await currentParts(s3, ref, pages, relisted, parts);
    if (after.every((p, i) => p === parts[i])) return manifest;
    if (attempt >= MANIFEST_ATTEMPTS) {
      throw new StorageError(
        `${partitionPrefix(ref)} kept changing while its manifest was written: another execution is rewriting the same window`,
      );
    }
    parts = after;
  }
}
