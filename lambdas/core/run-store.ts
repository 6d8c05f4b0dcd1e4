import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../shared/errors.ts';
import { mapLimit } from './page-writer.ts';
import type { GroupFailure, GroupResults, GroupSummary, RunOutput } from './summarize.ts';

/**
 * Per-run bookkeeping beside the data: each group's window results, and the run's output, under
 * `<prefix>/_runs/run=<runId>/`. Outside every category's prefix, so no table reads it.
 */
export interface RunStoreRef {
  s3: S3Client;
  bucket: string;
  prefix: string;
}

/** Execution names are already key-safe; anything else is hashed rather than trusted in a key. */
export function safeRunId(runId: string): string {
  return /^[A-Za-z0-9_-]{1,80}$/.test(runId)
    ? runId
    : createHash('sha256').update(runId).digest('hex').slice(0, 32);
}

export function runPrefix(ref: Pick<RunStoreRef, 'prefix'>, runId: string): string {
  return `${ref.prefix ? `${ref.prefix}/` : ''}_runs/run=${safeRunId(runId)}/`;
}

async function put(ref: RunStoreRef, key: string, body: unknown): Promise<void> {
  try {
    await ref.s3.send(
      new PutObjectCommand({
        Bucket: ref.bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw new StorageError(`S3 PutObject ${key} failed: ${(error as Error).name}`, { cause: error });
  }
}

const groupKey = (ref: RunStoreRef, g: Pick<GroupResults, 'runId' | 'account' | 'category' | 'start'>) =>
  `${runPrefix(ref, g.runId)}groups/${g.account}/${g.category}/${g.start.slice(0, 10)}`;
const FAILED = '.failed.json';

export async function writeGroup(
  ref: RunStoreRef,
  group: GroupResults,
  summary: GroupSummary,
): Promise<string> {
  const key = `${groupKey(ref, group)}.json`;
  await put(ref, key, { summary, results: group.results });
  return key;
}

/**
 * A group that failed as a whole, under a key of its own: a failure that came from writing the
 * group's record cannot stop its failure record, and a later success (a redrive) wins over it.
 */
export async function writeGroupFailure(
  ref: RunStoreRef,
  failure: GroupFailure,
  summary: GroupSummary,
): Promise<string> {
  const key = `${groupKey(ref, failure)}${FAILED}`;
  await put(ref, key, { summary, error: failure.error });
  return key;
}

/** Every group summary the run's children wrote. */
export async function readGroupSummaries(ref: RunStoreRef, runId: string): Promise<GroupSummary[]> {
  const prefix = `${runPrefix(ref, runId)}groups/`;
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await ref.s3.send(
        new ListObjectsV2Command({ Bucket: ref.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // A group's success record wins over its failure record.
    const succeeded = new Set(keys.filter((k) => !k.endsWith(FAILED)));
    const current = keys.filter(
      (k) => !k.endsWith(FAILED) || !succeeded.has(`${k.slice(0, -FAILED.length)}.json`),
    );
    return await mapLimit(current, 16, async (key) => {
      const res = await ref.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: key }));
      const body = JSON.parse(
        await (res.Body as { transformToString(): Promise<string> }).transformToString(),
      );
      return body.summary as GroupSummary;
    });
  } catch (error) {
    throw new StorageError(`S3 read of ${prefix} failed: ${(error as Error).name}`, { cause: error });
  }
}

export async function writeRunOutput(ref: RunStoreRef, runId: string, output: RunOutput): Promise<string> {
  const key = `${runPrefix(ref, runId)}output.json`;
  await put(ref, key, output);
  return key;
}
