import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { CategoryName } from '../categories.ts';
import { StorageError } from '../shared/errors.ts';
import {
  type PartitionObject,
  type PartitionRef,
  parsePartitionKey,
  partitionPrefix,
  partKey,
} from './layout.ts';

const gzip = promisify(gzipCb);

/** The `ingest` object added to every record. */
export interface IngestInfo {
  account: string;
  category: CategoryName;
  window_start: string;
  window_end: string;
  page: number;
  fetched_at: string;
  /** The fetch the record belongs to: the tables show a window's records of its committed fetch only. */
  fetch_id: string;
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

/** A part as a writer of the fetch finds it: what it holds, and the cursor of the page after it. */
export interface StoredPart extends PartInfo {
  /** '' when this page was the window's last. */
  next: string;
}

/** Longest cursor a part can carry in its metadata (S3 allows 2 KB of user metadata per object). */
export const MAX_CURSOR_BYTES = 1_500;

export const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '');

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

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** S3 refused a conditional write: the object exists (If-None-Match) or changed (If-Match). */
export const isPreconditionFailed = (error: unknown): boolean =>
  statusOf(error) === 412 || (error as Error).name === 'PreconditionFailed';

/** S3 saw two conditional writes of one key at once; the loser may try again. */
export const isConditionalConflict = (error: unknown): boolean =>
  statusOf(error) === 409 && (error as Error).name === 'ConditionalRequestConflict';

/** There is no such object. */
export const isNoSuchKey = (error: unknown): boolean =>
  statusOf(error) === 404 || (error as Error).name === 'NoSuchKey';

/**
 * A JSON object of S3 and its ETag (unquoted); undefined when there is no such object. Any other
 * error (and a body that is not JSON) is thrown as it is.
 */
export async function getJson(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  key: string,
): Promise<{ value: unknown; etag: string } | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await (res.Body as { transformToString(): Promise<string> }).transformToString();
    return { value: JSON.parse(text), etag: unquote(res.ETag) };
  } catch (error) {
    if (isNoSuchKey(error)) return undefined;
    throw error;
  }
}

/** Runs one S3 request, naming the operation and the key in the error that escapes. */
export async function send<T>(what: string, key: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (isPreconditionFailed(error) || (error as Error).name === 'AbortError') throw error;
    throw new StorageError(
      `S3 ${what} ${key} failed: ${(error as Error).name}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The cursor as S3 metadata (US-ASCII): percent-encoded. */
function encodeCursor(cursor: string): string {
  const encoded = encodeURIComponent(cursor);
  if (Buffer.byteLength(encoded) > MAX_CURSOR_BYTES) {
    throw new StorageError(
      `a cursor of ${cursor.length} characters does not fit a part's metadata (at most ${MAX_CURSOR_BYTES} bytes encoded)`,
    );
  }
  return encoded;
}

export interface PartToWrite {
  ref: PartitionRef;
  fetchId: string;
  page: number;
  records: readonly unknown[];
  ingest: IngestInfo;
  /** The cursor Datadog gave for the page after this one ('' for the last page). */
  next: string;
  signal?: AbortSignal;
}

/**
 * Writes one API page as one gzip NDJSON object, only if that page of the fetch does not exist yet
 * (If-None-Match): a part, once written, never changes. Returns undefined when another writer of the
 * same fetch (a retried or timed-out invocation) wrote the page first; the caller adopts that one.
 */
export async function writePart(s3: S3Client, part: PartToWrite): Promise<StoredPart | undefined> {
  const body = await gzip(Buffer.from(toNdjson(part.records, part.ingest)));
  const sha256 = createHash('sha256').update(body).digest('hex');
  const key = partKey(part.ref, part.fetchId, part.page);
  part.signal?.throwIfAborted();
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await send('PutObject', key, () =>
        s3.send(
          new PutObjectCommand({
            Bucket: part.ref.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/x-ndjson',
            IfNoneMatch: '*',
            Metadata: { records: String(part.records.length), sha256, next: encodeCursor(part.next) },
          }),
          { abortSignal: part.signal },
        ),
      );
      const etag = unquote(res.ETag);
      return {
        key,
        page: part.page,
        records: part.records.length,
        bytes: body.length,
        sha256,
        etag,
        next: part.next,
      };
    } catch (error) {
      if (isPreconditionFailed(error)) return undefined;
      const conflict = (error as { cause?: unknown }).cause;
      if (isConditionalConflict(conflict) && attempt < 5) continue;
      throw error;
    }
  }
}

/** Reads back what a part holds, from the metadata written with it. */
export async function describePart(
  s3: S3Client,
  ref: PartitionRef,
  fetchId: string,
  page: number,
  signal?: AbortSignal,
): Promise<StoredPart> {
  const key = partKey(ref, fetchId, page);
  const head = await send('HeadObject', key, () =>
    s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: key }), { abortSignal: signal }),
  );
  const records = Number(head.Metadata?.records);
  const sha256 = head.Metadata?.sha256 ?? '';
  if (!Number.isInteger(records) || records < 0 || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new StorageError(
      `${key} has no valid records/sha256 metadata: it was not written by this pipeline`,
    );
  }
  return {
    key,
    page,
    records,
    bytes: head.ContentLength ?? 0,
    sha256,
    etag: unquote(head.ETag),
    next: decodeURIComponent(head.Metadata?.next ?? ''),
  };
}

/** An object of a window's partition folder, as listed. */
export interface ListedObject {
  key: string;
  etag: string;
  size: number;
  what: PartitionObject;
}

/** Everything in the window's partition folder that belongs to the layout (both generations). */
export async function listPartition(
  s3: S3Client,
  ref: PartitionRef,
  signal?: AbortSignal,
): Promise<ListedObject[]> {
  const prefix = partitionPrefix(ref);
  const out: ListedObject[] = [];
  await send('ListObjectsV2', prefix, async () => {
    const pages = paginateListObjectsV2(
      { client: s3 },
      { Bucket: ref.bucket, Prefix: prefix },
      { abortSignal: signal },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        // Only the folder's own objects: a key with a further "/" is not part of the layout.
        if (!o.Key || o.Key.slice(prefix.length).includes('/')) continue;
        const what = parsePartitionKey(o.Key);
        if (what) out.push({ key: o.Key, etag: unquote(o.ETag), size: o.Size ?? 0, what });
      }
    }
  });
  return out;
}

/** Runs `fn` over `items` with at most `limit` at once, keeping the order of the results. */
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
